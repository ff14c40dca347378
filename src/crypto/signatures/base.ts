import { sign as cryptoSign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { toBase64 } from '../../encoding/bytes.js';
import { KeyError, SignatureError, ValidationError } from '../../errors.js';
import { ALGORITHMS, type CryptoKeyOptions, cryptoKeyOptions } from './algorithms.js';
import { bindSigner } from './bind.js';
import { describeKey, type KeyInfo, type ParsedKey } from './keys.js';
import type {
  LocalSigner,
  SignableMessage,
  SignatureAlgorithm,
  SignatureInput,
  SignatureRecord,
  SignerBound,
} from './types.js';
import { keyVerifiers, messageBytes } from './verify.js';

export interface ExportPrivateKeyOptions {
  /** Encrypts the PKCS#8 PEM with AES-256-CBC (PBES2) under this passphrase. */
  passphrase?: string;
}

/**
 * Shared machinery of the in-process signers. Keys are parsed once into KeyObjects; the
 * crypto.sign/verify key arguments are built once and reused on every call. All public
 * methods that callers may pass around (`sign`, `signRecord`, `signSync`, `signRecordSync`,
 * `verify`, `verifyAsync`) are own arrow functions, so they work unbound.
 */
export abstract class KeySigner implements LocalSigner {
  readonly algorithm: SignatureAlgorithm;
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly canSign: boolean;
  readonly sign: SignerBound<(message: SignableMessage) => Promise<string>>;
  readonly signRecord: SignerBound<(message: SignableMessage) => Promise<SignatureRecord>>;
  readonly signSync: SignerBound<(message: SignableMessage) => string>;
  readonly signRecordSync: SignerBound<(message: SignableMessage) => SignatureRecord>;
  readonly verify: (message: SignableMessage, signature: SignatureInput) => boolean;
  readonly verifyAsync: (message: SignableMessage, signature: SignatureInput) => Promise<boolean>;

  readonly #privateKey: KeyObject | undefined;

  protected constructor(algorithm: SignatureAlgorithm, keys: ParsedKey) {
    const info = describeKey(keys.publicKey);
    if (!info.algorithms.includes(algorithm)) {
      throw new KeyError(`a ${describeKind(info)} key cannot sign ${algorithm}`);
    }
    this.algorithm = algorithm;
    this.keyId = info.keyId;
    this.publicKey = info.publicKey;
    this.canSign = keys.privateKey !== undefined;
    this.#privateKey = keys.privateKey;

    const hash = ALGORITHMS[algorithm].hash;
    const signKey: CryptoKeyOptions | undefined =
      keys.privateKey === undefined ? undefined : cryptoKeyOptions(algorithm, keys.privateKey);
    const keyId = this.keyId;
    const requireKey = (): CryptoKeyOptions => {
      if (signKey === undefined)
        throw new KeyError(`key ${keyId} is public only: it can verify but not sign`);
      return signKey;
    };
    // crypto.sign with a callback runs on the libuv threadpool, so concurrent signs use all cores.
    const signBytes = (message: SignableMessage): Promise<Buffer> => {
      const key = requireKey();
      const data = messageBytes(message);
      return new Promise((resolve, reject) => {
        cryptoSign(hash, data, key, (err, sig) => {
          if (err) reject(new SignatureError(`signing with key ${keyId} failed`, { cause: err }));
          else resolve(sig);
        });
      });
    };
    const signBytesSync = (message: SignableMessage): Buffer => {
      const key = requireKey();
      const data = messageBytes(message);
      try {
        return cryptoSign(hash, data, key);
      } catch (cause) {
        throw new SignatureError(`signing with key ${keyId} failed`, { cause });
      }
    };

    this.sign = bindSigner(async (message: SignableMessage) => toBase64(await signBytes(message)), this);
    this.signRecord = bindSigner(
      async (message: SignableMessage): Promise<SignatureRecord> => ({
        algorithm,
        keyId,
        value: toBase64(await signBytes(message)),
      }),
      this,
    );
    this.signSync = bindSigner((message: SignableMessage) => toBase64(signBytesSync(message)), this);
    this.signRecordSync = bindSigner(
      (message: SignableMessage): SignatureRecord => ({
        algorithm,
        keyId,
        value: toBase64(signBytesSync(message)),
      }),
      this,
    );
    const verifiers = keyVerifiers(info, algorithm);
    this.verify = verifiers.verify;
    this.verifyAsync = verifiers.verifyAsync;
  }

  /** SPKI PEM of the public key. */
  exportPublicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  }

  /** PKCS#8 PEM of the private key, encrypted (AES-256-CBC) when a passphrase is given. */
  exportPrivateKeyPem(options: ExportPrivateKeyOptions = {}): string {
    const key = this.#requirePrivate();
    const { passphrase } = options;
    if (passphrase === undefined) return key.export({ type: 'pkcs8', format: 'pem' }) as string;
    if (typeof passphrase !== 'string' || passphrase.length === 0) {
      throw new ValidationError('passphrase must be a non-empty string');
    }
    return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
  }

  /** The public JWK; `{ private: true }` includes the private part (`d`). */
  toJwk(options: { private?: boolean } = {}): JsonWebKey {
    if (options.private === true) return this.#requirePrivate().export({ format: 'jwk' });
    return this.publicKey.export({ format: 'jwk' });
  }

  /** JSON form never contains the private key. */
  toJSON(): { algorithm: SignatureAlgorithm; keyId: string; publicKeyPem: string } {
    return { algorithm: this.algorithm, keyId: this.keyId, publicKeyPem: this.exportPublicKeyPem() };
  }

  #requirePrivate(): KeyObject {
    if (this.#privateKey === undefined) throw new KeyError(`key ${this.keyId} is public only`);
    return this.#privateKey;
  }
}

export function describeKind(info: KeyInfo): string {
  if (info.kind === 'ec') return `${info.curve!.curve} EC`;
  if (info.kind === 'rsa') return `${(info.modulusBytes ?? 0) * 8}-bit RSA`;
  return 'Ed25519';
}
