/**
 * Reading entry rows with `COPY (SELECT …) TO STDOUT (FORMAT binary)`. Decoding the binary copy
 * stream directly costs a fraction of pg's row path (no hex text for the bytea columns, no field
 * arrays or per-value type parsers), which is most of the client's work when verifying.
 *
 * The object is a pg "submittable" (the interface pg-cursor and pg-copy-streams use): pg hands it
 * the protocol messages of its query. The server sends one CopyData message per row; each is
 * decoded as it arrives, because pg reuses the buffer a message points into.
 */
import { HexStoredEntry } from '../../entry/stored-row.js';
import type { StoredEntry } from '../../entry/types.js';
import { StorageError } from '../../errors.js';
import type { Tile } from '../../merkle/tiles.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** idx, id, ts, hash, body, data, salt, sigs */
const FIELDS = 8;

interface CopyMessage {
  chunk: Buffer;
}

/** Buffer#utf8Slice / hexSlice: what toString('utf8' | 'hex', a, b) call after their argument checks. */
type Utf8Buffer = Buffer & {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
};

/**
 * A binary `COPY … TO STDOUT` read, one decoded row per CopyData message. Subclasses decode a row
 * (`row`, given the message and the offset after its field count); this class checks the stream's
 * header, field count, trailer and end.
 */
abstract class CopyReader<T> {
  readonly rows: T[] = [];
  readonly done: Promise<T[]>;
  private settle!: (err: Error | null) => void;
  private headerSeen = false;
  private ended = false;
  private failure: Error | null = null;

  constructor(
    readonly text: string,
    private readonly fields: number,
  ) {
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

  /** Decode the row's fields from `o`; returns the row and the offset after its last field. */
  protected abstract row(b: Utf8Buffer, o: number): [T, number];

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
    if (n !== this.fields) throw new StorageError(`unexpected COPY row with ${n} fields`);
    const [r, end] = this.row(b, o);
    if (end !== b.length) throw new StorageError('unexpected COPY row layout');
    this.rows.push(r);
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

/** Entry rows: idx, id, ts, hash, body, data, salt, sigs. */
export class CopyRows extends CopyReader<StoredEntry> {
  constructor(text: string) {
    super(text, FIELDS);
  }

  protected row(b: Utf8Buffer, o: number): [StoredEntry, number] {
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
    // Hash and salt as hex text (like SQLite's rows): one string each instead of a view and a copy,
    // and hex is what verification compares; Buffers are made only if a reader asks.
    const hashHex = len < 0 ? '' : b.hexSlice(o + 4, o + 4 + len);
    o += 4 + Math.max(len, 0);
    len = b.readInt32BE(o);
    const body = b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + len;
    len = b.readInt32BE(o);
    const data = len < 0 ? null : b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + Math.max(len, 0);
    len = b.readInt32BE(o);
    const saltHex = len < 0 ? null : b.hexSlice(o + 4, o + 4 + len);
    o += 4 + Math.max(len, 0);
    len = b.readInt32BE(o);
    const signatures = len < 0 ? null : b.utf8Slice(o + 4, o + 4 + len);
    o += 4 + Math.max(len, 0);
    return [new HexStoredEntry(index, id, timestampMs, hashHex, body, data, saltHex, signatures), o];
  }
}

/** Tile rows: level (int4), idx (int8), width (int4), hashes (bytea). */
export class CopyTiles extends CopyReader<Tile> {
  constructor(text: string) {
    super(text, 4);
  }

  protected row(b: Utf8Buffer, o: number): [Tile, number] {
    if (b.readInt32BE(o) !== 4 || b.readInt32BE(o + 8) !== 8 || b.readInt32BE(o + 20) !== 4)
      throw new StorageError('unexpected COPY tile row layout');
    const level = b.readInt32BE(o + 4);
    const index = b.readInt32BE(o + 12) * 0x1_0000_0000 + b.readUInt32BE(o + 16);
    const width = b.readInt32BE(o + 24);
    const len = b.readInt32BE(o + 28);
    if (len < 0) throw new StorageError('a stored tile has no hashes');
    // A copy: the message buffer is reused once this returns.
    const hashes = Buffer.from(b.subarray(o + 32, o + 32 + len));
    return [{ level, index, width, hashes }, o + 32 + len];
  }
}
