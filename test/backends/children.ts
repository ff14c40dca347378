import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Ledger } from '../../src/ledger/ledger.js';
import type { VerificationReport } from '../../src/verify/report.js';

export const CHILD = fileURLToPath(new URL('./child-append.ts', import.meta.url));

export interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  /** Ids of the appends the child saw resolve (with ACK=1): each must be stored, even after a kill. */
  acked: string[];
  /** Resolves once at least `n` appends were acknowledged (or the child exited). */
  whenAcked(n: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

/** Start `node --import tsx <script>` (default child-append.ts) with extra env. */
export function startChild(env: Record<string, string>, script = CHILD): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  const acked: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let partial = '';
  proc.stdout!.on('data', (b: Buffer) => {
    const text = partial + b.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('ack ')) acked.push(line.slice(4));
      else {
        out += `${line}\n`;
        if (line === 'ready') onReady();
      }
    }
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (acked.length >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
    }
  });
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    out: string;
    err: string;
  }>((resolve) => {
    proc.on('exit', (code, signal) => {
      onReady();
      for (const w of waiters.splice(0)) w.resolve();
      resolve({ code, signal, out, err });
    });
  });
  const whenAcked = (n: number) =>
    acked.length >= n || proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ n, resolve }));
  return { proc, ready, exited, acked, whenAcked };
}

/**
 * Run `rounds` appending children one after another, SIGKILLing each once it has acknowledged
 * `acks` appends. Returns, per child, the ids it saw resolve (all must be stored).
 */
export async function killedWriters(
  rounds: number,
  env: (round: number) => Record<string, string>,
  acks: number,
  script = CHILD,
): Promise<string[][]> {
  const acked: string[][] = [];
  for (let round = 0; round < rounds; round++) {
    const child = startChild(env(round), script);
    await child.whenAcked(acks);
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    acked.push(child.acked);
  }
  return acked;
}

/**
 * After killed writers: the log verifies, every acknowledged append is stored, and the next append
 * continues the chain. Returns the report of the first verification.
 */
export async function expectSurvivedKills(
  ledger: Ledger,
  acked: readonly string[],
): Promise<VerificationReport> {
  const before = await ledger.verify();
  expect(before.ok).toBe(true);
  const stored = new Set<string>();
  for await (const e of ledger.entries()) stored.add(e.id);
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  expect((await ledger.append({ after: 'crash' })).index).toBe(before.size);
  return before;
}
