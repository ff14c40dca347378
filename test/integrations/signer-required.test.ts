/** A ledger that requires signatures but has no signer refuses every append: integrations fail at startup. */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, StorageError } from '../../src/errors.js';
import { auditMiddleware } from '../../src/integrations/express/index.js';
import { SignLedgerModule } from '../../src/integrations/nestjs/index.js';
import { Auditor } from '../../src/integrations/shared/auditor.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { sqliteLedger } from './helpers.js';

describe('signatures required, no signer', () => {
  it("NestJS: the issue's forRoot({ url, enableSignatures: true, autoVerify: true }) refuses at startup", async () => {
    const t = await sqliteLedger();
    await t.ledger.close();
    class AppModule {}
    Module({
      imports: [
        SignLedgerModule.forRoot({ url: `sqlite:${t.path}`, enableSignatures: true, autoVerify: true }),
      ],
    })(AppModule);
    try {
      const err = await NestFactory.create(AppModule, { logger: false, abortOnError: false }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toMatch(/enableSignatures.*pass `signer`/);
    } finally {
      await t.cleanup();
    }
  });

  it('NestJS with audit: false still starts (nothing is appended by the module)', async () => {
    const t = await sqliteLedger({ enableSignatures: true });
    class AppModule {}
    Module({ imports: [SignLedgerModule.forRoot({ ledger: t.ledger, audit: false })] })(AppModule);
    try {
      const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
      await app.close();
    } finally {
      await t.cleanup();
    }
  });

  it('Express (any integration building an Auditor) refuses with a ConfigurationError naming `signer`', async () => {
    const t = await sqliteLedger({ enableSignatures: true });
    try {
      expect(t.ledger.appendsNeedSigner).toBe(true);
      expect(() => auditMiddleware(t.ledger)).toThrow(ConfigurationError);
      expect(() => new Auditor(t.ledger)).toThrow(/pass `signer`/);
      express(); // (the app would not get the middleware at all)
    } finally {
      await t.cleanup();
    }
  });

  it('a ConfigurationError from append is permanent: rejected once, not retried or queued', async () => {
    let calls = 0;
    const ledger = {
      append: async () => {
        calls++;
        throw new ConfigurationError('signer k1 holds only a public key and cannot sign');
      },
    } as unknown as Ledger;
    const seen: string[] = [];
    const auditor = new Auditor(ledger, { retryIntervalMs: 5, onError: (_e, i) => seen.push(i.reason) });
    await auditor.commit({ event: 'x' }, true);
    await auditor.commit({ event: 'y' });
    const r = await auditor.flush({ timeoutMs: 200 });
    expect(r.remaining).toBe(0);
    expect(calls).toBe(2);
    expect(auditor.stats()).toMatchObject({ rejected: 2, queued: 0, pending: 0, dropped: 0 });
    expect(seen).toEqual(['rejected', 'rejected']);
    // A storage failure is still retried.
    const flaky = {
      append: async () => {
        throw new StorageError('down');
      },
    } as unknown as Ledger;
    const a2 = new Auditor(flaky, { retryIntervalMs: 1_000, onError: () => {} });
    await a2.commit({ event: 'z' });
    expect(a2.stats().queued).toBe(1);
    await a2.close({ timeoutMs: 10 });
  });
});
