/** User-given identifiers are validated before anything reaches SQL, key names or query operators. */
import { describe, expect, it } from 'vitest';
import { whereFilter } from '../../src/backends/mongodb/documents.js';
import { MongoDBBackend } from '../../src/backends/mongodb/index.js';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { jsonbSafe } from '../../src/backends/postgres/schema.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { ValidationError } from '../../src/errors.js';

const meta = () => ({
  formatVersion: 1,
  ledgerId: 'x',
  name: 'n',
  hashAlgorithm: 'sha256' as const,
  createdAt: '',
});
const BAD = ['', 'a;drop table x', 'A"b', 'x y', "o'neil", '1abc', 'a'.repeat(80)];

describe('identifier validation', () => {
  it.each(BAD)('rejects table prefix / schema / key prefix / collection %j', (bad) => {
    expect(() => new PostgreSQLBackend({ tablePrefix: bad })).toThrow(ValidationError);
    expect(() => new PostgreSQLBackend({ schema: bad || '-' })).toThrow(ValidationError);
    expect(() => new MongoDBBackend({ collection: bad })).toThrow(ValidationError);
    if (bad !== '' && bad !== '1abc')
      expect(() => new RedisBackend({ prefix: bad })).toThrow(ValidationError);
  });

  it.each(['Bad', 'x;y', '', '../x', 'a b'])('rejects ledger name %j before connecting', async (name) => {
    for (const b of [
      new PostgreSQLBackend({ port: 1 }),
      new RedisBackend({ port: 1 }),
      new MongoDBBackend({ port: 1 }),
    ]) {
      await expect(b.open(name, meta)).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it('builds MongoDB filters without user-given operators', () => {
    // (The filter's exact semantics are tested in mongodb-where.test.ts.)
    // A `$` segment is read as a literal field name, never an operator.
    const f = JSON.stringify(whereFilter({ 'data.$where': 'x' }));
    expect(f).toContain('"$literal":"$where"');
    expect(() => whereFilter({ 'data.a b': 1 })).toThrow(ValidationError);
    expect(() => whereFilter({ 'other.a': 1 })).toThrow(ValidationError);
  });

  it('maps the escapes jsonb rejects the same way on both sides of a query', () => {
    expect(jsonbSafe('{"a":"x\\u0000y"}')).toBe('{"a":"x\\ufffdy"}');
    expect(jsonbSafe('{"a":"\\ud800"}')).toBe('{"a":"\\ufffd"}');
    expect(jsonbSafe('{"a":"\\u001f"}')).toBe('{"a":"\\u001f"}');
  });
});
