import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignLedgerError } from '../../src/errors.js';
import {
  generateNoteKey,
  generateWitnessKey,
  openCheckpoint,
  openNote,
  parseCheckpointBody,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
} from '../../src/note/index.js';
import { hasForbiddenChar } from '../../src/note/text.js';
import { signedNoteVectors as V } from './vectors.js';

const log = generateNoteKey('example.com/log');
const other = generateNoteKey('other.example');
const witness = generateWitnessKey('w.example');

// Note texts: 1..6 lines of arbitrary Unicode without control characters (empty lines allowed).
const line = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((l) => !hasForbiddenChar(l, false));
const noteText = fc.array(line, { minLength: 1, maxLength: 6 }).map((ls) => ls.map((l) => `${l}\n`).join(''));

/** Only the library's typed errors may escape. */
function typedOrValue(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof SignLedgerError)) throw e;
    return e;
  }
}

describe('properties', () => {
  it('sign -> open round-trips any note text', () => {
    fc.assert(
      fc.property(noteText, (text) => {
        const note = signNote(text, [log.signer, other.signer]);
        const r = openNote(note, [log.verifier]);
        expect(r.text).toBe(text);
        expect(r.verified.map((s) => s.name)).toEqual(['example.com/log']);
        expect(r.unverified.map((s) => s.name)).toEqual(['other.example']);
        expect(openNote(Buffer.from(note, 'utf8'), [other.verifier]).text).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('a single-byte mutation of a signed note never verifies a different text', () => {
    fc.assert(
      fc.property(noteText, fc.nat(), fc.integer({ min: 1, max: 255 }), (text, pos, delta) => {
        // The unknown second line lets some mutations still verify; they must keep the text.
        const bytes = Buffer.from(signNote(text, [log.signer, other.signer]), 'utf8');
        const i = pos % bytes.length;
        bytes[i] = (bytes[i]! + delta) % 256;
        const r = typedOrValue(() => openNote(bytes, [log.verifier]));
        if (r instanceof SignLedgerError)
          expect(r.code === 'NOTE_MALFORMED' || r.code === 'NOTE_UNVERIFIED').toBe(true);
        else expect((r as { text: string }).text).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('mutating any byte of the text or the known signature is always rejected', () => {
    fc.assert(
      fc.property(noteText, fc.nat(), fc.integer({ min: 1, max: 255 }), (text, pos, delta) => {
        const note = signNote(text, [log.signer]);
        const bytes = Buffer.from(note, 'utf8');
        const i = pos % bytes.length;
        bytes[i] = (bytes[i]! + delta) % 256;
        expect(typedOrValue(() => openNote(bytes, [log.verifier]))).toBeInstanceOf(SignLedgerError);
      }),
      { numRuns: 1000 },
    );
  });

  it('garbage strings and bytes only ever raise typed errors', () => {
    const verifiers = [log.verifier, witness.verifier, parseVerifierKey(V.keys[0]!.vkey)];
    const garbageString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({
        unit: fc.constantFrom('\n', '\u2014', ' ', '+', '=', 'A', 'a', '/', '0', '1', '\r'),
        maxLength: 120,
      }),
      fc.string({
        unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        maxLength: 80,
      }),
    );
    const garbageBytes = fc.uint8Array({ maxLength: 300 });
    fc.assert(
      fc.property(fc.oneof(garbageString, garbageBytes), (g) => {
        typedOrValue(() => parseNote(g));
        typedOrValue(() => openNote(g, verifiers));
        typedOrValue(() => openCheckpoint(g, { origin: 'example.com/log', verifiers: [log.verifier] }));
        if (typeof g === 'string') {
          typedOrValue(() => parseCheckpointBody(g));
          typedOrValue(() => parseCheckpointBody(g, { requireSha256: false, allowBigSize: true }));
          typedOrValue(() => parseVerifierKey(g));
          typedOrValue(() => parseSignerKey(g));
          typedOrValue(() => signNote(g, [log.signer], [g]));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('garbage appended to or spliced into a real checkpoint only raises typed errors', () => {
    const root = Buffer.alloc(32, 7);
    const note = signCheckpoint(
      { origin: 'example.com/log', size: 9, rootHash: root, extensions: [] },
      log.signer,
      [witness.signer],
    );
    fc.assert(
      fc.property(fc.nat(note.length), fc.string({ unit: 'binary', maxLength: 20 }), (at, junk) => {
        const g = note.slice(0, at) + junk + note.slice(at);
        const r = typedOrValue(() =>
          openCheckpoint(g, {
            origin: 'example.com/log',
            verifiers: [log.verifier],
            witnesses: [witness.verifier],
            witnessQuorum: 1,
          }),
        );
        if (!(r instanceof SignLedgerError)) expect((r as { size: number }).size).toBe(9);
      }),
      { numRuns: 500 },
    );
  });
});
