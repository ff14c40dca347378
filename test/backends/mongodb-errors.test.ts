/**
 * MongoDB backend error handling and server checks, no server: which errors an append retries,
 * rethrows unchanged or wraps, what `open` requires of `hello`, and behaviour after close. Errors are
 * the driver's own classes; nothing here pretends to be a database.
 */
import { BSON, MongoBulkWriteError, MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { MongoDBBackend } from '../../src/backends/mongodb/index.js';
import {
  CommitOutcomeUnknownError,
  checkServer,
  classifyAppendError,
  DEFAULT_MAX_RETRY_MS,
  isDriverError,
  isUnknownCommitResult,
  MIN_WIRE_VERSION,
} from '../../src/backends/mongodb/mongodb-backend.js';
import {
  ConfigurationError,
  ConflictError,
  IntegrityError,
  StorageError,
  ValidationError,
} from '../../src/errors.js';
import { PartialGroupError } from '../../src/ledger/sequencer.js';

/** The error the BSON serializer really throws for an object with its own `_bsontype`. */
function bsonError(): Error {
  try {
    BSON.serialize({ q: { _bsontype: 'x' } });
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected BSON.serialize to throw');
}

function server(desc: Record<string, unknown>): MongoServerError {
  return new MongoServerError({ message: 'server said no', ...desc });
}

describe('classifyAppendError', () => {
  it('retries lost compare-and-swaps and transient transaction errors', () => {
    expect(classifyAppendError(new ConflictError())).toBe('retry');
    expect(
      classifyAppendError(
        server({ code: 112, codeName: 'WriteConflict', errorLabels: ['TransientTransactionError'] }),
      ),
    ).toBe('retry');
    expect(
      classifyAppendError(
        server({ code: 251, codeName: 'NoSuchTransaction', errorLabels: ['TransientTransactionError'] }),
      ),
    ).toBe('retry');
    const net = new MongoNetworkError('socket closed');
    net.addErrorLabel('TransientTransactionError');
    expect(classifyAppendError(net)).toBe('retry');
  });

  it('treats a duplicate key (after the head CAS) as an inconsistent store, not a conflict', () => {
    expect(classifyAppendError(server({ code: 11000, keyValue: { l: 'x', i: 3 } }))).toBe('inconsistent');
    const bulk = new MongoBulkWriteError(
      { message: 'E11000 duplicate key error', code: 11000, writeErrors: [] },
      {} as never,
    );
    expect(classifyAppendError(bulk)).toBe('inconsistent');
  });

  it('wraps other driver and BSON errors', () => {
    expect(classifyAppendError(server({ code: 13, codeName: 'Unauthorized' }))).toBe('wrap');
    expect(classifyAppendError(new MongoNetworkError('connection reset'))).toBe('wrap');
    expect(classifyAppendError(bsonError())).toBe('wrap');
  });

  it('rethrows everything else unchanged: the build callback’s errors and signledger errors', () => {
    const partial = new PartialGroupError(new Map([[1, new Error('bad item')]]));
    expect(classifyAppendError(partial)).toBe('rethrow');
    expect(
      classifyAppendError(new IntegrityError({ kind: 'tree_mismatch', message: 'tiles disagree' })),
    ).toBe('rethrow');
    expect(classifyAppendError(new ValidationError('too large', { code: 'TOO_LARGE' }))).toBe('rethrow');
    expect(classifyAppendError(new StorageError('corrupt'))).toBe('rethrow');
    expect(classifyAppendError(new CommitOutcomeUnknownError('unknown'))).toBe('rethrow');
    expect(classifyAppendError(new TypeError('x is undefined'))).toBe('rethrow');
    expect(classifyAppendError('a string')).toBe('rethrow');
    // An error that merely carries a code is not a driver error.
    expect(classifyAppendError(Object.assign(new Error('dup'), { code: 11000 }))).toBe('rethrow');
  });

  it('recognises driver errors by class shape, not by instanceof of one driver copy', () => {
    expect(isDriverError(server({ code: 1 }))).toBe(true);
    expect(isDriverError(bsonError())).toBe(true);
    const foreign = new Error('from another driver copy');
    Object.defineProperty(foreign, 'name', { value: 'MongoServerError' });
    expect(isDriverError(foreign)).toBe(true);
    expect(isDriverError(new StorageError('x'))).toBe(false);
    expect(isDriverError(new Error('x'))).toBe(false);
  });

  it('retries a commit only while its outcome is unknown', () => {
    expect(isUnknownCommitResult(server({ code: 64, errorLabels: ['UnknownTransactionCommitResult'] }))).toBe(
      true,
    );
    expect(isUnknownCommitResult(server({ code: 251, errorLabels: ['TransientTransactionError'] }))).toBe(
      false,
    );
    expect(isUnknownCommitResult(new Error('x'))).toBe(false);
    expect(isUnknownCommitResult(null)).toBe(false);
  });

  it('reports an unknown commit outcome with its own error', () => {
    const e = new CommitOutcomeUnknownError('maybe stored');
    expect(e).toBeInstanceOf(StorageError);
    expect(e.code).toBe('STORAGE_COMMIT_UNKNOWN');
    expect(e.commitOutcome).toBe('unknown');
  });
});

describe('checkServer (hello)', () => {
  const rs = { setName: 'rs0', maxWireVersion: 21, maxBsonObjectSize: 16 * 1024 * 1024 };

  it('accepts a replica set or mongos on MongoDB 5.0+', () => {
    expect(checkServer(rs)).toEqual({ maxBsonObjectSize: 16 * 1024 * 1024 });
    expect(checkServer({ msg: 'isdbgrid', maxWireVersion: MIN_WIRE_VERSION })).toEqual({
      maxBsonObjectSize: 16 * 1024 * 1024,
    });
  });

  it('refuses standalone servers and servers older than 5.0', () => {
    for (const hello of [
      { maxWireVersion: 21 },
      { ...rs, maxWireVersion: 12 },
      { ...rs, maxWireVersion: undefined },
    ]) {
      let err: unknown;
      try {
        checkServer(hello);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('STORAGE_INCOMPATIBLE');
    }
    expect(() => checkServer({ ...rs, maxWireVersion: 12 })).toThrow(/5\.0/);
  });
});

describe('options and lifecycle without a server', () => {
  it('defaults maxRetryMs above the 60 s transaction lifetime limit and validates it', () => {
    expect(DEFAULT_MAX_RETRY_MS).toBeGreaterThan(60_000);
    expect(() => new MongoDBBackend({ maxRetryMs: -1 })).toThrow(ConfigurationError);
    expect(() => new MongoDBBackend({ maxRetryMs: Number.NaN })).toThrow(ConfigurationError);
    expect(() => new MongoDBBackend({ maxRetryMs: 0 })).not.toThrow();
  });

  it('refuses use after close with STORAGE_CLOSED, not a TypeError', async () => {
    const b = new MongoDBBackend({ port: 1 });
    await b.close();
    const meta = () => ({
      formatVersion: 1,
      ledgerId: 'x',
      name: 'n',
      hashAlgorithm: 'sha256' as const,
      createdAt: '',
    });
    await expect(b.open('default', meta)).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
    await expect(
      b.append(() => {
        throw new Error('not called');
      }),
    ).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
    await expect(b.readHead()).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
  });
});
