import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_DIR = join(process.cwd(), '.tmp', 'bench');

export function freshPath(name: string): string {
  mkdirSync(BENCH_DIR, { recursive: true });
  const p = join(BENCH_DIR, name);
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(p + s, { force: true });
  return p;
}

/** Bytes of a SQLite database on disk, WAL included. */
export function dbBytes(p: string): number {
  let n = 0;
  for (const s of ['', '-wal']) n += statSync(p + s, { throwIfNoEntry: false })?.size ?? 0;
  return n;
}

export function remove(p: string): void {
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(p + s, { force: true });
}
