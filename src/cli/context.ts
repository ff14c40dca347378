/**
 * What every command shares: the global options, where the ledger and its log key live, opening the
 * ledger read-only or writable through the guard, and printing human or JSON output.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { HashAlgorithm } from '../crypto/hash.js';
import { Ledger } from '../ledger/ledger.js';
import { type LogKey, resolveLogKey } from '../ledger/log-key.js';
import { backendFromUrl, openLedger, redactUrl } from '../open.js';
import { CliError } from './errors.js';
import { GuardedBackend } from './guarded-backend.js';
import { resolveVkeyArg } from './keys.js';
import { escapeControls } from './output.js';

export interface GlobalOptions {
  db?: string;
  ledger?: string;
  keyFile?: string;
  json?: boolean;
  lockTimeout?: string;
}

export const DEFAULT_URL = 'sqlite:./signledger.db';
export const KEY_FILE = 'signledger.key';
/** Set to 1 to use a secret key file that group or others can access (with a warning). */
export const INSECURE_KEY_ENV = 'SIGNLEDGER_INSECURE_KEY_FILE';

/**
 * Like ssh: a secret key file that group or others may read or write is refused for signing (exit 2)
 * unless SIGNLEDGER_INSECURE_KEY_FILE=1; when the key is only used to verify, a warning is printed
 * on stderr and the command goes on. Not checked on Windows (no POSIX modes).
 */
export function checkSecretFileMode(path: string, what: string, refuse: boolean): void {
  if (process.platform === 'win32') return;
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return; // reading it reports the problem
  }
  if ((mode & 0o077) === 0) return;
  const octal = mode.toString(8).padStart(4, '0');
  const problem = `${what} ${path} is accessible by group or others (mode ${octal}); run \`chmod 600 ${path}\``;
  if (refuse && process.env[INSECURE_KEY_ENV] !== '1') {
    throw new CliError(
      `insecure key file: ${problem} (or set ${INSECURE_KEY_ENV}=1 to use it anyway)`,
      'INSECURE_KEY',
    );
  }
  process.stderr.write(`signledger: warning: ${problem}\n`);
}

export class Context {
  readonly url: string;
  readonly sqlitePath: string | null;
  readonly ledgerName: string;
  /** The ledger was named (--ledger or ?ledger= in the URL), not the `default` fallback. */
  readonly ledgerGiven: boolean;
  readonly json: boolean;
  readonly lockTimeoutMs: number;
  private readonly keyFileOption: string | undefined;
  /** --key-file was on the command line (not only SIGNLEDGER_KEY_FILE). */
  private readonly keyFileGiven: boolean;
  /** Where the log key in use came from (a file, or `--key`), for messages. */
  logKeySource: string | undefined;

  constructor(g: GlobalOptions) {
    this.url = g.db ?? process.env.SIGNLEDGER_URL ?? DEFAULT_URL;
    this.sqlitePath = sqlitePathOf(this.url);
    this.json = g.json === true;
    this.keyFileOption = g.keyFile ?? process.env.SIGNLEDGER_KEY_FILE ?? undefined;
    this.keyFileGiven = g.keyFile !== undefined;
    const t = g.lockTimeout === undefined ? 5000 : Number(g.lockTimeout);
    if (!Number.isSafeInteger(t) || t < 0)
      throw new CliError('--lock-timeout must be a whole number of milliseconds');
    this.lockTimeoutMs = t;
    let name = g.ledger;
    if (!name && /^[a-z][a-z0-9+.-]*:\/\//i.test(this.url)) {
      try {
        name = new URL(this.url).searchParams.get('ledger') ?? undefined;
      } catch {
        // backendFromUrl reports the malformed URL.
      }
    }
    this.ledgerGiven = name !== undefined;
    this.ledgerName = name ?? 'default';
  }

  /** The store, for messages (passwords hidden). */
  get label(): string {
    return this.sqlitePath ?? redactUrl(this.url);
  }

  /** The secret log key file: --key-file, SIGNLEDGER_KEY_FILE, or signledger.key next to the SQLite file. */
  get keyFile(): string {
    if (this.keyFileOption) return this.keyFileOption;
    return join(this.sqlitePath ? dirname(this.sqlitePath) : '.', KEY_FILE);
  }

  /** The public verifier key file kept beside the key file (`x.key` → `x.vkey`). */
  get vkeyFile(): string {
    const k = this.keyFile;
    const base = basename(k);
    return join(dirname(k), `${base.endsWith('.key') ? base.slice(0, -4) : base}.vkey`);
  }

  /**
   * The log key: the secret key file if present, else the public vkey file (verify only), else none.
   * `need: 'sign'` turns a missing secret into a clear error.
   */
  loadLogKey(need: 'sign' | 'verify' | 'optional'): LogKey | undefined {
    const keyFile = this.keyFile;
    if (existsSync(keyFile)) {
      const text = readFileSync(keyFile, 'utf8').trim();
      if (!text.startsWith('PRIVATE+KEY+')) {
        // A verifier key (signledger.vkey) is enough for commands that only verify.
        let vkey: LogKey | undefined;
        try {
          vkey = resolveLogKey(text);
        } catch {
          vkey = undefined;
        }
        if (vkey && need !== 'sign') {
          this.logKeySource = keyFile;
          return vkey;
        }
        throw new CliError(
          vkey
            ? `wrong key: ${keyFile} holds a verifier key (public); signing needs the secret log key (PRIVATE+KEY+…)`
            : `wrong key: ${keyFile} does not hold a signledger log key (PRIVATE+KEY+… or a verifier key)`,
          'WRONG_KEY',
        );
      }
      let key: LogKey;
      try {
        key = resolveLogKey(text);
      } catch (err) {
        throw new CliError(`wrong key: ${keyFile}: ${(err as Error).message}`, 'WRONG_KEY');
      }
      checkSecretFileMode(keyFile, 'the secret log key', need === 'sign');
      this.logKeySource = keyFile;
      return key;
    }
    if (this.keyFileOption && need !== 'optional')
      throw new CliError(`missing file: key file ${keyFile} does not exist`, 'NOT_FOUND');
    if (need === 'sign') {
      throw new CliError(
        `missing file: this needs the secret log key ${keyFile} (created by \`signledger init\`; or pass --key-file)`,
        'NOT_FOUND',
      );
    }
    const vkeyFile = this.vkeyFile;
    if (existsSync(vkeyFile)) {
      try {
        const key = resolveLogKey(readFileSync(vkeyFile, 'utf8').trim());
        this.logKeySource = vkeyFile;
        return key;
      } catch (err) {
        throw new CliError(`wrong key: ${vkeyFile}: ${(err as Error).message}`, 'WRONG_KEY');
      }
    }
    if (need === 'verify')
      throw new CliError(
        `missing file: no log key (${keyFile} or ${vkeyFile}; or pass --key VKEY)`,
        'NOT_FOUND',
      );
    return undefined;
  }

  /**
   * The log key for a command that only verifies: `--key` (a verifier key, or a file holding one)
   * when given, else as loadLogKey finds it (--key-file, SIGNLEDGER_KEY_FILE, the files beside the
   * database).
   */
  verifyingLogKey(keyArg: string | undefined, need: 'verify' | 'optional'): LogKey | undefined {
    if (keyArg === undefined) return this.loadLogKey(need);
    if (this.keyFileGiven) throw new CliError('give the log key once: --key or --key-file, not both');
    const key = resolveLogKey(resolveVkeyArg(keyArg));
    this.logKeySource = existsSync(keyArg) ? keyArg : '--key';
    return key;
  }

  /**
   * Open the ledger. Read-only opens SQLite with a read-only connection and refuses every write;
   * `create` (init, import) may create the ledger, every other command needs an existing one.
   */
  async open(o: {
    readOnly: boolean;
    create?: boolean;
    logKey?: LogKey;
    hashAlgorithm?: HashAlgorithm;
  }): Promise<{ ledger: Ledger; backend: GuardedBackend }> {
    if (this.sqlitePath !== null && !o.create && !existsSync(this.sqlitePath)) {
      throw new CliError(
        `missing file: no ledger database at ${this.sqlitePath} (run \`signledger init\`, or pass --db)`,
        'NOT_FOUND',
      );
    }
    const backendOptions =
      this.sqlitePath !== null ? { readonly: o.readOnly, busyTimeoutMs: this.lockTimeoutMs } : {};
    const inner = await backendFromUrl(this.url, backendOptions);
    const backend = new GuardedBackend(inner, {
      readOnly: o.readOnly,
      allowCreate: o.create === true,
      label: this.label,
    });
    const ledger = await openLedger({
      backend,
      name: this.ledgerName,
      ...(o.logKey ? { logKey: o.logKey } : {}),
      ...(o.hashAlgorithm ? { hashAlgorithm: o.hashAlgorithm } : {}),
    });
    return { ledger, backend };
  }

  /**
   * Print a result: JSON on stdout with --json, else the human text. Both with control characters
   * escaped: what is printed may come from a bundle, a proof or the store (untrusted).
   */
  print(human: string | (() => string), json: unknown): void {
    if (this.json) process.stdout.write(`${escapeControls(JSON.stringify(json, null, 2))}\n`);
    else {
      const text = escapeControls(typeof human === 'function' ? human() : human);
      if (text.length) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** A note for humans on stderr (never mixed into stdout, which scripts parse). */
  note(text: string): void {
    if (!this.json) process.stderr.write(`${escapeControls(text)}\n`);
  }
}

/** The SQLite file of a URL (sqlite:./a.db, sqlite:///abs.db, a bare path), or null for server URLs. */
export function sqlitePathOf(url: string): string | null {
  if (url === 'memory:' || url === 'memory') return null;
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (!m || m[1]!.length === 1) return url;
  if (m[1]!.toLowerCase() !== 'sqlite') return null;
  // Same reading as the sqlite: scheme in src/open.ts.
  const u = new URL(url);
  return decodeURIComponent(u.host ? u.host + u.pathname : u.pathname);
}

export { Ledger };
