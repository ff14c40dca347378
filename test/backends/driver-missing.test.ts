/** A missing optional driver gives a DriverMissingError that names the package to install. */
import { describe, expect, it, vi } from 'vitest';
import { MongoDBBackend } from '../../src/backends/mongodb/index.js';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { DriverMissingError } from '../../src/errors.js';

// vi.mock is hoisted above every other statement: the factories must be self-contained.
vi.mock('pg', () => {
  throw new Error("Cannot find package 'pg'");
});
vi.mock('ioredis', () => {
  throw new Error("Cannot find package 'ioredis'");
});
vi.mock('mongodb', () => {
  throw new Error("Cannot find package 'mongodb'");
});

const meta = () => ({
  formatVersion: 1,
  ledgerId: 'x',
  name: 'default',
  hashAlgorithm: 'sha256' as const,
  createdAt: '',
});

describe('missing drivers', () => {
  it.each([
    ['pg', () => new PostgreSQLBackend({ host: '127.0.0.1' })],
    ['ioredis', () => new RedisBackend({ host: '127.0.0.1' })],
    ['mongodb', () => new MongoDBBackend({ host: '127.0.0.1' })],
  ])('%s', async (pkg, make) => {
    const err = await make()
      .open('default', meta)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(DriverMissingError);
    expect(err).toMatchObject({ code: 'DRIVER_MISSING', packageName: pkg });
    expect((err as Error).message).toContain(`npm install ${pkg}`);
  });
});
