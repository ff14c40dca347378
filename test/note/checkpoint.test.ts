import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigurationError, NoteError } from '../../src/errors.js';
import {
  type Checkpoint,
  formatCheckpointBody,
  generateNoteKey,
  openCheckpoint,
  openNote,
  parseCheckpointBody,
  parseVerifierKey,
  signCheckpoint,
} from '../../src/note/index.js';
import { checkpointVectors as V } from './vectors.js';

const ROOT = createHash('sha256').update('root').digest();

describe('parse vectors', () => {
  for (const c of V.parse) {
    it(`${c.kind}: ${c.desc} -> valid=${c.valid} validSha256=${c.validSha256}`, () => {
      const check = (requireSha256: boolean, verdict: boolean) => {
        if (!verdict) {
          expect(() => parseCheckpointBody(c.body, { requireSha256 })).toThrow(CheckpointError);
          return;
        }
        const cp = parseCheckpointBody(c.body, { requireSha256 });
        const e = c.expected!;
        expect(cp.origin).toBe(e.origin);
        expect(cp.sizeText).toBe(e.size);
        expect(cp.size).toBe(Number(e.size));
        expect(cp.rootHash.toString('base64')).toBe(e.rootHash);
        expect(cp.extensions).toEqual(e.extensions);
        if (e.rootHashIsLeafHashOfHex !== undefined) {
          const leaf = createHash('sha256')
            .update(Buffer.from([0]))
            .update(Buffer.from(e.rootHashIsLeafHashOfHex, 'hex'))
            .digest();
          expect(cp.rootHash.equals(leaf)).toBe(true);
        }
      };
      check(true, c.validSha256);
      check(false, c.valid);
      // requireSha256 is the default
      if (c.validSha256) expect(parseCheckpointBody(c.body).origin).toBe(c.expected!.origin);
      else expect(() => parseCheckpointBody(c.body)).toThrow(CheckpointError);
      if (c.expectedOrigin !== undefined) {
        const opts = { origin: c.expectedOrigin, requireSha256: false };
        if (c.validWithExpectedOrigin)
          expect(parseCheckpointBody(c.body, opts).origin).toBe(c.expectedOrigin);
        else expect(() => parseCheckpointBody(c.body, opts)).toThrow(CheckpointError);
      }
    });
  }

  it.each(V.parse.filter((c) => c.kind === 'marshal'))('marshal: $desc (byte-exact)', (c) => {
    const e = c.expected!;
    const cp: Checkpoint = {
      origin: e.origin,
      size: Number(e.size),
      rootHash: Buffer.from(e.rootHash, 'base64'),
      extensions: e.extensions,
    };
    expect(formatCheckpointBody(cp)).toBe(c.body);
  });

  it('every valid parse record re-marshals to its body', () => {
    for (const c of V.parse.filter((p) => p.valid)) {
      expect(formatCheckpointBody(parseCheckpointBody(c.body, { requireSha256: false }))).toBe(c.body);
    }
  });
});

describe('strict body rules', () => {
  const root = ROOT.toString('base64');
  it.each([
    ['leading zero in size', `o\n01\n${root}\n`],
    ['plus sign in size', `o\n+1\n${root}\n`],
    ['size with spaces', `o\n 1\n${root}\n`],
    ['2^64', `o\n18446744073709551616\n${root}\n`],
    ['root without padding', `o\n1\n${root.slice(0, -1)}\n`],
    ['empty root', 'o\n1\n\n'],
    ['31-byte root', `o\n1\n${ROOT.subarray(1).toString('base64')}\n`],
    ['CR in origin', `o\r\n1\n${root}\n`],
    ['empty extension between others', `o\n1\n${root}\na\n\nb\n`],
    ['no final newline', `o\n1\n${root}`],
  ])('%s is rejected', (_d, body) => {
    expect(() => parseCheckpointBody(body)).toThrow(CheckpointError);
  });

  it('accepts size 0 and the uint64 maximum only with allowBigSize', () => {
    expect(parseCheckpointBody(`o\n0\n${root}\n`).size).toBe(0);
    expect(parseCheckpointBody(`o\n9007199254740991\n${root}\n`).size).toBe(2 ** 53 - 1);
    const big = `o\n18446744073709551615\n${root}\n`;
    expect(() => parseCheckpointBody(big)).toThrow(/2\^53-1/);
    const cp = parseCheckpointBody(big, { allowBigSize: true });
    expect(cp.sizeText).toBe('18446744073709551615');
    expect(cp.size).toBeNaN();
    expect(() => parseCheckpointBody(`o\n9007199254740992\n${root}\n`)).toThrow(CheckpointError);
  });

  it('formatCheckpointBody refuses what could not be parsed back', () => {
    const ok: Checkpoint = { origin: 'o', size: 1, rootHash: ROOT, extensions: [] };
    expect(() => formatCheckpointBody({ ...ok, origin: '' })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, origin: 'a\nb' })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, size: -1 })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, size: 1.5 })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, size: 2 ** 53 })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, rootHash: Buffer.alloc(0) })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, extensions: [''] })).toThrow(CheckpointError);
    expect(() => formatCheckpointBody({ ...ok, extensions: ['a\nb'] })).toThrow(CheckpointError);
  });
});

describe('signed vectors', () => {
  it.each(V.signed)('$desc -> $expect', (c) => {
    const opts = { origin: c.origin, verifiers: c.vkeys.map(parseVerifierKey) };
    if (c.vkeys.length === 0) {
      // openCheckpoint insists on a log key; the note layer gives the verdict.
      expect(() => openCheckpoint(c.note, opts)).toThrow(ConfigurationError);
      expect(() => openNote(c.note, [])).toThrow(expect.objectContaining({ reason: c.error }));
      return;
    }
    if (c.expect === 'ok') {
      const cp = openCheckpoint(c.note, opts);
      expect(cp.origin).toBe(c.expected!.origin);
      expect(String(cp.size)).toBe(c.expected!.size);
      expect(cp.rootHash.toString('base64')).toBe(c.expected!.rootHash);
      expect(cp.extensions).toEqual(c.expected!.extensions);
      expect(cp.note).toBe(c.note);
      expect(cp.text).toBe(c.note.slice(0, c.note.lastIndexOf('\n\n') + 1));
      expect(cp.cosigners).toEqual([]);
    } else {
      try {
        openCheckpoint(c.note, opts);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(NoteError);
        expect((e as NoteError).reason).toBe(c.error);
      }
    }
  });
});

describe('sign and open', () => {
  const log = generateNoteKey('example.com/log');
  const cp: Checkpoint = { origin: 'example.com/log', size: 12345, rootHash: ROOT, extensions: ['ext'] };

  it('round-trips', () => {
    const note = signCheckpoint(cp, log.signer);
    const opened = openCheckpoint(note, { origin: cp.origin, verifiers: [log.verifier] });
    expect(opened.size).toBe(12345);
    expect(opened.rootHash.equals(ROOT)).toBe(true);
    expect(opened.extensions).toEqual(['ext']);
    expect(opened.text).toBe(formatCheckpointBody(cp));
    expect(openCheckpoint(Buffer.from(note), { origin: cp.origin, verifiers: [log.verifier] }).note).toBe(
      note,
    );
  });

  it('supports key rotation: two log keys sign, either one verifies', () => {
    const next = generateNoteKey('example.com/log');
    const note = signCheckpoint(cp, [log.signer, next.signer]);
    expect(openCheckpoint(note, { origin: cp.origin, verifiers: [next.verifier] }).verified).toHaveLength(1);
    expect(openCheckpoint(note, { origin: cp.origin, verifiers: [log.verifier] }).unverified).toHaveLength(1);
  });

  it('rejects a wrong origin, a foreign key and a non-SHA-256 root', () => {
    const note = signCheckpoint(cp, log.signer);
    const other = generateNoteKey('example.com/log');
    expect(() => openCheckpoint(note, { origin: 'example.com/other', verifiers: [log.verifier] })).toThrow(
      expect.objectContaining({ reason: 'origin_mismatch' }),
    );
    expect(() => openCheckpoint(note, { origin: cp.origin, verifiers: [other.verifier] })).toThrow(
      expect.objectContaining({ reason: 'no_verified_signature' }),
    );
    expect(() => signCheckpoint({ ...cp, rootHash: Buffer.from('bananas') }, log.signer)).toThrow(
      CheckpointError,
    );
  });

  it('a note whose text is not a checkpoint is a CheckpointError after verification', async () => {
    const { signNote } = await import('../../src/note/index.js');
    const note = signNote('just text\n', [log.signer]);
    expect(() => openCheckpoint(note, { origin: 'just text', verifiers: [log.verifier] })).toThrow(
      CheckpointError,
    );
  });

  it('a tampered size or root fails the signature', () => {
    const note = signCheckpoint(cp, log.signer);
    for (const t of [
      note.replace('12345', '12346'),
      note.replace('example.com/log\n', 'example.com/loh\n'),
    ]) {
      expect(() => openCheckpoint(t, { origin: cp.origin, verifiers: [log.verifier] })).toThrow(NoteError);
    }
  });
});
