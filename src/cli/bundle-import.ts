/**
 * Importing a verified bundle into a fresh ledger through the StorageBackend contract directly:
 * the entries keep their ledger identity (the ledgerId is committed in every entry), so the new
 * store reproduces the bundle's tree and root exactly. Tiles and heads are built as the ledger's
 * own append path builds them (merkle/frontier + merkle/tiles).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FORMAT_VERSION, leafText } from '../entry/commitment.js';
import type { StoredEntry } from '../entry/types.js';
import { IntegrityError } from '../errors.js';
import { decodeFrontier, encodeFrontier, frontierAppend, frontierRoot } from '../merkle/frontier.js';
import { leafHash } from '../merkle/hash.js';
import { appendLeavesToTiles } from '../merkle/tiles.js';
import { openCheckpoint } from '../note/checkpoint.js';
import { parseVerifierKey } from '../note/keys.js';
import { backendFromUrl } from '../open.js';
import type { LedgerMeta } from '../storage/backend.js';
import { MANIFEST_FILE, parseEntryLine, parseManifest } from '../verify/bundle/format.js';
import { splitLines } from '../verify/bundle/lines.js';
import { readBundleFile, streamBundleFile } from '../verify/bundle/read.js';
import { type BundleReport, verifyBundle } from '../verify/bundle.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { GuardedBackend } from './guarded-backend.js';

export interface ImportResult {
  report: BundleReport;
  meta: LedgerMeta;
  size: number;
  rootHash: string;
}

const CHUNK = 4096;

export async function importBundle(
  ctx: Context,
  dir: string,
  verifierKey: string,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportResult> {
  // 1. Verify everything first: nothing is written for a bundle that does not verify.
  const report = await verifyBundle(dir, { verifierKey });
  if (!report.ok) throw new IntegrityError(report.failure!);
  const manifest = parseManifest(await readBundleFile(dir, MANIFEST_FILE, 'manifest'));
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw new CliError(
      `the bundle uses entry format ${manifest.formatVersion}; this signledger writes format ${FORMAT_VERSION}`,
      'INCOMPATIBLE',
    );
  }
  const checkpointText = await readBundleFile(dir, manifest.files.checkpoint, 'checkpoint');
  const cp = openCheckpoint(checkpointText, {
    origin: report.origin,
    verifiers: [parseVerifierKey(verifierKey)],
  });
  const name = ctx.ledgerName === 'default' ? manifest.name : ctx.ledgerName;

  // 2. A fresh ledger with the bundle's identity.
  if (ctx.sqlitePath !== null) await mkdir(dirname(ctx.sqlitePath), { recursive: true });
  const backendOptions = ctx.sqlitePath !== null ? { busyTimeoutMs: ctx.lockTimeoutMs } : {};
  const backend = new GuardedBackend(await backendFromUrl(ctx.url, backendOptions), {
    readOnly: false,
    allowCreate: true,
    label: ctx.label,
  });
  try {
    const bundleMeta: LedgerMeta = {
      formatVersion: manifest.formatVersion,
      ledgerId: manifest.ledgerId,
      name,
      hashAlgorithm: manifest.hashAlgorithm,
      createdAt: manifest.createdAt,
    };
    const meta = await backend.open(name, () => bundleMeta);
    if (!backend.created) {
      const head = await backend.readHead();
      if (meta.ledgerId !== manifest.ledgerId || head.size > 0) {
        throw new CliError(
          `${ctx.label} already holds a ledger named "${name}": import needs a fresh ledger (pass another --db or --ledger)`,
          'EXISTS',
        );
      }
    }

    // 3. The entries, in chunks, each chunk one transaction building on the head it read.
    let next = 0;
    let pending: StoredEntry[] = [];
    const commit = async () => {
      const rows = pending;
      pending = [];
      await backend.append((c) => {
        if (c.head.size !== rows[0]!.index)
          throw new CliError(`another writer appended to ${ctx.label} during the import`, 'CONFLICT');
        const leaves = rows.map((r) =>
          leafHash(Buffer.from(leafText(r.hash.toString('hex'), r.signatures), 'utf8')),
        );
        const frontier = frontierAppend(
          decodeFrontier(c.head.frontier, c.head.size),
          c.head.size,
          leaves,
        ).frontier;
        return {
          entries: rows,
          tiles: appendLeavesToTiles(c.head.size, c.edgeTiles, leaves),
          erase: [],
          head: {
            size: c.head.size + rows.length,
            lastHash: rows[rows.length - 1]!.hash.toString('hex'),
            frontier: encodeFrontier(frontier),
            rootHash: frontierRoot(frontier),
          },
        };
      });
      onProgress?.(next, cp.size);
    };
    for await (const lines of splitLines(streamBundleFile(dir, manifest.files.entries))) {
      for (const line of lines) {
        const row = parseEntryLine(line.text);
        // The file was verified a moment ago; a change since then is tampering during the import.
        if (typeof row === 'string' || row.index !== next)
          throw new CliError(`the bundle changed during the import (entry ${next})`, 'CONFLICT');
        pending.push(row);
        next++;
        if (pending.length >= CHUNK) await commit();
      }
    }
    if (pending.length) await commit();

    // 4. The same root, and the bundle's checkpoint stored with it.
    const head = await backend.readHead();
    if (head.size !== cp.size || !head.rootHash.equals(cp.rootHash)) {
      throw new IntegrityError({
        kind: 'tree_mismatch',
        message: 'the imported tree does not reproduce the bundle checkpoint',
        expected: cp.rootHash.toString('hex'),
        actual: head.rootHash.toString('hex'),
      });
    }
    await backend.addCheckpoint({
      size: cp.size,
      rootHash: cp.rootHash,
      note: checkpointText,
      createdAtMs: Date.now(),
    });
    return { report, meta, size: head.size, rootHash: head.rootHash.toString('hex') };
  } finally {
    await backend.close();
  }
}
