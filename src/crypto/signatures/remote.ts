import { toBase64 } from '../../encoding/bytes.js';
import { KeyError, SignatureError, ValidationError } from '../../errors.js';
import { ALGORITHMS } from './algorithms.js';
import { bindSigner } from './bind.js';
import { describeKey, type KeyInput, parseKeyInput } from './keys.js';
import { isTimeout, MAX_TIMER_MS, withTimeout } from './timeout.js';
import {
  isSignatureAlgorithm,
  type SignableMessage,
  type SignatureAlgorithm,
  type SignatureInput,
  type SignatureRecord,
  type Signer,
  type SignerBound,
} from './types.js';
import { keyVerifiers, messageBytes, prepareVerify, runVerify } from './verify.js';

/** What a remote signing callback is told besides the message. */
export interface RemoteSignContext {
  readonly algorithm: SignatureAlgorithm;
  /**
   * The digest the algorithm applies to the message (null for Ed25519). KMS APIs that take a
   * pre-computed digest (e.g. "sign digest" modes) need the message hashed with this.
   */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  readonly keyId: string;
  /** Aborted when the signer gives up on this call (`timeoutMs`): pass it to the KMS request. */
  readonly signal: AbortSignal;
}

/** How long a RemoteSigner waits for its callback by default (ms). */
export const DEFAULT_REMOTE_SIGN_TIMEOUT_MS = 10_000;

/**
 * Signs the message bytes with the remote key and returns the raw signature in this
 * algorithm's encoding (ECDSA: DER; RSA: modulus-length bytes; Ed25519: 64 bytes).
 */
export type RemoteSignFunction = (message: Uint8Array, context: RemoteSignContext) => Promise<Uint8Array>;

export interface RemoteSignerOptions {
  algorithm: SignatureAlgorithm;
  /** The remote key's public half (PEM, JWK or KeyObject); a private key here is refused. */
  publicKey: KeyInput;
  sign: RemoteSignFunction;
  /**
   * Check each remote signature against `publicKey` before returning it (default true): a KMS
   * signing with another key, or returning another encoding, fails at signing time instead of
   * at audit time.
   */
  verifyAfterSign?: boolean;
  /**
   * Give up on a signing call after this long (default 10,000 ms; `Infinity` waits forever): the
   * call rejects with SignatureError and `context.signal` aborts. Appends are sequenced through
   * signing, so a KMS that never answers would otherwise hold every later append of the ledger.
   */
  timeoutMs?: number;
}

/**
 * A signer whose private key lives elsewhere (KMS, HSM, another process). Verification is
 * local with the given public key.
 */
export class RemoteSigner implements Signer {
  readonly algorithm: SignatureAlgorithm;
  readonly keyId: string;
  readonly publicKey: import('node:crypto').KeyObject;
  readonly canSign = true;
  readonly sign: SignerBound<(message: SignableMessage) => Promise<string>>;
  readonly signRecord: SignerBound<(message: SignableMessage) => Promise<SignatureRecord>>;
  readonly verify: (message: SignableMessage, signature: SignatureInput) => boolean;
  readonly verifyAsync: (message: SignableMessage, signature: SignatureInput) => Promise<boolean>;

  constructor(options: RemoteSignerOptions) {
    if (options === null || typeof options !== 'object')
      throw new ValidationError('RemoteSigner needs options');
    const { algorithm, sign: remoteSign } = options;
    if (!isSignatureAlgorithm(algorithm))
      throw new ValidationError(`unknown signature algorithm ${String(algorithm)}`);
    if (typeof remoteSign !== 'function') throw new ValidationError('RemoteSigner needs a sign function');
    const keys = parseKeyInput(options.publicKey);
    if (keys.privateKey !== undefined) {
      throw new KeyError('RemoteSigner takes the public key only; use a local signer for a private key');
    }
    const info = describeKey(keys.publicKey);
    if (!info.algorithms.includes(algorithm))
      throw new KeyError(`a ${info.kind} key cannot verify ${algorithm}`);
    this.algorithm = algorithm;
    this.keyId = info.keyId;
    this.publicKey = info.publicKey;
    const keyId = info.keyId;
    const check = options.verifyAfterSign !== false;
    const timeoutMs = options.timeoutMs ?? DEFAULT_REMOTE_SIGN_TIMEOUT_MS;
    if (!isTimeout(timeoutMs))
      throw new ValidationError(`timeoutMs must be from 1 to ${MAX_TIMER_MS} ms, or Infinity`);
    const hash = ALGORITHMS[algorithm].hash;

    const signValue = async (message: SignableMessage): Promise<string> => {
      const data = messageBytes(message);
      const abort = new AbortController();
      const context: RemoteSignContext = Object.freeze({ algorithm, hash, keyId, signal: abort.signal });
      let sig: unknown;
      try {
        sig = await withTimeout(remoteSign(data, context), timeoutMs, () => {
          const err = new SignatureError(`remote signing with key ${keyId} timed out after ${timeoutMs} ms`);
          abort.abort(err);
          return err;
        });
      } catch (cause) {
        if (abort.signal.aborted && cause === abort.signal.reason) throw cause;
        throw new SignatureError(`remote signing with key ${keyId} failed`, { cause });
      }
      if (!(sig instanceof Uint8Array)) throw new SignatureError('remote signer did not return bytes');
      if (check && !runVerify(prepareVerify(info, algorithm, undefined, data, sig))) {
        throw new SignatureError(`remote signature does not verify with key ${keyId}`);
      }
      return toBase64(sig);
    };
    this.sign = bindSigner(signValue, this);
    this.signRecord = bindSigner(
      async (message: SignableMessage): Promise<SignatureRecord> => ({
        algorithm,
        keyId,
        value: await signValue(message),
      }),
      this,
    );
    const verifiers = keyVerifiers(info, algorithm);
    this.verify = verifiers.verify;
    this.verifyAsync = verifiers.verifyAsync;
  }

  exportPublicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  }
}
