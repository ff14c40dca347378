/**
 * PostgreSQL schema, versioned. Many ledgers share one set of tables, keyed by a small integer
 * `ledger` column; the user-given schema and table prefix are validated identifiers, and the ledger
 * name is only ever a bound parameter.
 */
import { ValidationError } from '../../errors.js';

export const POSTGRES_SCHEMA_VERSION = 1;

const PREFIX_RE = /^[a-z][a-z0-9_]{0,29}$/;
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertTablePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    throw new ValidationError(
      `invalid table prefix ${JSON.stringify(prefix)}: use 1-30 of [a-z0-9_], starting with a letter`,
      {
        path: '/tablePrefix',
      },
    );
  }
  return prefix;
}

export function assertSchemaName(schema: string): string {
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema)) {
    throw new ValidationError(
      `invalid PostgreSQL schema name ${JSON.stringify(schema)}: use 1-63 of [a-z0-9_]`,
      {
        path: '/schema',
      },
    );
  }
  return schema;
}

export interface PgTables {
  ledgers: string;
  heads: string;
  entries: string;
  tiles: string;
  checkpoints: string;
  meta: string;
  /** The IMMUTABLE function that turns stored JSON text into the jsonb the query indexes use. */
  jsonb: string;
  /** Unqualified prefix, for index and statement names. */
  prefix: string;
}

export function pgTables(prefix: string, schema?: string): PgTables {
  const p = assertTablePrefix(prefix);
  const q = schema === undefined ? '' : `"${assertSchemaName(schema)}".`;
  return {
    ledgers: `${q}${p}ledgers`,
    heads: `${q}${p}heads`,
    entries: `${q}${p}entries`,
    tiles: `${q}${p}tiles`,
    checkpoints: `${q}${p}checkpoints`,
    meta: `${q}${p}schema`,
    jsonb: `${q}${p}jsonb`,
    prefix: p,
  };
}

/**
 * Data and body are stored as `text`, byte-identical to what was hashed. Queries go through
 * `<prefix>jsonb(text)`: jsonb rejects the escapes \u0000 and lone surrogates that canonical JSON may
 * contain, so those are mapped to \ufffd first (the same mapping is applied to query values, so
 * equality is preserved; the ledger re-checks every match in JavaScript). The function is not
 * STRICT (NULL still maps to NULL) so that PostgreSQL inlines it into the index expressions and
 * queries: a STRICT SQL function with a CASE body is called through the SQL-function executor for
 * every indexed row, which made the GIN upkeep of an append ~30% dearer.
 */
export function ddl(t: PgTables, queryIndexes = true): string {
  const p = t.prefix;
  return `
CREATE TABLE IF NOT EXISTS ${t.meta} (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.ledgers} (
  ledger integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name   text NOT NULL UNIQUE,
  meta   text NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t.heads} (
  ledger    integer PRIMARY KEY REFERENCES ${t.ledgers} (ledger),
  size      bigint NOT NULL,
  last_hash text,
  frontier  bytea NOT NULL,
  root      bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t.entries} (
  ledger integer NOT NULL,
  idx    bigint NOT NULL CHECK (idx >= 0),
  id     text NOT NULL,
  ts     bigint NOT NULL,
  hash   bytea NOT NULL,
  body   text NOT NULL,
  data   text,
  salt   bytea,
  sigs   text,
  PRIMARY KEY (ledger, idx)
);
CREATE UNIQUE INDEX IF NOT EXISTS ${p}entries_id ON ${t.entries} (ledger, id);
CREATE INDEX IF NOT EXISTS ${p}entries_ts ON ${t.entries} (ledger, ts);
CREATE OR REPLACE FUNCTION ${t.jsonb}(t text) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $fn$ SELECT CASE WHEN strpos(t, '\\u') = 0 THEN t::jsonb
    ELSE regexp_replace(t, '\\\\u(0000|d[89a-f][0-9a-f][0-9a-f])', '\\\\ufffd', 'g')::jsonb END $fn$;
${queryIndexes ? queryIndexDdl(t) : ''}CREATE TABLE IF NOT EXISTS ${t.tiles} (
  ledger integer NOT NULL,
  level  integer NOT NULL,
  idx    bigint NOT NULL,
  width  integer NOT NULL,
  hashes bytea NOT NULL,
  PRIMARY KEY (ledger, level, idx)
);
-- Tile blobs are hashes: compressing them is wasted work on every append.
ALTER TABLE ${t.tiles} ALTER COLUMN hashes SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS ${t.checkpoints} (
  ledger     integer NOT NULL,
  size       bigint NOT NULL,
  root       bytea NOT NULL,
  note       text NOT NULL,
  created_ms bigint NOT NULL,
  PRIMARY KEY (ledger, size)
);
`;
}

/**
 * The GIN indexes serving `where` pushdown. Optional (`queryIndexes: false`): maintaining them is
 * ~15% of the server's CPU per appended row (empty metadata; measured); queries stay correct without
 * them (the ledger's rows are filtered one by one).
 */
export function queryIndexDdl(t: PgTables): string {
  const p = t.prefix;
  return `CREATE INDEX IF NOT EXISTS ${p}entries_data ON ${t.entries} USING gin (${t.jsonb}(data) jsonb_path_ops);
CREATE INDEX IF NOT EXISTS ${p}entries_meta ON ${t.entries} USING gin ((${t.jsonb}(body) -> 'metadata') jsonb_path_ops)
  WHERE ${HAS_METADATA};
`;
}

/**
 * True when the entry's metadata is not `{}`, without parsing the body: in the canonical body
 * (docs/FORMAT.md: keys sorted, `dataDigest`, `id`, `index`, `ledger` before `metadata`, all with
 * scalar values, and a `"` inside a string always escaped) the first `"metadata":` is the top-level
 * key, so the metadata is empty exactly when the first `"metadata":{},` is at the same place. Entries
 * without metadata (most of them) then skip the metadata index, and its upkeep on append: no `where`
 * on metadata can match `{}`. Metadata queries repeat this condition so that the planner can use
 * the partial index (an older full index serves them as well).
 */
export const HAS_METADATA = `strpos(body, '"metadata":{},') <> strpos(body, '"metadata":')`;

/** The same \u0000 / lone-surrogate mapping as the SQL function, for query values built in JS. */
export function jsonbSafe(text: string): string {
  return text.includes('\\u') ? text.replace(/\\u(0000|d[89a-f][0-9a-f][0-9a-f])/g, '\\ufffd') : text;
}
