/**
 * The README's "Signatures" example runs as written: its code block is written out as a module (the
 * `signledger/...` import pointed at the sources, after a prelude giving it the `backend`, `ledger`,
 * `data` and `metadata` the README's earlier sections create) and imported, so it throws if
 * verifyIntegrity fails; then what it produced is checked.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const dbDir = mkdtempSync(join(tmpdir(), 'signledger-readme-'));
// Inside the project, so vitest transforms the TypeScript it imports.
const moduleDir = join(root, 'node_modules', '.cache', 'signledger-readme');
afterAll(() => rmSync(dbDir, { recursive: true, force: true }));

function block(heading: string): string {
  const at = readme.indexOf(`\n## ${heading}\n`);
  expect(at, heading).toBeGreaterThan(0);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m, heading).not.toBeNull();
  return m![1]!;
}

it('README "Signatures" runs as written and its signatures verify', async () => {
  const src = (p: string) => JSON.stringify(pathToFileURL(join(root, 'src', p)).href);
  const code = block('Signatures').replaceAll(
    "'signledger/crypto/signatures'",
    src('crypto/signatures/index.ts'),
  );
  const prelude = [
    `import { Ledger } from ${src('index.ts')};`,
    `import { SQLiteBackend } from ${src('backends/index.ts')};`,
    `process.chdir(${JSON.stringify(dbDir)});`, // the example's relative file names land here
    "const backend = new SQLiteBackend('audit.db');",
    'const ledger = new Ledger({ backend });',
    "const data = { action: 'transfer', amount: 100 };",
    "const metadata = { compliance: 'SOX' };",
  ];
  // Imports first (ES modules hoist them anyway), then the prelude, then the example.
  const lines = code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  const file = join(moduleDir, `signatures-${process.pid}.ts`);
  mkdirSync(moduleDir, { recursive: true });
  writeFileSync(
    file,
    [
      ...prelude.slice(0, 2),
      ...imports,
      ...prelude.slice(2),
      ...body,
      'export { entry, rsa, signed, ledger };',
    ].join('\n'),
  );
  try {
    const cwd = process.cwd();
    const m = await import(pathToFileURL(file).href).finally(() => process.chdir(cwd));
    expect(m.entry.signature).toEqual(expect.any(String));
    expect(m.rsa.verify(m.entry.hash, m.entry.signature)).toBe(true);
    expect(await m.signed.verify()).toMatchObject({ ok: true, signaturesChecked: 1 });
    await m.signed.close();
    await m.ledger.close();
  } finally {
    rmSync(file, { force: true });
  }
});
