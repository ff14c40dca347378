/**
 * The Express and Fastify snippets of docs/INTEGRATIONS.md type-check as written (strict, as
 * `tsc -p .`), with `signledger/...` resolved to the sources: a reader can paste them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const doc = readFileSync(join(root, 'docs/INTEGRATIONS.md'), 'utf8');

/** The first ```ts block after the `## {heading}` line. */
function snippet(heading: string): string {
  const at = doc.indexOf(`\n## ${heading}\n`);
  expect(at, heading).toBeGreaterThan(0);
  const m = /```ts\n([\s\S]*?)```/.exec(doc.slice(at));
  expect(m, heading).not.toBeNull();
  return m![1]!;
}

/** The package's subpaths, as tsdown builds them. */
const SUBPATHS: Record<string, string> = {
  signledger: 'src/index.ts',
  'signledger/express': 'src/integrations/express/index.ts',
  'signledger/fastify': 'src/integrations/fastify/index.ts',
  'signledger/crypto/signatures': 'src/crypto/signatures/index.ts',
};

/**
 * Diagnostics of each snippet, compiled as ES modules next to the sources with the project's options
 * (one program for all: loading the framework typings is most of the time).
 */
function typeErrors(snippets: Record<string, string>): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    paths: Object.fromEntries(Object.entries(SUBPATHS).map(([k, v]) => [k, [join(root, v)]])),
  };
  // .mts: an ES module whatever the package says, so top-level await is allowed as in the docs.
  const files = new Map(
    Object.entries(snippets).map(([n, code]) => [join(root, 'docs', `__snippet_${n}.mts`), code]),
  );
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) => {
    const code = files.get(f);
    return code === undefined
      ? getSourceFile.call(host, f, lang, ...rest)
      : ts.createSourceFile(f, code, lang, true);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const out: Record<string, string[]> = {};
  for (const [name, file] of Object.keys(snippets).map((n, i) => [n, [...files.keys()][i]!] as const)) {
    out[name] = ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      return where ? `${name}:${where.line + 1}: ${text}` : text;
    });
  }
  return out;
}

describe('docs/INTEGRATIONS.md snippets type-check as written', () => {
  let errors: Record<string, string[]> = {};
  beforeAll(() => {
    errors = typeErrors({
      express: snippet('Express'),
      fastify: snippet('Fastify'),
      broken: "import express from 'express';\nconst app = express();\napp.nope();\n",
    });
  });

  it('Express', () => {
    expect(errors.express).toEqual([]);
  });

  it('Fastify', () => {
    expect(errors.fastify).toEqual([]);
  });

  it('reports what is wrong (the check itself works)', () => {
    expect(errors.broken).toHaveLength(1);
    expect(errors.broken![0]).toMatch(/^broken:3: Property 'nope' does not exist/);
  });
});
