/**
 * `buf.subarray(0, length)` made once per length and reused: a subarray is a new Buffer object per
 * call (a tenth of the bytes allocated per appended entry, measured). The views are dropped when
 * asked for another buffer (a scratch that was replaced by a larger one).
 */
export class PrefixViews {
  private views: (Buffer | undefined)[] = [];
  private buffer: Buffer | null = null;

  /** Views of up to `limit` bytes are kept; longer ones are made per call. */
  constructor(private readonly limit = 4096) {}

  of(buf: Buffer, length: number): Buffer {
    if (length > this.limit) return buf.subarray(0, length);
    if (this.buffer !== buf) {
      this.views = new Array(this.limit + 1);
      this.buffer = buf;
    }
    let v = this.views[length];
    if (v === undefined) {
      v = buf.subarray(0, length);
      this.views[length] = v;
    }
    return v;
  }
}
