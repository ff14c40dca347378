/**
 * Split text into "\n"-terminated lines, in constant memory, from a whole string or a stream of
 * chunks: strings, or bytes (a file read without an encoding). Bytes are split at 0x0A, which never
 * occurs inside a multi-byte UTF-8 sequence, and each line is decoded strictly: a line that is not
 * valid UTF-8 is yielded with `error` set, never with U+FFFD in place of its bad bytes (a lossy
 * decoder reads two different byte strings as one entry). A final line without "\n" is still
 * yielded, flagged, so a verifier can insist on the terminator.
 *
 * Memory stays bounded by the line cap: a line longer than `maxLineBytes` is yielded with `error`
 * set as soon as it passes the cap, and the split ends there (the rest of such a source, say a file
 * that is one endless line, is never read).
 */
import { isUtf8 } from 'node:buffer';
import { ValidationError } from '../../errors.js';

export interface Line {
  /** The line without its "\n" ('' when `error` is set). */
  text: string;
  terminated: boolean;
  /** Why the line could not be read as text (not UTF-8, or longer than the cap). */
  error?: string;
}

/**
 * Default cap on one entries.jsonl line, in bytes (UTF-16 code units for text chunks). A line is the
 * JCS text of a stored row: `body` and `data` are strings holding canonical JSON (which has no raw
 * control characters), so escaping them again at most doubles them ('"' and '\\' become two
 * characters), and data plus metadata are limited to maxEntryBytes (1 MiB by default): a default
 * ledger writes lines of at most about 2 MiB plus hashes, salt, id and signature records. 64 MiB
 * leaves room for ledgers with a maxEntryBytes up to about 30 MiB and keeps one line well below
 * V8's longest string (about 512 MiB), where a verifier died with "Invalid string length".
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export type LineSource = string | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

const NL = 0x0a;
const BATCH = 1024;

export async function* splitLines(
  source: LineSource,
  options: { maxLineBytes?: number } = {},
): AsyncGenerator<Line[]> {
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new ValidationError('maxLineBytes must be a positive integer');
  if (typeof source === 'string') {
    yield* batch(capped(linesOf([source]), max));
    return;
  }
  const overCap = tooLongError(max);
  let rest = '';
  let restBytes: Buffer[] = [];
  let restLength = 0;
  let mode: 'text' | 'bytes' | null = null;
  let out: Line[] = [];
  for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
    const kind = typeof chunk === 'string' ? 'text' : 'bytes';
    if (mode !== null && kind !== mode)
      throw new ValidationError('splitLines: a source yields either strings or bytes, not both');
    mode = kind;
    if (typeof chunk === 'string') {
      let start = 0;
      let nl = chunk.indexOf('\n');
      if (nl >= 0 && rest.length > 0) {
        out.push(
          rest.length + nl > max ? tooLong(max) : { text: rest + chunk.slice(0, nl), terminated: true },
        );
        rest = '';
        start = nl + 1;
        nl = chunk.indexOf('\n', start);
      }
      while (nl >= 0) {
        out.push(nl - start > max ? tooLong(max) : { text: chunk.slice(start, nl), terminated: true });
        start = nl + 1;
        nl = chunk.indexOf('\n', start);
      }
      if (rest.length + chunk.length - start > max) {
        out.push(tooLong(max));
        rest = '';
      } else rest += chunk.slice(start);
    } else {
      const bytes = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let start = 0;
      const nl = bytes.indexOf(NL);
      if (nl >= 0 && restBytes.length > 0) {
        out.push(
          restLength + nl > max
            ? tooLong(max)
            : decodeLine(Buffer.concat([...restBytes, bytes.subarray(0, nl)]), true),
        );
        restBytes = [];
        restLength = 0;
        start = nl + 1;
      }
      // Every complete line of the chunk at once: one UTF-8 check and one decode for all of them.
      const last = bytes.lastIndexOf(NL);
      if (last >= start) {
        decodeLines(bytes.subarray(start, last + 1), out, max);
        start = last + 1;
      }
      if (start < bytes.length) {
        restLength += bytes.length - start;
        if (restLength > max) {
          out.push(tooLong(max));
          restBytes = [];
        } else restBytes.push(bytes.subarray(start));
      }
    }
    // A line over the cap ends the split: nothing after it is read.
    const over = out.findIndex((l) => l.error === overCap);
    if (over >= 0) {
      yield out.slice(0, over + 1);
      return;
    }
    if (out.length >= BATCH) {
      yield out;
      out = [];
    }
  }
  if (rest.length > 0) out.push({ text: rest, terminated: false });
  if (restBytes.length > 0) out.push(decodeLine(Buffer.concat(restBytes), false));
  if (out.length > 0) yield out;
}

const tooLongError = (max: number) => `longer than ${max} bytes`;

function tooLong(max: number): Line {
  return { text: '', terminated: false, error: tooLongError(max) };
}

function decodeLine(bytes: Buffer, terminated: boolean): Line {
  return isUtf8(bytes)
    ? { text: bytes.toString('utf8'), terminated }
    : { text: '', terminated, error: 'not UTF-8' };
}

/** `bytes` is whole lines, each ending in "\n". */
function decodeLines(bytes: Buffer, out: Line[], max: number): void {
  if (bytes.length <= max && isUtf8(bytes)) {
    for (const l of linesOf([bytes.toString('utf8')])) out.push(l);
    return;
  }
  // Some line is not UTF-8 or may be too long: one by one, to say which.
  let start = 0;
  for (let nl = bytes.indexOf(NL); nl >= 0; nl = bytes.indexOf(NL, start)) {
    out.push(nl - start > max ? tooLong(max) : decodeLine(bytes.subarray(start, nl), true));
    start = nl + 1;
  }
}

/** The lines up to and including the first one over the cap. */
function* capped(lines: Iterable<Line>, max: number): Generator<Line> {
  for (const l of lines) {
    if (l.text.length > max) {
      yield tooLong(max);
      return;
    }
    yield l;
  }
}

function* linesOf(chunks: string[]): Generator<Line> {
  for (const text of chunks) {
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      yield { text: text.slice(start, nl), terminated: true };
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length) yield { text: text.slice(start), terminated: false };
  }
}

async function* batch(lines: Iterable<Line>): AsyncGenerator<Line[]> {
  let out: Line[] = [];
  for (const l of lines) {
    out.push(l);
    if (out.length >= BATCH) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}
