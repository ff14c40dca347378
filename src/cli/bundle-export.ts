/** Writing an evidence bundle (docs/BUNDLE.md) from a ledger, streaming, in constant memory. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMAT_VERSION } from '../entry/commitment.js';
import type { Ledger } from '../ledger/ledger.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleManifest,
  CHECKPOINT_FILE,
  ENTRIES_FILE,
  formatEntryLine,
  formatManifest,
  MANIFEST_FILE,
  VKEY_FILE,
} from '../verify/bundle/format.js';
import type { SignedCheckpoint } from '../verify/proofs.js';
import { CliError } from './errors.js';

export interface ExportResult {
  dir: string;
  manifest: BundleManifest;
  /** Entries in the store after the checkpoint (not in the bundle). */
  notIncluded: number;
}

/** Create `dir` (or accept an empty one); refuse to mix a bundle into other files. */
async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length > 0)
    throw new CliError(`refusing to export into ${dir}: the directory is not empty`, 'EXISTS');
}

export async function exportBundle(
  ledger: Ledger,
  dir: string,
  cp: SignedCheckpoint,
  verifierKey: string | undefined,
  onProgress?: (done: number, total: number) => void,
): Promise<ExportResult> {
  const meta = await ledger.getMeta();
  const head = await ledger.backend.readHead();
  await prepareDir(dir);
  const ws = createWriteStream(join(dir, ENTRIES_FILE), { flags: 'wx' });
  const failed = new Promise<never>((_, reject) => ws.once('error', reject));
  failed.catch(() => {});
  let written = 0;
  const write = async (text: string) => {
    if (!ws.write(text)) await Promise.race([once(ws, 'drain'), failed]);
  };
  for await (const rows of ledger.backend.scan({ fromIndex: 0, toIndex: cp.size, chunkSize: 4096 })) {
    let text = '';
    for (const row of rows) {
      if (row.index !== written) {
        throw new CliError(
          `the store returned entry ${row.index} where entry ${written} belongs: run \`signledger verify\``,
          'STORE_INCONSISTENT',
        );
      }
      text += `${formatEntryLine(row)}\n`;
      written++;
    }
    await write(text);
    onProgress?.(written, cp.size);
  }
  ws.end();
  await Promise.race([once(ws, 'finish'), failed]);
  if (written !== cp.size) {
    throw new CliError(
      `the store holds ${written} entries but the checkpoint covers ${cp.size}: run \`signledger verify\``,
      'STORE_INCONSISTENT',
    );
  }
  await writeFile(join(dir, CHECKPOINT_FILE), cp.text, { flag: 'wx' });
  if (verifierKey) await writeFile(join(dir, VKEY_FILE), `${verifierKey}\n`, { flag: 'wx' });
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    formatVersion: meta.formatVersion ?? FORMAT_VERSION,
    ledgerId: meta.ledgerId,
    name: meta.name,
    hashAlgorithm: meta.hashAlgorithm,
    origin: cp.origin,
    size: cp.size,
    rootHash: cp.rootHash,
    createdAt: meta.createdAt,
    exportedAt: new Date().toISOString(),
    files: { entries: ENTRIES_FILE, checkpoint: CHECKPOINT_FILE, verifierKey: VKEY_FILE },
  };
  // The manifest is written last: a bundle interrupted mid-export has none and cannot be mistaken for a whole one.
  await writeFile(join(dir, MANIFEST_FILE), formatManifest(manifest), { flag: 'wx' });
  return { dir, manifest, notIncluded: head.size - cp.size };
}
