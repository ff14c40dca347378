// Development only (tests, tsx): the verification worker as one esbuild bundle of its TypeScript
// sources. A worker started through the tsx loader spends ~0.4-1 s starting the loader and
// compiling before its first row; the bundle starts in ~0.1 s, like the built dist/verify-worker.mjs.
// It is written to node_modules/.cache/signledger/ (content-addressed), from where its package
// imports resolve as they do from the project. Resolves to null when esbuild is unavailable.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let pending;

/** URL of the bundled worker (built once per process), or null. */
export function bundledWorkerUrl() {
  pending ??= build().catch(() => null);
  return pending;
}

async function build() {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./verify-worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const text = out.outputFiles[0].text;
  let dir = dirname(createRequire(import.meta.url).resolve('esbuild'));
  while (basename(dir) !== 'node_modules') {
    if (dirname(dir) === dir) return null;
    dir = dirname(dir);
  }
  const cache = join(dir, '.cache', 'signledger');
  const file = join(
    cache,
    `verify-worker-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`,
  );
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    // Each source change makes a new bundle: drop the ones nobody has written for a day.
    for (const name of readdirSync(cache).filter((n) => n.startsWith('verify-worker-'))) {
      const old = join(cache, name);
      try {
        if (old !== file && Date.now() - statSync(old).mtimeMs > 86_400_000) rmSync(old, { force: true });
      } catch {
        // Another process removed it first.
      }
    }
  }
  return pathToFileURL(file);
}
