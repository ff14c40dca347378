/**
 * The compact row layout of compressed SQLite ledgers (docs/BACKENDS.md, "SQLite"). What a row adds
 * to its columns is stored, what they already say is not:
 *
 * - `id` is the 16 bytes of a lowercase UUID (any other id is kept as its text);
 * - `body` is NULL, or a BLOB [marker] or [marker][metadata frame], when the commitment text is
 *   exactly what `rebuildCommitment` gives from the row's columns and the previous row's hash:
 *   NULL = type "event" with metadata `{}`; marker 0x80 = "event", 0x81 = "redaction"; a missing
 *   metadata frame means `{}`. Otherwise `body` holds the whole commitment as a compressed frame,
 *   whose first byte is an algorithm code (< 0x80), as in the whole-text layout.
 * - no time index: `…_tblocks` keeps the time bounds of each block of 1,024 rows instead.
 */
import { UNDECODABLE } from '../../compression/text-codec.js';
import type { CommitmentRest } from '../../entry/commitment-columns.js';

export const MARK_EVENT = 0x80;
export const MARK_REDACTION = 0x81;

/** Rows per time block (`…_tblocks`). */
export const TIME_BLOCK_BITS = 10;

/** Expression reading `id` so blobs and texts cannot be confused: hex for blobs, `~` + the text otherwise. */
export const ID_READ = `CASE typeof(id) WHEN 'blob' THEN lower(hex(id)) ELSE '~' || id END`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The stored form of an id: 16 bytes for a lowercase UUID (it reads back as the same text), else the text. */
export function idValue(id: string): Buffer | string {
  if (id.length !== 36 || !UUID.test(id)) return id;
  return Buffer.from(
    id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24),
    'hex',
  );
}

/**
 * The id text from what `ID_READ` returned. A value in a form the writer never uses — a lowercase
 * UUID kept as text, a blob that is not 16 bytes — comes back still marked (`~…`, `#…`): it is not
 * the committed id, so verification reports the row (otherwise one id could be stored twice, once
 * per form, and lookups redirected without changing any hash).
 */
export function idText(v: string): string {
  if (v.charCodeAt(0) === 0x7e) {
    const text = v.slice(1);
    return text.length === 36 && UUID.test(text) ? v : text;
  }
  if (v.length !== 32) return `#${v}`;
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20)}`;
}

/** Whether a stored `body` value is a compact one (rebuilt from the columns). */
export function isCompactBody(b: unknown): b is null | Uint8Array {
  return b === null || (b instanceof Uint8Array && b.length > 0 && b[0]! >= 0x80);
}

/** The stored `body` of a rebuildable commitment; `metaFrame` is the encoded metadata (unless `{}`). */
export function compactBody(rest: CommitmentRest, metaFrame: (text: string) => Buffer): Buffer | null {
  const empty = rest.metadataText === '{}';
  if (empty && rest.type === 'event') return null;
  const mark = Buffer.of(rest.type === 'event' ? MARK_EVENT : MARK_REDACTION);
  return empty ? mark : Buffer.concat([mark, metaFrame(rest.metadataText)]);
}

/** Type and metadata of a compact `body`; `UNDECODABLE` as metadata when the value is not one this layout writes. */
export function readCompactBody(b: null | Uint8Array, decode: (frame: Uint8Array) => string): CommitmentRest {
  if (b === null) return { type: 'event', metadataText: '{}' };
  const mark = b[0];
  if (mark !== MARK_EVENT && mark !== MARK_REDACTION) return { type: 'event', metadataText: UNDECODABLE };
  const type = mark === MARK_EVENT ? 'event' : 'redaction';
  if (b.length === 1) return { type, metadataText: '{}' };
  return { type, metadataText: decode(b.subarray(1)) };
}
