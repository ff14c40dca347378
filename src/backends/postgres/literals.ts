/**
 * SQL literals for the group-commit statement. The write and its COMMIT go to the server as one
 * simple-protocol message (one round trip while the head lock is held), and the simple protocol has
 * no bound parameters, so values are inlined here — escaped the way libpq's PQescapeLiteral does,
 * as E'' strings, which parse the same whatever `standard_conforming_strings` is.
 */
import { StorageError } from '../../errors.js';

const NEEDS_ESCAPE = /[\\']/;
const ESCAPABLE = /[\\']/g;

/** A text value (or NULL). NUL cannot be stored in PostgreSQL text, nor sent in a query string. */
export function textLit(s: string | null): string {
  if (s === null) return 'NULL';
  if (typeof s !== 'string') throw new StorageError('expected a text value');
  if (s.includes('\0')) throw new StorageError('PostgreSQL text cannot hold a NUL character');
  return NEEDS_ESCAPE.test(s) ? `E'${s.replace(ESCAPABLE, (c) => (c === "'" ? "''" : '\\\\'))}'` : `'${s}'`;
}

/** A bytea value (or NULL) in hex input format: only `\\x` and [0-9a-f] between the quotes. */
export function byteaLit(b: Buffer | null): string {
  if (b === null) return 'NULL::bytea';
  if (!Buffer.isBuffer(b)) throw new StorageError('expected a Buffer');
  return `E'\\\\x${b.toString('hex')}'::bytea`;
}

/** An integer: digits only, never text the caller controls. */
export function intLit(n: number): string {
  if (!Number.isSafeInteger(n)) throw new StorageError(`expected an integer, got ${String(n)}`);
  return String(n);
}
