import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, KeyError, NoteError } from '../../src/errors.js';
import {
  type Checkpoint,
  COSIGNATURE_LENGTH,
  cosignatureTime,
  cosignCheckpoint,
  formatCheckpointBody,
  formatSignatureLine,
  generateNoteKey,
  generateWitnessKey,
  noteKeyId,
  openCheckpoint,
  openNote,
  parseNote,
  parseVerifierKey,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
  signCheckpoint,
} from '../../src/note/index.js';

const ROOT = createHash('sha256').update('root').digest();
const cp: Checkpoint = { origin: 'example.com/log', size: 42, rootHash: ROOT, extensions: [] };
const log = generateNoteKey('example.com/log');
const [w1, w2, w3] = ['w1.example', 'w2.example', 'w3.example'].map(generateWitnessKey) as [
  ReturnType<typeof generateWitnessKey>,
  ReturnType<typeof generateWitnessKey>,
  ReturnType<typeof generateWitnessKey>,
];
const T = 1679315147;

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NoteError);
    return (e as NoteError).reason;
  }
  return 'no error';
}

function rawPublicKey(vkey: string): Buffer {
  // The base64 part may itself contain '+': take everything after the second one.
  return Buffer.from(vkey.split('+').slice(2).join('+'), 'base64').subarray(1);
}

describe('tlog-cosignature/v1 format', () => {
  it('witness keys use type 0x04 in the vkey and the key ID', () => {
    const raw = Buffer.from(w1.verifierKey.split('+').slice(2).join('+'), 'base64');
    expect(raw[0]).toBe(0x04);
    expect(w1.signer.keyId).toBe(noteKeyId('w1.example', 0x04, raw.subarray(1)));
    expect(w1.verifier.type).toBe('cosignature');
    expect(parseVerifierKey(w1.verifierKey).type).toBe('cosignature');
    expect(parseWitnessVerifierKey(w1.verifierKey).keyId).toBe(w1.signer.keyId);
    expect(() => parseWitnessVerifierKey(log.verifierKey)).toThrow(KeyError);
    expect(parseWitnessSignerKey(w1.signerKey).verifierKey).toBe(w1.verifierKey);
  });

  it('signs "cosignature/v1\\ntime <t>\\n" || body, prefixed by the big-endian timestamp', () => {
    const body = formatCheckpointBody(cp);
    const sig = w1.signer.cosign(Buffer.from(body), T);
    expect(sig).toHaveLength(COSIGNATURE_LENGTH);
    expect(sig.readBigUInt64BE(0)).toBe(BigInt(T));
    expect(cosignatureTime(sig)).toBe(BigInt(T));
    // Independent check with node:crypto directly, message built by hand from the spec.
    const spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      rawPublicKey(w1.verifierKey),
    ]);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const msg = Buffer.from(`cosignature/v1\ntime ${T}\n${body}`);
    expect(verify(null, msg, key, sig.subarray(8))).toBe(true);
    expect(w1.verifier.verify(Buffer.from(body), sig)).toBe(true);
    expect(w2.verifier.verify(Buffer.from(body), sig)).toBe(false);
    // A cosignature is not a plain note signature of the body.
    expect(verify(null, Buffer.from(body), key, sig.subarray(8))).toBe(false);
  });

  it('rejects altered timestamps, timestamps above 2^63-1 and bad times', () => {
    const body = Buffer.from(formatCheckpointBody(cp));
    const sig = w1.signer.cosign(body, T);
    const later = Buffer.from(sig);
    later.writeBigUInt64BE(BigInt(T + 1), 0);
    expect(w1.verifier.verify(body, later)).toBe(false);
    const huge = Buffer.from(sig);
    huge.writeBigUInt64BE(1n << 63n, 0);
    expect(cosignatureTime(huge)).toBeUndefined();
    expect(w1.verifier.verify(body, huge)).toBe(false);
    expect(w1.verifier.verify(body, sig.subarray(8))).toBe(false);
    expect(() => w1.signer.cosign(body, -1)).toThrow(NoteError);
    expect(() => w1.signer.cosign(body, 1.5)).toThrow(NoteError);
  });
});

describe('cosignCheckpoint', () => {
  it('adds a line after the existing ones and openNote verifies it with a cosignature verifier', () => {
    const note = signCheckpoint(cp, log.signer);
    const cosigned = cosignCheckpoint(note, w1.signer, T);
    expect(cosigned.startsWith(note)).toBe(true);
    const r = openNote(cosigned, [log.verifier, w1.verifier]);
    expect(r.verified.map((s) => s.name)).toEqual(['example.com/log', 'w1.example']);
    // Without the witness key the cosignature is just an unknown line.
    expect(openNote(cosigned, [log.verifier]).unverified.map((s) => s.name)).toEqual(['w1.example']);
  });

  it('replaces an earlier cosignature by the same witness and keeps the others', () => {
    let note = signCheckpoint(cp, log.signer);
    note = cosignCheckpoint(note, w1.signer, T);
    note = cosignCheckpoint(note, w2.signer, T);
    note = cosignCheckpoint(note, w1.signer, T + 60);
    const sigs = parseNote(note).signatures;
    expect(sigs.map((s) => s.name)).toEqual(['example.com/log', 'w2.example', 'w1.example']);
    expect(cosignatureTime(sigs[2]!.signature)).toBe(BigInt(T + 60));
  });

  it('refuses notes whose text is not a checkpoint', async () => {
    const { signNote } = await import('../../src/note/index.js');
    expect(() => cosignCheckpoint(signNote('hello\n', [log.signer]), w1.signer, T)).toThrow();
    expect(reasonOf(() => cosignCheckpoint('garbage', w1.signer, T))).toBe('malformed');
  });
});

describe('witness quorum', () => {
  const base = { origin: cp.origin, verifiers: [log.verifier] };
  const witnesses = [w1.verifier, w2.verifier, w3.verifier];
  const twoOfThree = signCheckpoint(cp, log.signer, [w1.signer, w2.signer], T);

  it('k of n distinct witnesses', () => {
    const opened = openCheckpoint(twoOfThree, { ...base, witnesses, witnessQuorum: 2 });
    expect(opened.cosigners).toEqual(['w1.example', 'w2.example']);
    expect(opened.cosignatures.map((c) => c.time)).toEqual([T, T]);
    expect(openCheckpoint(twoOfThree, { ...base, witnesses, witnessQuorum: 0 }).size).toBe(42);
    expect(reasonOf(() => openCheckpoint(twoOfThree, { ...base, witnesses, witnessQuorum: 3 }))).toBe(
      'witness_quorum',
    );
    // Default quorum: every configured witness.
    expect(reasonOf(() => openCheckpoint(twoOfThree, { ...base, witnesses }))).toBe('witness_quorum');
    expect(
      openCheckpoint(twoOfThree, { ...base, witnesses: [w1.verifier, w2.verifier] }).cosigners,
    ).toHaveLength(2);
  });

  it('the same witness twice counts once', () => {
    const once = signCheckpoint(cp, log.signer, [w1.signer], T);
    const body = formatCheckpointBody(cp);
    const again = formatSignatureLine(
      w1.signer.name,
      w1.signer.keyId,
      w1.signer.cosign(Buffer.from(body), T + 1),
    );
    const twice = `${once}${again}\n`;
    expect(parseNote(twice).signatures).toHaveLength(3);
    expect(reasonOf(() => openCheckpoint(twice, { ...base, witnesses, witnessQuorum: 2 }))).toBe(
      'witness_quorum',
    );
    // Listing the same witness key twice in the configuration does not double it either.
    expect(() =>
      openCheckpoint(once, { ...base, witnesses: [w1.verifier, w1.verifier], witnessQuorum: 2 }),
    ).toThrow(ConfigurationError);
  });

  it('one public key under two witness names counts once', async () => {
    const { makeVerifier } = await import('../../src/note/keys.js');
    const { ed25519PrivateKey } = await import('../../src/note/ed25519.js');
    const { signCosignature } = await import('../../src/note/cosignature-format.js');
    const seed = Buffer.from(w1.signerKey.split('+').slice(4).join('+'), 'base64').subarray(1);
    const pub = rawPublicKey(w1.verifierKey);
    const alias = makeVerifier('alias.example', 0x04, pub);
    const body = formatCheckpointBody(cp);
    const aliasLine = formatSignatureLine(
      'alias.example',
      alias.keyId,
      signCosignature(ed25519PrivateKey(seed), Buffer.from(body), BigInt(T)),
    );
    const note = `${signCheckpoint(cp, log.signer, [w1.signer], T)}${aliasLine}\n`;
    const ws = [w1.verifier, alias, w2.verifier];
    expect(openNote(note, [log.verifier, ...ws]).verified).toHaveLength(3);
    expect(reasonOf(() => openCheckpoint(note, { ...base, witnesses: ws, witnessQuorum: 2 }))).toBe(
      'witness_quorum',
    );
  });

  it('a bad cosignature from a known witness fails the checkpoint', () => {
    const lines = twoOfThree.split('\n');
    const i = lines.findIndex((l) => l.startsWith('\u2014 w2.example '));
    const sig = parseNote(twoOfThree).signatures[2]!;
    const tampered = Buffer.from(sig.signature);
    tampered[20] = tampered[20]! ^ 1;
    lines[i] = formatSignatureLine(sig.name, sig.keyId, tampered);
    const bad = lines.join('\n');
    expect(reasonOf(() => openCheckpoint(bad, { ...base, witnesses, witnessQuorum: 1 }))).toBe(
      'invalid_signature',
    );
    // Unknown to this client, the same line is ignored.
    expect(openCheckpoint(bad, { ...base, witnesses: [w1.verifier], witnessQuorum: 1 }).cosigners).toEqual([
      'w1.example',
    ]);
  });

  it('witness signatures alone never stand in for the log signature', () => {
    const note = signCheckpoint(cp, log.signer, [w1.signer], T);
    const withoutLog = note.replace(/\n\u2014 example\.com\/log [^\n]*/, '');
    expect(parseNote(withoutLog).signatures.map((s) => s.name)).toEqual(['w1.example']);
    expect(reasonOf(() => openCheckpoint(withoutLog, { ...base, witnesses, witnessQuorum: 1 }))).toBe(
      'no_verified_signature',
    );
  });

  it('rejects impossible quorum settings', () => {
    expect(() => openCheckpoint(twoOfThree, { ...base, witnesses, witnessQuorum: 4 })).toThrow(
      ConfigurationError,
    );
    expect(() => openCheckpoint(twoOfThree, { ...base, witnessQuorum: 1 })).toThrow(ConfigurationError);
    expect(() => openCheckpoint(twoOfThree, { ...base, witnesses, witnessQuorum: -1 })).toThrow(
      ConfigurationError,
    );
    expect(() => openCheckpoint(twoOfThree, { ...base, witnesses, witnessQuorum: 1.5 })).toThrow(
      ConfigurationError,
    );
  });
});
