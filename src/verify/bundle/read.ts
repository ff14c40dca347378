/** Reading a bundle directory: small files whole, entries.jsonl streamed. node:fs only. */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../../errors.js';

/**
 * Cap on the files read whole (manifest.json, checkpoint, log.vkey). Real ones are a few hundred
 * bytes: a checkpoint note is a few lines and at most 100 signature lines (signed-note
 * MAX_SIGNATURES). 1 MiB is far above that and keeps a huge file, or one linked to /dev/zero, from
 * being read into memory.
 */
export const MAX_SMALL_FILE_BYTES = 1024 * 1024;

/** A small bundle file that is too large or not UTF-8 (a missing one is a NotFoundError). */
export class BundleFileError extends ValidationError {}

/** Up to `max` bytes of a file, or null when it holds more (read no further: it may be endless). */
async function readAtMost(path: string, max: number): Promise<Buffer | null> {
  const file = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 16, max + 1 - total));
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > max) return null;
    }
  } finally {
    await file.close();
  }
}

/**
 * Read a small bundle file: at most MAX_SMALL_FILE_BYTES, strictly UTF-8 (BundleFileError otherwise,
 * never U+FFFD in place of bad bytes); a missing file is a NotFoundError naming it.
 */
export async function readBundleFile(dir: string, name: string, what: string): Promise<string> {
  const path = join(dir, name);
  let bytes: Buffer | null;
  try {
    bytes = await readAtMost(path, MAX_SMALL_FILE_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new NotFoundError(`malformed bundle: ${what} ${path} is missing`, { cause: err });
    if (code === 'EISDIR')
      throw new ValidationError(`malformed bundle: ${path} is a directory`, { cause: err });
    throw err;
  }
  if (bytes === null)
    throw new BundleFileError(
      `malformed bundle: ${what} ${path} is larger than ${MAX_SMALL_FILE_BYTES} bytes`,
    );
  if (!isUtf8(bytes)) throw new BundleFileError(`malformed bundle: ${what} ${path} is not UTF-8`);
  return bytes.toString('utf8');
}

/** Like readBundleFile but null when the file is absent. */
export async function readOptionalFile(dir: string, name: string, what: string): Promise<string | null> {
  try {
    return await readBundleFile(dir, name, what);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

/**
 * entries.jsonl as a stream of byte chunks (constant memory). Bytes, not text: splitLines decodes
 * each line strictly, where a decoding stream would put U+FFFD in place of bytes that are not UTF-8.
 */
export async function* streamBundleFile(dir: string, name: string): AsyncGenerator<Buffer> {
  const path = join(dir, name);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`malformed bundle: entries file ${path} is missing`, { cause: err });
    }
    throw err;
  } finally {
    stream.destroy();
  }
}
