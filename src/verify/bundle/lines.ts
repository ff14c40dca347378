/**
 * Split text into "\n"-terminated lines, in constant memory, from a whole string or a stream of
 * chunks: strings, or bytes (a file read without an encoding). Bytes are split at 0x0A, which never
 * occurs inside a multi-byte UTF-8 sequence, and each line is decoded strictly: a line that is not
 * valid UTF-8 is yielded with `error` set, never with U+FFFD in place of its bad bytes (a lossy
 * decoder reads two different byte strings as one entry). A final line without "\n" is still
 * yielded, flagged, so a verifier can insist on the terminator.
 */
import { isUtf8 } from 'node:buffer';
import { ValidationError } from '../../errors.js';

export interface Line {
  /** The line without its "\n" ('' when `error` is set). */
  text: string;
  terminated: boolean;
  /** Why the line could not be read as text (its bytes are not UTF-8). */
  error?: string;
}

export type LineSource = string | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

const NL = 0x0a;
const BATCH = 1024;

export async function* splitLines(source: LineSource): AsyncGenerator<Line[]> {
  if (typeof source === 'string') {
    yield* batch(linesOf([source]));
    return;
  }
  let rest = '';
  let restBytes: Buffer[] = [];
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
        out.push({ text: rest + chunk.slice(0, nl), terminated: true });
        rest = '';
        start = nl + 1;
        nl = chunk.indexOf('\n', start);
      }
      while (nl >= 0) {
        out.push({ text: chunk.slice(start, nl), terminated: true });
        start = nl + 1;
        nl = chunk.indexOf('\n', start);
      }
      rest += chunk.slice(start);
    } else {
      const bytes = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let start = 0;
      const nl = bytes.indexOf(NL);
      if (nl >= 0 && restBytes.length > 0) {
        restBytes.push(bytes.subarray(0, nl));
        out.push(decodeLine(Buffer.concat(restBytes), true));
        restBytes = [];
        start = nl + 1;
      }
      // Every complete line of the chunk at once: one UTF-8 check and one decode for all of them.
      const last = bytes.lastIndexOf(NL);
      if (last >= start) {
        decodeLines(bytes.subarray(start, last + 1), out);
        start = last + 1;
      }
      if (start < bytes.length) restBytes.push(bytes.subarray(start));
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

function decodeLine(bytes: Buffer, terminated: boolean): Line {
  return isUtf8(bytes)
    ? { text: bytes.toString('utf8'), terminated }
    : { text: '', terminated, error: 'not UTF-8' };
}

/** `bytes` is whole lines, each ending in "\n". */
function decodeLines(bytes: Buffer, out: Line[]): void {
  if (isUtf8(bytes)) {
    for (const l of linesOf([bytes.toString('utf8')])) out.push(l);
    return;
  }
  // Some line is not UTF-8: decode them one by one to say which.
  let start = 0;
  for (let nl = bytes.indexOf(NL); nl >= 0; nl = bytes.indexOf(NL, start)) {
    out.push(decodeLine(bytes.subarray(start, nl), true));
    start = nl + 1;
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
