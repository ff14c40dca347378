/**
 * What a backend keeps to store entry texts compressed: the Compressor, the dictionaries stored
 * with the ledger, and which one new rows use. Backends call `encode` on the texts they write
 * (body, data, signatures) and `decode` on what they read; plain (uncompressed) strings pass
 * through, so a ledger can switch compression on or off at any time and stay readable.
 */
import type { Compressor } from './compressor.js';

export interface EntryCodecState {
  id: number;
  bytes: Buffer;
}

/**
 * What `decode` returns for a value that cannot be decompressed: not JSON, so verification
 * reports the entry (malformed commitment or data mismatch) at its index instead of aborting.
 */
export const UNDECODABLE = '\u0000signledger: undecodable compressed value';

export class TextCodec {
  readonly dictionaries = new Map<number, Buffer>();
  private current: [number, Buffer] | undefined;
  /**
   * Reads the dictionaries stored after this codec loaded its own (another process may train the
   * first one); called when a value names a dictionary not loaded yet.
   */
  reload: (() => EntryCodecState[]) | undefined;

  constructor(readonly compressor: Compressor) {}

  init(): Promise<Compressor> {
    return this.compressor.init();
  }

  /** Dictionaries read from the store; the newest is used for new rows. */
  load(dicts: readonly EntryCodecState[]): void {
    for (const d of dicts) {
      this.dictionaries.set(d.id, d.bytes);
      if (!this.current || d.id > this.current[0]) this.current = [d.id, d.bytes];
    }
  }

  /** True when a dictionary should be trained now that the log will hold `sizeAfter` entries. */
  wantsDictionary(sizeAfter: number): boolean {
    return !this.current && this.compressor.usesDictionary && sizeAfter >= this.compressor.trainAfter;
  }

  /** Train a dictionary from sample texts; the caller stores it in the same transaction as the rows using it. */
  train(samples: readonly string[]): EntryCodecState {
    const id = Math.max(0, ...this.dictionaries.keys()) + 1;
    const bytes = this.compressor.trainDictionary(samples);
    this.dictionaries.set(id, bytes);
    this.current = [id, bytes];
    return { id, bytes };
  }

  /** Forget a dictionary whose transaction did not commit. */
  untrain(id: number): void {
    this.dictionaries.delete(id);
    if (this.current?.[0] === id) this.current = undefined;
    this.load([...this.dictionaries].map(([i, bytes]) => ({ id: i, bytes })));
  }

  encode(text: string): Buffer;
  encode(text: string | null): Buffer | null;
  encode(text: string | null): Buffer | null {
    return text === null ? null : this.compressor.encodeText(text, this.current);
  }

  decode(v: string | Uint8Array): string;
  decode(v: string | Uint8Array | null): string | null;
  decode(v: string | Uint8Array | null): string | null {
    if (v === null || typeof v === 'string') return v;
    const dict = v.byteLength >= 2 ? v[1]! : 0;
    if (dict !== 0 && !this.dictionaries.has(dict) && this.reload) this.load(this.reload());
    try {
      return this.compressor.decodeText(v, this.dictionaries);
    } catch {
      return UNDECODABLE;
    }
  }

  /** Uncompressed UTF-8 length of a stored value (stats). */
  rawLength(v: string | Uint8Array | null): number {
    if (v === null) return 0;
    if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
    const t = this.decode(v);
    return Buffer.byteLength(t, 'utf8');
  }
}
