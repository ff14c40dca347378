import { describe, expect, it } from 'vitest';
import { NoteError } from '../../src/errors.js';
import {
  MAX_SIGNATURES,
  type NoteSignature,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from '../../src/note/index.js';
import { type SigRef, signedNoteVectors as V } from './vectors.js';

function refOf(s: NoteSignature): SigRef {
  return { name: s.name, keyId: s.keyId.toString(16).padStart(8, '0') };
}

function expectRefs(actual: NoteSignature[], want: SigRef[]): void {
  expect(actual.map(refOf)).toEqual(want.map((w) => ({ name: w.name, keyId: w.keyId })));
  want.forEach((w, i) => {
    if (w.b64 !== undefined) expect(actual[i]!.line.endsWith(` ${w.b64}`)).toBe(true);
  });
}

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NoteError);
    return (e as NoteError).reason;
  }
  return 'no error';
}

const PETER_SKEY = V.keys.find((k) => k.name === 'PeterNeumann')!.skey!;
const PETER_VKEY = V.keys.find((k) => k.name === 'PeterNeumann')!.vkey;
const TEXT = V.sign[0]!.text;

describe('notes vectors', () => {
  for (const c of V.notes) {
    const bytes = Buffer.from(c.note.b64, 'base64');
    const verifiers = c.vkeys.map(parseVerifierKey);
    it(`${c.id}: ${c.desc} (bytes)`, () => {
      if (c.expect === 'ok') {
        const r = openNote(bytes, verifiers);
        expect(r.text).toBe(c.text);
        expectRefs(r.verified, c.verified!);
        expectRefs(r.unverified, c.unverified!);
      } else {
        expect(reasonOf(() => openNote(bytes, verifiers))).toBe(c.error);
      }
    });
    if (c.note.text !== undefined) {
      it(`${c.id}: same verdict for the string form`, () => {
        expect(Buffer.from(c.note.text!, 'utf8').equals(bytes)).toBe(true);
        if (c.expect === 'ok') expect(openNote(c.note.text!, verifiers).text).toBe(c.text);
        else expect(reasonOf(() => openNote(c.note.text!, verifiers))).toBe(c.error);
      });
    }
  }

  it('no_verified_signature lists the unknown lines in its details', () => {
    const c = V.notes.find((n) => n.id === 'peter-enoch-know-none')!;
    try {
      openNote(Buffer.from(c.note.b64, 'base64'), []);
      expect.unreachable();
    } catch (e) {
      expect((e as NoteError).code).toBe('NOTE_UNVERIFIED');
      expect((e as NoteError).details['unverified']).toEqual(['PeterNeumann+c74f20a3', 'EnochRoot+af0cfe78']);
    }
  });
});

describe('sign vectors', () => {
  it.each(V.sign)('$desc (byte-exact)', (c) => {
    const signers = c.skeys.map(parseSignerKey);
    expect(signNote(c.text, signers, c.existing)).toBe(c.want);
  });

  it('re-signing replaces the signer’s own earlier line and keeps the others', () => {
    const [peterOnly, both] = [V.sign[0]!.want, V.sign[1]!.want];
    const existing = parseNote(both).signatures.map((s) => s.line);
    expect(signNote(TEXT, [parseSignerKey(PETER_SKEY)], existing)).toBe(
      // Peter's line moves after Enoch's: existing lines first, new signatures last.
      `${TEXT}\n${existing[1]}\n${existing[0]}\n`,
    );
    expect(peterOnly.startsWith(TEXT)).toBe(true);
  });

  it('rejects texts that cannot be note texts', () => {
    const s = [parseSignerKey(PETER_SKEY)];
    expect(reasonOf(() => signNote('no newline', s))).toBe('malformed');
    expect(reasonOf(() => signNote('', s))).toBe('malformed');
    expect(reasonOf(() => signNote('tab\there\n', s))).toBe('malformed');
    expect(reasonOf(() => signNote('cr\r\n', s))).toBe('malformed');
    expect(reasonOf(() => signNote('lone \ud800\n', s))).toBe('malformed');
    expect(reasonOf(() => signNote(TEXT, []))).toBe('malformed');
    expect(reasonOf(() => signNote(TEXT, s, ['- PeterNeumann abcd']))).toBe('malformed');
  });

  it('texts with empty lines and a trailing empty line round-trip', () => {
    const signer = parseSignerKey(PETER_SKEY);
    const v = parseVerifierKey(PETER_VKEY);
    for (const text of ['a\n\nb\n', 'a\n\n', '\n', 'x\n\n\n\ny\n', 'Señor 😀\n']) {
      expect(openNote(signNote(text, [signer]), [v]).text).toBe(text);
    }
  });
});

describe('syntax vectors', () => {
  it.each(V.syntax)('$desc -> syntaxValid=$syntaxValid', (c) => {
    const bytes = Buffer.from(c.note.b64, 'base64');
    if (c.syntaxValid) {
      const p = parseNote(bytes);
      expect(p.signatures.length).toBeGreaterThan(0);
      // No key is known: a syntactically valid note still fails verification.
      expect(reasonOf(() => openNote(bytes, []))).toBe('no_verified_signature');
    } else {
      expect(reasonOf(() => parseNote(bytes))).toBe('malformed');
      expect(reasonOf(() => openNote(c.note.text, []))).toBe('malformed');
    }
  });
});

describe('structure and limits', () => {
  const signer = parseSignerKey(PETER_SKEY);
  const verifier = parseVerifierKey(PETER_VKEY);
  const good = signNote(TEXT, [signer]);
  const line = good.slice(TEXT.length + 1, -1);

  it('accepts exactly 100 signature lines and rejects 101', () => {
    const lines = (n: number) => `${TEXT}\n${`${line}\n`.repeat(n)}`;
    expect(openNote(lines(MAX_SIGNATURES), [verifier]).verified).toHaveLength(1);
    expect(reasonOf(() => openNote(lines(MAX_SIGNATURES + 1), [verifier]))).toBe('malformed');
    expect(reasonOf(() => parseNote(lines(17), { maxSignatures: 16 }))).toBe('malformed');
    expect(parseNote(lines(16), { maxSignatures: 16 }).signatures).toHaveLength(16);
  });

  it('verifies every line of a known key, not only the first', () => {
    const bad = line.replace(/[A-Za-z](?==$)/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(bad).not.toBe(line);
    expect(reasonOf(() => openNote(`${TEXT}\n${line}\n${bad}\n`, [verifier]))).toBe('invalid_signature');
  });

  it.each([
    ['hyphen instead of em dash', (s: string) => s.replace('\u2014 ', '- ')],
    ['en dash instead of em dash', (s: string) => s.replace('\u2014 ', '\u2013 ')],
    ['missing space after the dash', (s: string) => s.replace('\u2014 ', '\u2014')],
    ['two spaces after the dash', (s: string) => s.replace('\u2014 ', '\u2014  ')],
    ['two spaces before the signature', (s: string) => s.replace('PeterNeumann ', 'PeterNeumann  ')],
    ['CRLF line ends', (s: string) => s.replaceAll('\n', '\r\n')],
    ['trailing space on the signature line', (s: string) => s.replace(/\n$/, ' \n')],
    ['signature without padding', (s: string) => s.replace('=\n', '\n')],
    ['non-canonical base64 (pad bits)', (s: string) => s.replace('AM=\n', 'AN=\n')],
    ['a tab in the text', (s: string) => s.replace(' ', '\t')],
    ['a NUL in the text', (s: string) => s.replace(' ', '\u0000')],
    ['a lone surrogate', (s: string) => s.replace(' ', '\udc00')],
    ['a "+" in the key name', (s: string) => s.replace('PeterNeumann', 'Peter+Neumann')],
    ['an empty key name', (s: string) => s.replace('PeterNeumann', '')],
    ['an extra line after the signatures', (s: string) => `${s}trailer\n`],
    ['no final newline', (s: string) => s.slice(0, -1)],
  ])('%s is malformed', (_desc, mutate) => {
    const mutated = mutate(good);
    expect(mutated).not.toBe(good);
    expect(reasonOf(() => openNote(mutated, [verifier]))).toBe('malformed');
  });

  it('rejects invalid UTF-8 bytes anywhere, including overlong encodings', () => {
    const bytes = Buffer.from(good, 'utf8');
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x80]]) {
      const b = Buffer.concat([bytes.subarray(0, 5), Buffer.from(bad), bytes.subarray(5)]);
      expect(reasonOf(() => openNote(b, [verifier]))).toBe('malformed');
    }
  });

  it('keeps a byte-order mark as text rather than stripping it', () => {
    const text = '\ufeffbom\n';
    const note = Buffer.from(signNote(text, [signer]), 'utf8');
    expect(openNote(note, [verifier]).text).toBe(text);
  });

  it('does not verify a known key against a signature of the wrong length', () => {
    const note = signNote(TEXT, [signer]);
    const p = parseNote(note);
    const sig = Buffer.concat([
      Buffer.from([0xc7, 0x4f, 0x20, 0xa3]),
      p.signatures[0]!.signature,
      Buffer.from([0]),
    ]);
    const forged = `${TEXT}\n\u2014 PeterNeumann ${sig.toString('base64')}\n`;
    expect(reasonOf(() => openNote(forged, [verifier]))).toBe('invalid_signature');
  });

  it('turns a throwing custom verifier into invalid_signature', () => {
    const throwing = {
      ...verifier,
      verify: () => {
        throw new Error('boom');
      },
    };
    expect(reasonOf(() => openNote(good, [throwing]))).toBe('invalid_signature');
  });
});
