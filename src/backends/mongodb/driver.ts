import type * as MongoDB from 'mongodb';
import { DriverMissingError } from '../../errors.js';

export type MongoModule = typeof MongoDB;

let cached: MongoModule | undefined;

/** mongodb is an optional peer dependency: load it only when a MongoDB ledger is opened. */
export async function loadMongo(): Promise<MongoModule> {
  if (cached) return cached;
  try {
    const mod = (await import('mongodb')) as unknown as { default?: MongoModule } & MongoModule;
    cached = (mod.MongoClient ? mod : mod.default) as MongoModule;
    return cached;
  } catch (err) {
    throw new DriverMissingError('mongodb', 'MongoDBBackend', { cause: err });
  }
}
