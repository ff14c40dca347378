import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Figure } from './measure.js';
import { median } from './measure.js';

/** Memory per 1,000 entries in the in-memory backend, each run in a fresh child process. */
export function benchMemory(n: number, runs: number): Figure {
  const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  const xs: number[] = [];
  let ext = 0;
  for (let r = 0; r < runs; r++) {
    const outText = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, String(n)], {
      encoding: 'utf8',
    });
    const o = JSON.parse(outText.trim().split('\n').pop()!) as { heapMB: number; externalMB: number };
    xs.push(o.heapMB + Math.max(0, o.externalMB));
    ext = o.externalMB;
  }
  return {
    name: `memory per 1,000 entries, in-memory backend (${n.toLocaleString('en-US')} entries)`,
    unit: 'MB',
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    runs,
    note: `heapUsed + external delta after GC; off-heap part ${ext.toFixed(3)} MB`,
  };
}
