import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../src/encoding/bytes.js';
import { KeyError } from '../../src/errors.js';
import { ed25519PrivateKey, ed25519RawPublicKey } from '../../src/note/ed25519.js';
import {
  formatVerifierKey,
  generateNoteKey,
  isValidKeyName,
  KEY_TYPE_ED25519,
  noteKeyId,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.js';
import { signedNoteVectors as V } from './vectors.js';

const PETER = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';

describe('keys vectors', () => {
  it.each(V.keys.filter((k) => k.skey !== undefined))(
    '$name: vkey derived from the skey seed equals vkey',
    (k) => {
      const signer = parseSignerKey(k.skey!);
      expect(signer.verifierKey).toBe(k.vkey);
      expect(signer.name).toBe(k.name);
      // Independently: seed -> public key -> vkey.
      const seed = fromBase64(k.skey!.split('+').slice(4).join('+')).subarray(1);
      const pub = ed25519RawPublicKey(ed25519PrivateKey(seed));
      expect(formatVerifierKey(k.name, KEY_TYPE_ED25519, pub)).toBe(k.vkey);
    },
  );

  it.each(V.keys)('$name: vkey parses and round-trips', (k) => {
    const v = parseVerifierKey(k.vkey);
    expect(v.name).toBe(k.name);
    expect(v.type).toBe('ed25519');
    expect(v.vkey).toBe(k.vkey);
    expect(v.keyId.toString(16).padStart(8, '0')).toBe(k.vkey.split('+')[1]);
  });

  it('noteKeyId matches the C2SP example', () => {
    const pub = fromBase64('AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k').subarray(1);
    expect(noteKeyId('example.com/foo', 1, pub)).toBe(0x530d903a);
  });
});

describe('vkeyParse vectors', () => {
  it.each(V.vkeyParse)('$desc -> valid=$valid', (c) => {
    if (c.valid) expect(parseVerifierKey(c.vkey).vkey).toBe(c.vkey);
    else expect(() => parseVerifierKey(c.vkey)).toThrow(KeyError);
  });

  it('rejects every proper substring of PeterNeumann', () => {
    let n = 0;
    for (let i = 0; i < PETER.length; i++) {
      for (let j = i + 1; j <= PETER.length; j++) {
        if (i === 0 && j === PETER.length) continue;
        expect(() => parseVerifierKey(PETER.slice(i, j)), PETER.slice(i, j)).toThrow(KeyError);
        n++;
      }
    }
    expect(n).toBe((PETER.length * (PETER.length + 1)) / 2 - 1);
  });

  it('rejects every single-byte increment of PeterNeumann', () => {
    for (let i = 0; i < PETER.length; i++) {
      const bytes = Buffer.from(PETER, 'latin1');
      bytes[i] = bytes[i]! + 1;
      const mutated = bytes.toString('latin1');
      expect(() => parseVerifierKey(mutated), mutated).toThrow(KeyError);
    }
  });

  it('rejects uppercase hex, extra parts in the name and non-string input', () => {
    expect(() => parseVerifierKey(PETER.replace('c74f20a3', 'C74F20A3'))).toThrow(KeyError);
    expect(() => parseVerifierKey(`x${PETER}`)).toThrow(KeyError);
    expect(() => parseVerifierKey(undefined as unknown as string)).toThrow(KeyError);
    expect(() => parseVerifierKey('')).toThrow(KeyError);
  });
});

describe('key names', () => {
  it.each([
    ['example.com/log', true],
    ['Señor-1', true],
    ['a', true],
    ['😀', true],
    ['', false],
    ['a+b', false],
    ['a b', false],
    ['a\tb', false],
    ['a\u00a0b', false],
    ['a\u2003b', false],
    ['a\u3000b', false],
    ['a\u0085b', false],
    ['a\u0001b', false],
    ['a\ud800b', false],
  ])('%j -> %s', (name, ok) => {
    expect(isValidKeyName(name)).toBe(ok);
  });
});

describe('signer keys', () => {
  it('generateNoteKey round-trips through both encodings and signs verifiably', () => {
    const k = generateNoteKey('example.com/log');
    const signer = parseSignerKey(k.signerKey);
    const verifier = parseVerifierKey(k.verifierKey);
    expect(signer.verifierKey).toBe(k.verifierKey);
    expect(verifier.keyId).toBe(k.signer.keyId);
    const msg = Buffer.from('hello\n');
    const sig = signer.sign(msg);
    expect(sig).toHaveLength(64);
    expect(verifier.verify(msg, sig)).toBe(true);
    expect(k.verifier.verify(Buffer.from('hellp\n'), sig)).toBe(false);
    expect(verifier.verify(msg, sig.subarray(1))).toBe(false);
  });

  it('rejects malformed signer keys', () => {
    const good = V.keys[0]!.skey!;
    expect(() => parseSignerKey(good.replace('PRIVATE+KEY+', 'PUBLIC+KEY+'))).toThrow(KeyError);
    expect(() => parseSignerKey(good.replace('c74f20a3', 'c74f20a4'))).toThrow(KeyError);
    expect(() => parseSignerKey(good.replace('PeterNeumann', 'PeterNeuman'))).toThrow(KeyError);
    expect(() => parseSignerKey(good.slice(0, -4))).toThrow(KeyError);
    expect(() => parseSignerKey(V.keys[0]!.vkey)).toThrow(KeyError);
    expect(() => generateNoteKey('bad name')).toThrow(KeyError);
  });
});
