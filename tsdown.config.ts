import { existsSync } from 'node:fs';
import { defineConfig } from 'tsdown';

// Public entry points: one per subpath export in package.json.
const candidates: Record<string, string> = {
  index: 'src/index.ts',
  'backends/index': 'src/backends/index.ts',
  'backends/memory': 'src/backends/memory/index.ts',
  'backends/sqlite': 'src/backends/sqlite/index.ts',
  'backends/postgres': 'src/backends/postgres/index.ts',
  'backends/redis': 'src/backends/redis/index.ts',
  'backends/mongodb': 'src/backends/mongodb/index.ts',
  'crypto/signatures': 'src/crypto/signatures/index.ts',
  'crypto/merkle': 'src/merkle/index.ts',
  note: 'src/note/index.ts',
  verify: 'src/verify/index.ts',
  compression: 'src/compression/index.ts',
  'core/batch': 'src/ledger/batch.ts',
  express: 'src/integrations/express/index.ts',
  fastify: 'src/integrations/fastify/index.ts',
  nestjs: 'src/integrations/nestjs/index.ts',
  hono: 'src/integrations/hono/index.ts',
  koa: 'src/integrations/koa/index.ts',
  bullmq: 'src/integrations/bullmq/index.ts',
  // Loaded by parallel verification as new URL('./verify-worker.mjs', import.meta.url).
  'verify-worker': 'src/ledger/verify-worker.ts',
};
const entry = Object.fromEntries(Object.entries(candidates).filter(([, f]) => existsSync(f)));

// Optional peers stay external: they load only in the subpath that needs them.
const external = [
  /^node:/,
  'better-sqlite3',
  'pg',
  'ioredis',
  'mongodb',
  'lz4-napi',
  'zstd-napi',
  'express',
  'fastify',
  /^@nestjs\//,
  'reflect-metadata',
  'rxjs',
  'hono',
  /^hono\//,
  /^@hono\//,
  'koa',
  'bullmq',
  'commander',
  'cli-progress',
];

export default defineConfig([
  {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    platform: 'node',
    target: 'node20',
    outDir: 'dist',
    clean: true,
    sourcemap: false,
    shims: true,
    // CJS consumers of the fastify subpath read `.default` for the plugin; named exports stay named.
    outputOptions: { exports: 'named' },
    deps: { neverBundle: external },
  },
  {
    // The CLI uses top-level await: ESM only.
    entry: existsSync('src/cli/main.ts') ? { cli: 'src/cli/main.ts' } : {},
    format: ['esm'],
    dts: false,
    platform: 'node',
    target: 'node20',
    outDir: 'dist',
    clean: false,
    deps: { neverBundle: external },
  },
]);
