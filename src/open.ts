/**
 * `openLedger(url | config)`: the one config-driven entry point. URL schemes map to backends:
 *   memory:                       in-process
 *   sqlite:./audit.db | sqlite:///abs/path.db | file.db   SQLite (the embedded default)
 *   postgres://… | postgresql://…  PostgreSQL   (registered by the postgres backend module)
 *   mongodb://… | mongodb+srv://…  MongoDB
 *   redis://… | rediss://…          Redis
 * Drivers load only for the scheme used. Query parameters: `ledger=<name>` picks the ledger inside
 * the store; `hashAlgorithm=`.
 */
import { ConfigurationError } from './errors.js';
import { Ledger } from './ledger/ledger.js';
import type { LedgerOptions } from './ledger/options.js';
import { redactUrl } from './redact-url.js';
import type { StorageBackend } from './storage/backend.js';

export type BackendFactory = (url: URL, options: Record<string, unknown>) => Promise<StorageBackend>;

const factories = new Map<string, BackendFactory>();

/** Register a URL scheme (without the colon). Backend modules call this; users may add their own. */
export function registerBackendScheme(scheme: string, factory: BackendFactory): void {
  factories.set(scheme.toLowerCase(), factory);
}

registerBackendScheme('memory', async () => {
  const { InMemoryBackend } = await import('./backends/memory/memory-backend.js');
  return new InMemoryBackend();
});

registerBackendScheme('sqlite', async (url, options) => {
  const { SQLiteBackend } = await import('./backends/sqlite/sqlite-backend.js');
  // sqlite:./a.db (opaque path), sqlite:///abs/a.db, sqlite://relative/a.db
  let path = url.host ? url.host + url.pathname : url.pathname;
  path = decodeURIComponent(path);
  if (!path) throw new ConfigurationError('sqlite: URL needs a file path, e.g. sqlite:./audit.db');
  return new SQLiteBackend({ ...(options as object), path });
});

/** The seed's Django-style settings, in TypeScript. */
export interface LedgerConfig extends Omit<LedgerOptions, 'backend'> {
  /** A URL as above, or a backend object. */
  url?: string;
  backend?: StorageBackend | string;
  /** Backend constructor options (host, port, database, …) when `backend` names a kind. */
  backendOptions?: Record<string, unknown>;
}

const KIND_TO_SCHEME: Record<string, string> = {
  memory: 'memory',
  inmemory: 'memory',
  inmemorybackend: 'memory',
  sqlite: 'sqlite',
  sqlitebackend: 'sqlite',
  postgres: 'postgres',
  postgresql: 'postgres',
  postgresqlbackend: 'postgres',
  mongodb: 'mongodb',
  mongodbbackend: 'mongodb',
  redis: 'redis',
  redisbackend: 'redis',
};

async function ensureScheme(scheme: string): Promise<BackendFactory> {
  let f = factories.get(scheme);
  if (!f) {
    // Server backends register themselves when their module loads.
    const loaders: Record<string, () => Promise<unknown>> = {
      postgres: () => import('./backends/postgres/index.js'),
      postgresql: () => import('./backends/postgres/index.js'),
      redis: () => import('./backends/redis/index.js'),
      rediss: () => import('./backends/redis/index.js'),
      mongodb: () => import('./backends/mongodb/index.js'),
      'mongodb+srv': () => import('./backends/mongodb/index.js'),
    };
    const load = loaders[scheme];
    if (load) {
      await load();
      f = factories.get(scheme);
    }
  }
  if (!f)
    throw new ConfigurationError(
      `unknown ledger URL scheme "${scheme}:" (memory, sqlite, postgres, mongodb, redis)`,
    );
  return f;
}

/** Turn a URL (or a bare file path, taken as SQLite) into a backend. */
export async function backendFromUrl(
  url: string,
  options: Record<string, unknown> = {},
): Promise<StorageBackend> {
  if (typeof url !== 'string' || url.length === 0)
    throw new ConfigurationError('ledger URL must be a non-empty string');
  const parsed = parseLedgerUrl(url);
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  return (await ensureScheme(scheme))(parsed, options);
}

/** A ledger URL as a URL object: `memory`, a plain path (or a Windows drive letter) is SQLite. */
function parseLedgerUrl(url: string): URL {
  if (url === 'memory' || url.startsWith('memory?')) return new URL(`memory:${url.slice(6)}`);
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (!m || m[1]!.length === 1) return new URL('sqlite:' + encodeURI(url));
  try {
    return new URL(url);
  } catch (err) {
    // No cause: URL parse errors carry the whole input, password included.
    throw new ConfigurationError(
      `malformed ledger URL ${JSON.stringify(redactUrl(url))}: ${(err as Error).message}`,
    );
  }
}

export { redactUrl } from './redact-url.js';

/** Open a ledger from a URL (`SIGNLEDGER_URL`) or a config object. */
export async function openLedger(
  urlOrConfig?: string | LedgerConfig,
  options: Omit<LedgerOptions, 'backend'> = {},
): Promise<Ledger> {
  const config: LedgerConfig =
    urlOrConfig === undefined
      ? { url: process.env.SIGNLEDGER_URL ?? 'sqlite:./signledger.db' }
      : typeof urlOrConfig === 'string'
        ? { url: urlOrConfig }
        : { ...urlOrConfig };
  const { url, backend, backendOptions, ...rest } = config;
  let b: StorageBackend;
  // A name given in code (the options, then the config) wins over none; a URL naming another
  // ledger is refused below rather than silently overruling it.
  let name = options.name ?? rest.name;
  let urlHash: LedgerOptions['hashAlgorithm'];
  if (backend && typeof backend === 'object') {
    b = backend;
  } else if (typeof backend === 'string') {
    const scheme =
      KIND_TO_SCHEME[
        backend
          .toLowerCase()
          .replace(/^signledger\.backends\./, '')
          .replace(/[^a-z]/g, '')
      ];
    if (!scheme) throw new ConfigurationError(`unknown backend ${JSON.stringify(backend)}`);
    const f = await ensureScheme(scheme);
    b = await f(new URL(`${scheme}:`), backendOptions ?? {});
  } else if (url) {
    b = await backendFromUrl(url, backendOptions ?? {});
    // Every form, sqlite:./file and plain paths included (the backend was made from the same URL).
    const qp = parseLedgerUrl(url).searchParams.get('ledger');
    if (qp !== null && name !== undefined && qp !== name) {
      await b.close().catch(() => {});
      throw new ConfigurationError(`the URL names ledger "${qp}" but the options name "${name}"`);
    }
    if (qp !== null) name = qp;
    const qa = parseLedgerUrl(url).searchParams.get('hashAlgorithm');
    const given = options.hashAlgorithm ?? rest.hashAlgorithm;
    if (qa !== null && given !== undefined && qa !== given) {
      await b.close().catch(() => {});
      throw new ConfigurationError(`the URL names hash algorithm "${qa}" but the options name "${given}"`);
    }
    if (qa !== null) urlHash = qa as LedgerOptions['hashAlgorithm'];
  } else {
    throw new ConfigurationError('openLedger needs a url or a backend');
  }
  const ledger = new Ledger({
    ...rest,
    ...options,
    name,
    backend: b,
    ...(urlHash !== undefined ? { hashAlgorithm: urlHash } : {}),
  });
  try {
    await ledger.open();
  } catch (err) {
    await b.close().catch(() => {});
    throw err;
  }
  return ledger;
}
