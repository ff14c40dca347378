import { type CommitmentFields, commitmentRope } from './commitment.js';
import type { StoredEntry } from './types.js';

/**
 * A row as the ledger builds it for storage: an ordinary StoredEntry (own data properties only, so
 * copies and spreads see exactly the stored values) that also remembers, privately, the fields its
 * commitment text was built from. A backend that keeps commitments in pieces (the in-memory one)
 * takes them from here instead of parsing the text back (measured: a third of its append cost).
 */
export class BuiltRow implements StoredEntry {
  readonly #fields: Readonly<CommitmentFields>;
  readonly #body: string;
  index: number;
  id: string;
  timestampMs: number;
  hash: Buffer;
  body: string;
  data: string | null;
  salt: Buffer | null;
  signatures: string | null = null;

  constructor(fields: CommitmentFields, timestampMs: number, data: string, salt: Buffer) {
    this.#fields = fields; // private: only fieldsOf() hands it out, typed read-only
    // Left a rope: the ledger hashes it next, which flattens it (see commitmentRope).
    this.#body = commitmentRope(fields);
    this.index = fields.index;
    this.id = fields.id;
    this.timestampMs = timestampMs;
    this.hash = EMPTY;
    this.body = this.#body;
    this.data = data;
    this.salt = salt;
  }

  /**
   * The fields `row.body` was built from, or null: for any other row, or once its body has been
   * replaced. `index` and `id` are those of the fields only while the row's own are unchanged too.
   */
  static fieldsOf(row: object): Readonly<CommitmentFields> | null {
    if (!(#fields in row)) return null;
    const f = row.#fields;
    return row.body === row.#body && row.index === f.index && row.id === f.id ? f : null;
  }
}

const EMPTY = Buffer.alloc(0);
