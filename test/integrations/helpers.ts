import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { LedgerOptions } from '../../src/ledger/options.js';
import type { AppendBatch, AppendContext, StorageBackend } from '../../src/storage/backend.js';

/** A real backend whose appends fail while `down` is set: the "ledger is down" case. */
export class FlakyBackend implements StorageBackend {
  down = false;
  /** While set, appends hang (the "ledger stalled" case) until `release()`. */
  hold = false;
  appendCalls = 0;
  private held: (() => void)[] = [];
  constructor(readonly inner: StorageBackend) {}
  /** Let every held append go on, and stop holding new ones. */
  release(): void {
    this.hold = false;
    for (const go of this.held.splice(0)) go();
  }
  get kind() {
    return this.inner.kind;
  }
  open: StorageBackend['open'] = (n, c) => this.inner.open(n, c);
  append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    this.appendCalls++;
    if (this.down) return Promise.reject(new StorageError('database unreachable (test)'));
    if (this.hold) {
      return new Promise<void>((go) => this.held.push(go)).then(() => this.inner.append(build));
    }
    return this.inner.append(build);
  }
  readHead: StorageBackend['readHead'] = () => this.inner.readHead();
  readTiles: StorageBackend['readTiles'] = (k) => this.inner.readTiles(k);
  getByIndex: StorageBackend['getByIndex'] = (i) => this.inner.getByIndex(i);
  getById: StorageBackend['getById'] = (i) => this.inner.getById(i);
  getRange: StorageBackend['getRange'] = (q) => this.inner.getRange(q);
  scan: StorageBackend['scan'] = (o) => this.inner.scan(o);
  addCheckpoint: StorageBackend['addCheckpoint'] = (c) => this.inner.addCheckpoint(c);
  latestCheckpoint: StorageBackend['latestCheckpoint'] = () => this.inner.latestCheckpoint();
  getCheckpoint: StorageBackend['getCheckpoint'] = (s) => this.inner.getCheckpoint(s);
  listCheckpoints: StorageBackend['listCheckpoints'] = (o) => this.inner.listCheckpoints(o);
  stats: StorageBackend['stats'] = () => this.inner.stats();
  close: StorageBackend['close'] = () => this.inner.close();
}

export interface TestLedger {
  ledger: Ledger;
  flaky: FlakyBackend;
  path: string;
  /** Every byte of the SQLite files (database and WAL), to prove a secret never reached storage. */
  rawStorage(): string;
  cleanup(): Promise<void>;
}

export async function sqliteLedger(options: Omit<LedgerOptions, 'backend'> = {}): Promise<TestLedger> {
  const dir = mkdtempSync(join(tmpdir(), 'signledger-int-'));
  const path = join(dir, 'audit.db');
  const flaky = new FlakyBackend(new SQLiteBackend({ path, durability: 'normal' }));
  const ledger = await Ledger.open({ ...options, backend: flaky });
  return {
    ledger,
    flaky,
    path,
    rawStorage() {
      let s = '';
      for (const f of [path, `${path}-wal`]) if (existsSync(f)) s += readFileSync(f).toString('latin1');
      return s;
    },
    async cleanup() {
      await ledger.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Secrets a client sends; none of them may appear in any entry or in the database file. */
export const SECRETS = {
  bearer: 'Bearer s3cr3t-b34r3r-t0k3n',
  cookie: 'sid=c00kie-s3ss10n-v4lue',
  apiKey: 'ak_live_4p1k3y-v4lue',
  password: 'hunter2-p4ssw0rd-v4lue',
  token: 'r3fr3sh-t0k3n-v4lue',
  cardNumber: '4111111111111111',
} as const;

export const SECRET_HEADERS = {
  authorization: SECRETS.bearer,
  cookie: SECRETS.cookie,
  'x-api-key': SECRETS.apiKey,
};

export const SECRET_BODY = {
  from: 'ACC001',
  to: 'ACC002',
  amount: 150,
  password: SECRETS.password,
  nested: { refresh_token: SECRETS.token, card: { cardNumber: SECRETS.cardNumber } },
};

export function assertNoSecrets(text: string): string[] {
  return Object.values(SECRETS).filter((s) => text.includes(s));
}

/** Poll until `fn` holds (appends are queued after the response by default). */
export async function until(fn: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
