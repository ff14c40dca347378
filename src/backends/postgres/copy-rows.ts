/**
 * Reading entry rows with `COPY (SELECT …) TO STDOUT (FORMAT binary)`. Decoding the binary copy
 * stream directly costs a fraction of pg's row path (no hex text for the bytea columns, no field
 * arrays or per-value type parsers), which is most of the client's work when verifying.
 *
 * The object is a pg "submittable" (the interface pg-cursor and pg-copy-streams use): pg hands it
 * the protocol messages of its query. The server sends one CopyData message per row; each is
 * decoded as it arrives, because pg reuses the buffer a message points into.
 */
import type { StoredEntry } from '../../entry/types.js';
import { StorageError } from '../../errors.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** idx, id, ts, hash, body, data, salt, sigs */
const FIELDS = 8;

interface CopyMessage {
  chunk: Buffer;
}

/** Buffer#utf8Slice: what toString('utf8', a, b) calls after its argument checks. */
type Utf8Buffer = Buffer & { utf8Slice(start: number, end: number): string };

export class CopyRows {
  readonly rows: StoredEntry[] = [];
  readonly done: Promise<StoredEntry[]>;
  private settle!: (err: Error | null) => void;
  private headerSeen = false;
  private ended = false;
  private failure: Error | null = null;

  constructor(readonly text: string) {
    this.done = new Promise((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve(this.rows));
    });
  }

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyData(msg: CopyMessage): void {
    if (this.failure) return;
    try {
      this.decode(msg.chunk);
    } catch (err) {
      this.failure = err as Error;
    }
  }

  private decode(buf: Buffer): void {
    const b = buf as Utf8Buffer;
    let o = 0;
    if (!this.headerSeen) {
      if (b.length < 19 || !b.subarray(0, 11).equals(SIGNATURE))
        throw new StorageError('unexpected COPY stream from PostgreSQL (not binary format)');
      // Signature, flags, then the header extension and its length.
      o = 19 + b.readUInt32BE(15);
      this.headerSeen = true;
      if (o === b.length) return;
    }
    const n = b.readInt16BE(o);
    o += 2;
    if (n === -1) {
      this.ended = true;
      return;
    }
    if (n !== FIELDS) throw new StorageError(`unexpected COPY row with ${n} fields`);
    // int8: two 32-bit halves (indexes and times stay far below 2^53).
    let len = b.readInt32BE(o);
    const index = b.readInt32BE(o + 4) * 0x1_0000_0000 + b.readUInt32BE(o + 8);
    o += 4 + len;
    len = b.readInt32BE(o);
    const id = b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + len;
    len = b.readInt32BE(o);
    const timestampMs = b.readInt32BE(o + 4) * 0x1_0000_0000 + b.readUInt32BE(o + 8);
    o += 4 + len;
    len = b.readInt32BE(o);
    // Copies: the message buffer is reused once this returns.
    const hash = Buffer.from(b.subarray(o + 4, o + 4 + len));
    o += 4 + len;
    len = b.readInt32BE(o);
    const body = b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + len;
    len = b.readInt32BE(o);
    const data = len < 0 ? null : b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + Math.max(len, 0);
    len = b.readInt32BE(o);
    const salt = len < 0 ? null : Buffer.from(b.subarray(o + 4, o + 4 + len));
    o += 4 + Math.max(len, 0);
    len = b.readInt32BE(o);
    const signatures = len < 0 ? null : b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + Math.max(len, 0);
    if (o !== b.length) throw new StorageError('unexpected COPY row layout');
    this.rows.push({ index, id, timestampMs, hash, body, data, salt, signatures });
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    if (!this.failure && !this.ended) this.failure = new StorageError('the COPY stream ended early');
    this.settle(this.failure);
  }

  /** pg calls this instead of handleReadyForQuery when the query fails. */
  handleError(err: Error): void {
    this.settle(err);
  }

  // Messages a COPY query does not produce; present because pg calls them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {
    this.failure = new StorageError('unexpected COPY FROM');
  }
}
