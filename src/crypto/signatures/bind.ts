import { SIGNER, type Signer, type SignerBound } from './types.js';

/** Tags a signing function with its signer (non-enumerable, read-only). */
export function bindSigner<F extends (...args: never[]) => unknown>(fn: F, signer: Signer): SignerBound<F> {
  Object.defineProperty(fn, SIGNER, {
    value: signer,
    enumerable: false,
    writable: false,
    configurable: false,
  });
  return fn as SignerBound<F>;
}
