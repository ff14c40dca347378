import type { DynamicModule, OnApplicationShutdown, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import type { Ledger } from '../../ledger/ledger.js';
import { openLedger } from '../../open.js';
import { Auditor } from '../shared/auditor.js';
import { createAuditController } from './controller.js';
import { SignLedgerAuditInterceptor } from './interceptor.js';
import type { SignLedgerModuleAsyncOptions, SignLedgerModuleOptions } from './options.js';
import { SIGNLEDGER_AUDITOR, SIGNLEDGER_LEDGER, SIGNLEDGER_OPTIONS } from './tokens.js';

/** Flushes the auditor and closes the ledger the module opened, after the HTTP server stopped. */
class SignLedgerLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly ledger: Ledger,
    private readonly auditor: Auditor,
    private readonly owned: boolean,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.auditor.close();
    if (this.owned) await this.ledger.close();
  }
}

const LIFECYCLE = 'SIGNLEDGER_LIFECYCLE';

function openFromOptions(o: SignLedgerModuleOptions): Promise<Ledger> {
  if (o.ledger) return Promise.resolve(o.ledger);
  const { ledger: _l, audit: _a, routes: _r, routesPath: _p, global: _g, ...config } = o;
  return openLedger(config);
}

function coreProviders(): Provider[] {
  return [
    { provide: SIGNLEDGER_LEDGER, useFactory: openFromOptions, inject: [SIGNLEDGER_OPTIONS] },
    {
      provide: SIGNLEDGER_AUDITOR,
      useFactory: async (ledger: Ledger, o: SignLedgerModuleOptions) => {
        try {
          // With `audit: false` nothing is recorded, so a ledger whose appends each pass a signer is fine.
          return o.audit === false
            ? new Auditor(ledger, {}, { appends: false })
            : new Auditor(ledger, o.audit || {});
        } catch (err) {
          // Startup fails: close the ledger this module opened (its autoVerify timer would keep it alive).
          if (!o.ledger) await ledger.close().catch(() => {});
          throw err;
        }
      },
      inject: [SIGNLEDGER_LEDGER, SIGNLEDGER_OPTIONS],
    },
    {
      provide: APP_INTERCEPTOR,
      useFactory: (reflector: Reflector, ledger: Ledger, auditor: Auditor, o: SignLedgerModuleOptions) =>
        new SignLedgerAuditInterceptor(reflector, ledger, auditor, o),
      inject: [Reflector, SIGNLEDGER_LEDGER, SIGNLEDGER_AUDITOR, SIGNLEDGER_OPTIONS],
    },
    {
      provide: LIFECYCLE,
      useFactory: (ledger: Ledger, auditor: Auditor, o: SignLedgerModuleOptions) =>
        new SignLedgerLifecycle(ledger, auditor, !o.ledger),
      inject: [SIGNLEDGER_LEDGER, SIGNLEDGER_AUDITOR, SIGNLEDGER_OPTIONS],
    },
  ];
}

/**
 * `SignLedgerModule.forRoot({ url, enableSignatures, autoVerify })`: provides the Ledger (token
 * `SIGNLEDGER_LEDGER`, `@InjectLedger()`), an Auditor, the `@Audited()` interceptor and, with
 * `routesPath`, the read-only audit controller.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static factories
export class SignLedgerModule {
  static forRoot(options: SignLedgerModuleOptions): DynamicModule {
    if (!options || typeof options !== 'object')
      throw new TypeError('SignLedgerModule.forRoot needs options');
    return {
      module: SignLedgerModule,
      global: options.global ?? true,
      providers: [{ provide: SIGNLEDGER_OPTIONS, useValue: options }, ...coreProviders()],
      controllers: options.routesPath ? [createAuditController(options.routesPath)] : [],
      exports: [SIGNLEDGER_LEDGER, SIGNLEDGER_AUDITOR, SIGNLEDGER_OPTIONS],
    };
  }

  static forRootAsync(options: SignLedgerModuleAsyncOptions): DynamicModule {
    if (!options || typeof options.useFactory !== 'function')
      throw new TypeError('SignLedgerModule.forRootAsync needs useFactory');
    return {
      module: SignLedgerModule,
      global: options.global ?? true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: SIGNLEDGER_OPTIONS,
          useFactory: options.useFactory,
          inject: (options.inject ?? []) as never[],
        },
        ...coreProviders(),
      ],
      controllers: options.routesPath ? [createAuditController(options.routesPath)] : [],
      exports: [SIGNLEDGER_LEDGER, SIGNLEDGER_AUDITOR, SIGNLEDGER_OPTIONS],
    };
  }
}
