/**
 * Importing a verified bundle into a fresh ledger through the StorageBackend contract directly:
 * the entries keep their ledger identity (the ledgerId is committed in every entry), so the new
 * store reproduces the bundle's tree and root exactly. Tiles and heads are built as the ledger's
 * own append path builds them (merkle/frontier + merkle/tiles).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { leafText } from '../entry/commitment.js';
import type { StoredEntry } from '../entry/types.js';
import { IntegrityError } from '../errors.js';
import { decodeFrontier, encodeFrontier, frontierAppend, frontierRoot } from '../merkle/frontier.js';
import { leafHash } from '../merkle/hash.js';
import { appendLeavesToTiles } from '../merkle/tiles.js';
import { openCheckpoint } from '../note/checkpoint.js';
import { parseVerifierKey } from '../note/keys.js';
import { backendFromUrl } from '../open.js';
import type { Head, LedgerMeta } from '../storage/backend.js';
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
  /** Entries that were already in the store (an interrupted import resumed), 0 for a fresh one. */
  resumedAt: number;
  rootHash: string;
}

/** The store's rows [0, n) one at a time. */
async function* storedRows(backend: GuardedBackend, n: number): AsyncGenerator<StoredEntry> {
  for await (const chunk of backend.scan({ fromIndex: 0, toIndex: n, chunkSize: CHUNK })) yield* chunk;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function sameRow(a: StoredEntry, b: StoredEntry): boolean {
  return (
    a.index === b.index &&
    a.id === b.id &&
    a.timestampMs === b.timestampMs &&
    a.hash.equals(b.hash) &&
    a.body === b.body &&
    a.data === b.data &&
    sameBytes(a.salt, b.salt) &&
    a.signatures === b.signatures
  );
}

function leafOf(r: StoredEntry): Buffer {
  return leafHash(Buffer.from(leafText(r.hash.toString('hex'), r.signatures), 'utf8'));
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
  const checkpointText = await readBundleFile(dir, manifest.files.checkpoint, 'checkpoint');
  const cp = openCheckpoint(checkpointText, {
    origin: report.origin,
    verifiers: [parseVerifierKey(verifierKey)],
  });
  // An explicit --ledger (even `default`) names the copy; else it keeps the bundle's name.
  const name = ctx.ledgerGiven ? ctx.ledgerName : manifest.name;

  // 2. A fresh ledger with the bundle's identity.
  if (ctx.sqlitePath !== null) await mkdir(dirname(ctx.sqlitePath), { recursive: true });
  const backendOptions = ctx.sqlitePath !== null ? { busyTimeoutMs: ctx.lockTimeoutMs } : {};
  const backend = new GuardedBackend(await backendFromUrl(ctx.url, backendOptions), {
    readOnly: false,
    allowCreate: true,
    label: ctx.label,
  });
  let stored: AsyncGenerator<StoredEntry> | null = null;
  try {
    const bundleMeta: LedgerMeta = {
      formatVersion: manifest.formatVersion,
      ledgerId: manifest.ledgerId,
      name,
      hashAlgorithm: manifest.hashAlgorithm,
      createdAt: manifest.createdAt,
    };
    const meta = await backend.open(name, () => bundleMeta);
    // A ledger this bundle was already (partly) imported into is resumed, never mixed with another.
    let present = 0;
    let presentHead: Head | null = null;
    if (!backend.created) {
      const head = await backend.readHead();
      if (head.size > 0 && (meta.ledgerId !== manifest.ledgerId || head.size > cp.size)) {
        throw new CliError(
          `${ctx.label} already holds a ledger named "${name}": import needs a fresh ledger (pass another --db or --ledger)`,
          'EXISTS',
        );
      }
      if (meta.ledgerId !== manifest.ledgerId || meta.hashAlgorithm !== manifest.hashAlgorithm) {
        throw new CliError(
          `${ctx.label} already holds a ledger named "${name}" with another identity: import needs a fresh ledger`,
          'EXISTS',
        );
      }
      present = head.size;
      presentHead = head;
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
        const leaves = rows.map(leafOf);
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
    // Entries already present must be exactly the bundle's first ones, row for row, with the same
    // last hash and tree root at that size: all checked before anything is written.
    let prefix = decodeFrontier(new Uint8Array(0), 0);
    if (present > 0) stored = storedRows(backend, present);
    const checkPrefix = (lastHash: string) => {
      const root = frontierRoot(prefix);
      if (presentHead === null || lastHash !== presentHead.lastHash || !root.equals(presentHead.rootHash)) {
        throw new CliError(
          `${ctx.label} holds ${present} entries that are not this bundle's first ${present}: import needs a fresh ledger`,
          'EXISTS',
        );
      }
      onProgress?.(present, cp.size);
    };
    for await (const lines of splitLines(streamBundleFile(dir, manifest.files.entries))) {
      for (const line of lines) {
        const row = line.error ?? parseEntryLine(line.text);
        // The file was verified a moment ago; a change since then is tampering during the import.
        if (typeof row === 'string' || row.index !== next)
          throw new CliError(`the bundle changed during the import (entry ${next})`, 'CONFLICT');
        next++;
        if (row.index < present) {
          const mine = await stored!.next();
          if (mine.done || !sameRow(mine.value, row)) {
            throw new CliError(
              `${ctx.label} holds an entry ${row.index} that differs from the bundle's: import needs a fresh ledger`,
              'EXISTS',
            );
          }
          prefix = frontierAppend(prefix, row.index, [leafOf(row)]).frontier;
          if (next === present) {
            await stored!.return(undefined); // release the read before writing
            checkPrefix(row.hash.toString('hex'));
          }
          continue;
        }
        pending.push(row);
        if (pending.length >= CHUNK) await commit();
      }
    }
    if (pending.length) await commit();

    if (next < present)
      throw new CliError(`the bundle changed during the import (entry ${next})`, 'CONFLICT');

    // 4. The same root, and the bundle's checkpoint stored with it (once: a resumed import may
    // already have it).
    const head = await backend.readHead();
    if (head.size !== cp.size || !head.rootHash.equals(cp.rootHash)) {
      throw new IntegrityError({
        kind: 'tree_mismatch',
        message: 'the imported tree does not reproduce the bundle checkpoint',
        expected: cp.rootHash.toString('hex'),
        actual: head.rootHash.toString('hex'),
      });
    }
    const storedCheckpoint = await backend.getCheckpoint(cp.size);
    // One stored already (a resumed or repeated import) must be this very checkpoint.
    if (storedCheckpoint !== null && !storedCheckpoint.rootHash.equals(cp.rootHash)) {
      throw new IntegrityError({
        kind: 'checkpoint_invalid',
        message: `${ctx.label} holds another checkpoint for size ${cp.size} than the bundle`,
        expected: cp.rootHash.toString('hex'),
        actual: storedCheckpoint.rootHash.toString('hex'),
      });
    }
    if (storedCheckpoint === null)
      await backend.addCheckpoint({
        size: cp.size,
        rootHash: cp.rootHash,
        note: checkpointText,
        createdAtMs: Date.now(),
      });
    return { report, meta, size: head.size, resumedAt: present, rootHash: head.rootHash.toString('hex') };
  } finally {
    await stored?.return(undefined);
    await backend.close();
  }
}
