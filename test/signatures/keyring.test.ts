import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ECDSASigner,
  Ed25519Signer,
  KeyRing,
  type SignatureRecord,
} from '../../src/crypto/signatures/index.js';
import { KeyError, NotFoundError, ValidationError } from '../../src/errors.js';
import { ENTRY_HASH, fixtures } from './fixtures.js';

const T0 = new Date('2025-01-01T00:00:00Z');
const T1 = new Date('2025-06-01T00:00:00Z');
const T2 = new Date('2026-01-01T00:00:00Z');
const at = (index: number, time = T1) => ({ index, time });

describe('KeyRing.check', () => {
  it('accepts a trusted key and reports unknown keys', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing();
    ring.add(ed, { label: 'primary' });
    const rec = await ed.signRecord(ENTRY_HASH);
    expect(ring.check(rec, ENTRY_HASH, at(0))).toEqual({ ok: true, keyId: ed.keyId });
    expect(await ring.checkAsync(rec, ENTRY_HASH, at(0))).toEqual({ ok: true, keyId: ed.keyId });

    const stranger = new Ed25519Signer();
    const r2 = ring.check(await stranger.signRecord(ENTRY_HASH), ENTRY_HASH, at(0));
    expect(r2).toMatchObject({ ok: false, kind: 'key_unknown' });
  });

  it('a bad signature from a trusted key is signature_invalid', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing([ed]);
    const rec = await ed.signRecord(ENTRY_HASH);
    expect(ring.check(rec, 'other message', at(0))).toMatchObject({ ok: false, kind: 'signature_invalid' });
    expect(ring.check({ ...rec, value: 'garbage' }, ENTRY_HASH, at(0))).toMatchObject({
      ok: false,
      kind: 'signature_invalid',
    });
    expect(await ring.checkAsync(rec, 'other', at(0))).toMatchObject({
      ok: false,
      kind: 'signature_invalid',
    });
  });

  it('keyId spoofing: naming a trusted key while signing with another key fails', async () => {
    const trusted = new Ed25519Signer();
    const attacker = new Ed25519Signer();
    const ring = new KeyRing([trusted]);
    const forged: SignatureRecord = { ...(await attacker.signRecord(ENTRY_HASH)), keyId: trusted.keyId };
    expect(ring.check(forged, ENTRY_HASH, at(0))).toMatchObject({ ok: false, kind: 'signature_invalid' });
  });

  it('algorithm mismatch: a record claiming another algorithm than the key allows', async () => {
    const rsa = fixtures.rsaPss();
    const ring = new KeyRing();
    ring.add(rsa); // a Signer is trusted for its own algorithm only
    const rec = await rsa.signRecord(ENTRY_HASH);
    expect(ring.check({ ...rec, algorithm: 'rsa-pkcs1v15-sha256' }, ENTRY_HASH, at(0))).toMatchObject({
      ok: false,
      kind: 'algorithm_mismatch',
    });
    expect(ring.check({ ...rec, algorithm: 'ed25519' }, ENTRY_HASH, at(0))).toMatchObject({
      ok: false,
      kind: 'algorithm_mismatch',
    });
    expect(ring.check({ ...rec, algorithm: 'bogus' as never }, ENTRY_HASH, at(0))).toMatchObject({
      ok: false,
      kind: 'algorithm_mismatch',
    });
    expect(ring.check(rec, ENTRY_HASH, at(0)).ok).toBe(true);

    // a bare RSA key allows both paddings, unless restricted
    const bare = new KeyRing();
    bare.add(fixtures.rsaPkcs1().publicKey);
    expect(bare.get(fixtures.rsaPkcs1().keyId)!.algorithms).toEqual([
      'rsa-pss-sha256',
      'rsa-pkcs1v15-sha256',
    ]);
    const restricted = new KeyRing();
    restricted.add(fixtures.rsaPkcs1().publicKey, { algorithms: ['rsa-pss-sha256'] });
    const pkcs1Rec = await fixtures.rsaPkcs1().signRecord(ENTRY_HASH);
    expect(bare.check(pkcs1Rec, ENTRY_HASH, at(0)).ok).toBe(true);
    expect(restricted.check(pkcs1Rec, ENTRY_HASH, at(0))).toMatchObject({ kind: 'algorithm_mismatch' });
    expect(() => restricted.add(new Ed25519Signer(), { algorithms: ['rsa-pss-sha256'] })).toThrow(KeyError);
  });

  it('malformed records fail closed', () => {
    const ring = new KeyRing([new Ed25519Signer()]);
    expect(ring.check(null as never, ENTRY_HASH, at(0))).toMatchObject({
      ok: false,
      kind: 'signature_invalid',
    });
    expect(ring.check({} as never, ENTRY_HASH, at(0))).toMatchObject({ ok: false, kind: 'key_unknown' });
  });
});

describe('validity windows', () => {
  it('by index: from inclusive, until exclusive', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing();
    ring.add(ed, { validFrom: { index: 10 }, validUntil: { index: 20 } });
    const rec = await ed.signRecord(ENTRY_HASH);
    const kind = (i: number) => {
      const r = ring.check(rec, ENTRY_HASH, { index: i, time: T1 });
      return r.ok ? 'ok' : r.kind;
    };
    expect(kind(9)).toBe('key_outside_window');
    expect(kind(10)).toBe('ok');
    expect(kind(19)).toBe('ok');
    expect(kind(20)).toBe('key_outside_window');
  });

  it('by time: from inclusive, until exclusive', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing();
    ring.add(ed, { validFrom: { time: T0 }, validUntil: { time: T2 } });
    const rec = await ed.signRecord(ENTRY_HASH);
    const kind = (time: Date) => {
      const r = ring.check(rec, ENTRY_HASH, { index: 0, time });
      return r.ok ? 'ok' : r.kind;
    };
    expect(kind(new Date(T0.getTime() - 1))).toBe('key_outside_window');
    expect(kind(T0)).toBe('ok');
    expect(kind(new Date(T2.getTime() - 1))).toBe('ok');
    expect(kind(T2)).toBe('key_outside_window');
  });

  it('a bound whose dimension the context lacks fails closed', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing();
    ring.add(ed, { validFrom: { time: T0 } });
    const rec = await ed.signRecord(ENTRY_HASH);
    expect(ring.check(rec, ENTRY_HASH, { index: 5 })).toMatchObject({
      ok: false,
      kind: 'key_outside_window',
    });
    expect(ring.check(rec, ENTRY_HASH, { index: 5, time: T1 }).ok).toBe(true);
  });

  it('key rotation: old key until index 100, new key from 100', async () => {
    const oldKey = new ECDSASigner();
    const newKey = new ECDSASigner();
    const ring = new KeyRing();
    ring.add(oldKey, { validUntil: { index: 100 } });
    ring.add(newKey, { validFrom: { index: 100 } });
    const oldRec = await oldKey.signRecord(ENTRY_HASH);
    const newRec = await newKey.signRecord(ENTRY_HASH);
    expect(ring.check(oldRec, ENTRY_HASH, at(99)).ok).toBe(true);
    expect(ring.check(oldRec, ENTRY_HASH, at(100)).ok).toBe(false);
    expect(ring.check(newRec, ENTRY_HASH, at(99)).ok).toBe(false);
    expect(ring.check(newRec, ENTRY_HASH, at(100)).ok).toBe(true);
  });
});

describe('revocation', () => {
  it('applies from the revocation index on', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing([ed]);
    const rec = await ed.signRecord(ENTRY_HASH);
    ring.revoke(ed.keyId, { index: 50 });
    expect(ring.check(rec, ENTRY_HASH, at(49)).ok).toBe(true);
    expect(ring.check(rec, ENTRY_HASH, at(50))).toMatchObject({
      ok: false,
      kind: 'key_revoked',
      keyId: ed.keyId,
    });
    expect(await ring.checkAsync(rec, ENTRY_HASH, at(51))).toMatchObject({ ok: false, kind: 'key_revoked' });
  });

  it('applies from the revocation time on; either dimension triggers; only moves earlier', async () => {
    const ed = new Ed25519Signer();
    const ring = new KeyRing();
    ring.add(ed, { revokedAt: { time: T2 } });
    const rec = await ed.signRecord(ENTRY_HASH);
    expect(ring.check(rec, ENTRY_HASH, { index: 1000, time: T1 }).ok).toBe(true);
    expect(ring.check(rec, ENTRY_HASH, { index: 0, time: T2 })).toMatchObject({ kind: 'key_revoked' });
    ring.revoke(ed.keyId, { index: 10 });
    expect(ring.get(ed.keyId)!.revokedAt).toEqual({ index: 10, time: T2 });
    expect(ring.check(rec, ENTRY_HASH, { index: 10, time: T0 })).toMatchObject({ kind: 'key_revoked' });
    ring.revoke(ed.keyId, { index: 500, time: T1 });
    expect(ring.get(ed.keyId)!.revokedAt).toEqual({ index: 10, time: T1 });
    // without a time in the context a time-revoked key cannot be cleared: fail closed
    expect(ring.check(rec, ENTRY_HASH, { index: 0 })).toMatchObject({ kind: 'key_revoked' });
  });

  it('revoking an unknown key throws NotFoundError', () => {
    expect(() => new KeyRing().revoke('00'.repeat(16), { index: 0 })).toThrow(NotFoundError);
  });
});

describe('KeyRing management', () => {
  it('add accepts PEM, JWK, KeyObject and Signer; rejects duplicates and weak keys', () => {
    const ed = new Ed25519Signer();
    const ec = new ECDSASigner();
    const rsa = fixtures.rsaPss();
    const ring = new KeyRing();
    ring.add(ed.exportPublicKeyPem());
    ring.add(ec.toJwk());
    ring.add(rsa.publicKey);
    expect(ring.size).toBe(3);
    expect(ring.keys().map((k) => k.keyId)).toEqual([ed.keyId, ec.keyId, rsa.keyId]);
    expect(() => ring.add(ed)).toThrow(ValidationError);
    // a private PEM is accepted but only its public half is kept
    const ring2 = new KeyRing();
    const entry = ring2.add(ed.exportPrivateKeyPem());
    expect(entry.publicKey.type).toBe('public');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => ring.add(weak)).toThrow(KeyError);
    expect(() => ring.add(42 as never)).toThrow(ValidationError);
  });

  it('validates windows and contexts', async () => {
    const ring = new KeyRing();
    const ed = new Ed25519Signer();
    expect(() => ring.add(ed, { validFrom: {} })).toThrow(ValidationError);
    expect(() => ring.add(ed, { validFrom: { index: -1 } })).toThrow(ValidationError);
    expect(() => ring.add(ed, { validUntil: { time: new Date('nope') } })).toThrow(ValidationError);
    ring.add(ed);
    const rec = await ed.signRecord(ENTRY_HASH);
    expect(() => ring.check(rec, ENTRY_HASH, { index: 1.5 })).toThrow(ValidationError);
    expect(() => ring.check(rec, 5 as never, { index: 1 })).toThrow(ValidationError);
  });

  it('entries are frozen and window dates are copied', () => {
    const t = new Date(T0);
    const ring = new KeyRing();
    const e = ring.add(new Ed25519Signer(), { validFrom: { time: t } });
    t.setFullYear(2000);
    expect(e.validFrom!.time!.toISOString()).toBe(T0.toISOString());
    expect(Object.isFrozen(e)).toBe(true);
  });

  it('toJSON / fromJSON round-trips keys, windows, revocation and labels', async () => {
    const ed = new Ed25519Signer();
    const rsa = fixtures.rsaPss();
    const ring = new KeyRing();
    ring.add(ed, { label: 'a', validFrom: { index: 3, time: T0 }, validUntil: { time: T2 } });
    ring.add(rsa);
    ring.revoke(rsa.keyId, { index: 7 });
    const text = JSON.stringify(ring);
    expect(text).not.toContain('PRIVATE');
    const back = KeyRing.fromJSON(text);
    expect(back.toJSON()).toEqual(ring.toJSON());
    const e = back.get(ed.keyId)!;
    expect(e.label).toBe('a');
    expect(e.validFrom).toEqual({ index: 3, time: T0 });
    expect(back.get(rsa.keyId)!.algorithms).toEqual(['rsa-pss-sha256']);
    const rec = await rsa.signRecord(ENTRY_HASH);
    expect(back.check(rec, ENTRY_HASH, at(6)).ok).toBe(true);
    expect(back.check(rec, ENTRY_HASH, at(7))).toMatchObject({ kind: 'key_revoked' });
  });

  it('fromJSON rejects a keyId that does not match its key, and junk', () => {
    const ring = new KeyRing([new Ed25519Signer()]);
    const json = ring.toJSON();
    json.keys[0]!.keyId = 'ff'.repeat(16);
    expect(() => KeyRing.fromJSON(json)).toThrow(KeyError);
    expect(() => KeyRing.fromJSON('{')).toThrow(ValidationError);
    expect(() => KeyRing.fromJSON({ version: 2, keys: [] } as never)).toThrow(ValidationError);
    expect(() => KeyRing.fromJSON({ version: 1, keys: [{}] } as never)).toThrow(ValidationError);
  });

  it('fromJSON refuses a private key in a keyring file instead of keeping its public half', () => {
    const ed = new Ed25519Signer();
    const json = new KeyRing([ed]).toJSON();
    json.keys[0]!.publicKey = ed.exportPrivateKeyPem();
    expect(() => KeyRing.fromJSON(json)).toThrow(/private key/);
    expect(() => KeyRing.fromJSON(json)).toThrow(KeyError);
  });

  it('fromJSON reads window times as RFC 3339 only: no loose or rolled-over dates', () => {
    const ed = new Ed25519Signer();
    const withTime = (time: string) => {
      const json = new KeyRing([ed]).toJSON();
      json.keys[0]!.validFrom = { time };
      return json;
    };
    const from = (time: string) => KeyRing.fromJSON(withTime(time)).get(ed.keyId)!.validFrom!.time!.getTime();
    expect(from('2026-01-01T00:00:00Z')).toBe(T2.getTime());
    expect(from('2026-01-01T01:30:00+01:30')).toBe(T2.getTime());
    expect(from('2025-12-31T23:00:00.5-01:00')).toBe(T2.getTime() + 500);
    expect(from('+275760-09-13T00:00:00.000Z')).toBe(8.64e15);
    for (const bad of [
      'March 7, 2026',
      '2026-01-01',
      '2026-01-01T00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:00:60Z',
      '2026-01-01T00:00:00',
      '2026-01-01T00:00:00.1234Z',
      '2026-01-01T00:00:00+24:00',
      '-000000-01-01T00:00:00Z',
      '+275760-09-13T00:00:00.001Z',
      '1700000000000',
    ]) {
      expect(() => KeyRing.fromJSON(withTime(bad)), bad).toThrow(ValidationError);
    }
    // Every time toISOString writes (expanded years too) reads back to itself.
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        expect(from(new Date(ms).toISOString())).toBe(ms);
      }),
      { numRuns: 300 },
    );
  });
});
