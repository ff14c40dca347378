import { registerBackendScheme } from '../../open.js';
import { PostgreSQLBackend } from './postgres-backend.js';

export {
  PostgreSQLBackend,
  type PostgreSQLBackendOptions,
  type PostgreSQLConnectionOptions,
} from './postgres-backend.js';
export { assertSchemaName, assertTablePrefix, POSTGRES_SCHEMA_VERSION } from './schema.js';

/** postgres://user:pass@host:5432/db?ledger=name&tablePrefix=app_&schema=audit */
async function fromUrl(url: URL, options: Record<string, unknown>): Promise<PostgreSQLBackend> {
  const u = new URL(url.href);
  const tablePrefix = u.searchParams.get('tablePrefix') ?? undefined;
  const schema = u.searchParams.get('schema') ?? undefined;
  // Our own parameters are not libpq parameters: strip them before pg parses the string.
  for (const k of ['ledger', 'tablePrefix', 'schema', 'hashAlgorithm']) u.searchParams.delete(k);
  return new PostgreSQLBackend({
    ...(tablePrefix !== undefined ? { tablePrefix } : {}),
    ...(schema !== undefined ? { schema } : {}),
    ...(options as object),
    // Any URL with an authority part, the socket form `scheme:///db?host=...` included (no host).
    ...(url.host || url.href.includes('//') ? { connectionString: u.href } : {}),
  });
}

registerBackendScheme('postgres', fromUrl);
registerBackendScheme('postgresql', fromUrl);
