import type * as IORedis from 'ioredis';
import { DriverMissingError } from '../../errors.js';

export type RedisCtor = typeof IORedis.Redis;
export type RedisClient = IORedis.Redis;

let cached: RedisCtor | undefined;

/** ioredis is an optional peer dependency: load it only when a Redis ledger is opened. */
export async function loadIORedis(): Promise<RedisCtor> {
  if (cached) return cached;
  try {
    const mod = (await import('ioredis')) as unknown as { default?: RedisCtor; Redis?: RedisCtor };
    const ctor = mod.Redis ?? mod.default;
    if (!ctor) throw new Error('ioredis exports no Redis class');
    cached = ctor;
    return cached;
  } catch (err) {
    throw new DriverMissingError('ioredis', 'RedisBackend', { cause: err });
  }
}
