import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
