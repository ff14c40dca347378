import { registerBackendScheme } from '../../open.js';
import { RedisBackend } from './redis-backend.js';

export { assertKeyPrefix, type RedisKeys, redisKeys } from './keys.js';
export { RedisBackend, type RedisBackendOptions } from './redis-backend.js';

/** redis://[:password@]host:6379/0?ledger=name&prefix=app: (rediss:// for TLS) */
async function fromUrl(url: URL, options: Record<string, unknown>): Promise<RedisBackend> {
  const u = new URL(url.href);
  const prefix = u.searchParams.get('prefix') ?? undefined;
  for (const k of ['ledger', 'prefix', 'hashAlgorithm']) u.searchParams.delete(k);
  return new RedisBackend({
    ...(prefix !== undefined ? { prefix } : {}),
    ...(options as object),
    // Any URL with an authority part, the socket form `scheme:///db?host=...` included (no host).
    ...(url.host || url.href.includes('//') ? { url: u.href } : {}),
  });
}

registerBackendScheme('redis', fromUrl);
registerBackendScheme('rediss', fromUrl);
