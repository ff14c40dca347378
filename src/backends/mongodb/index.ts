import { registerBackendScheme } from '../../open.js';
import { databaseFromUrl } from './documents.js';
import { MongoDBBackend } from './mongodb-backend.js';

export { assertCollectionName } from './documents.js';
export {
  CommitOutcomeUnknownError,
  MongoDBBackend,
  type MongoDBBackendOptions,
} from './mongodb-backend.js';

/** mongodb://host:27017/audit_db?replicaSet=rs0&ledger=name&collection=ledger_entries */
async function fromUrl(url: URL, options: Record<string, unknown>): Promise<MongoDBBackend> {
  const u = new URL(url.href);
  const collection = u.searchParams.get('collection') ?? undefined;
  for (const k of ['ledger', 'collection', 'hashAlgorithm']) u.searchParams.delete(k);
  const db = databaseFromUrl(u.href);
  return new MongoDBBackend({
    ...(collection !== undefined ? { collection } : {}),
    ...(db ? { database: db } : {}),
    ...(options as object),
    ...(url.host ? { url: u.href } : {}),
  });
}

registerBackendScheme('mongodb', fromUrl);
registerBackendScheme('mongodb+srv', fromUrl);
