/** Reading a bundle directory: small files whole, entries.jsonl streamed. node:fs only. */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../../errors.js';

/** Read a small bundle file; a missing file is a NotFoundError naming it. */
export async function readBundleFile(dir: string, name: string, what: string): Promise<string> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new NotFoundError(`malformed bundle: ${what} ${join(dir, name)} is missing`, { cause: err });
    if (code === 'EISDIR')
      throw new ValidationError(`malformed bundle: ${join(dir, name)} is a directory`, { cause: err });
    throw err;
  }
}

/** Like readBundleFile but null when the file is absent. */
export async function readOptionalFile(dir: string, name: string): Promise<string | null> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
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
