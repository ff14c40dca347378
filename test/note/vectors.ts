// Loads the C2SP vectors (test/fixtures/vectors).
import { readFileSync } from 'node:fs';
import { VECTORS_DIR } from '../fixtures/vectors-dir.js';

const DIR = VECTORS_DIR;

export interface KeyVector {
  name: string;
  vkey: string;
  skey?: string;
}
export interface SigRef {
  name: string;
  keyId: string;
  b64?: string;
}
export interface NoteVector {
  id: string;
  desc: string;
  note: { b64: string; text?: string };
  vkeys: string[];
  expect: 'ok' | 'error';
  error?: string;
  text?: string;
  verified?: SigRef[];
  unverified?: SigRef[];
}
export interface SignedNoteVectors {
  keys: KeyVector[];
  vkeyParse: { vkey: string; valid: boolean; desc: string }[];
  notes: NoteVector[];
  sign: { desc: string; skeys: string[]; text: string; existing: string[]; want: string }[];
  syntax: { desc: string; note: { b64: string; text: string }; syntaxValid: boolean }[];
}
export interface ExpectedCheckpoint {
  origin: string;
  size: string;
  rootHash: string;
  extensions: string[];
  rootHashIsLeafHashOfHex?: string;
}
export interface CheckpointVectors {
  parse: {
    desc: string;
    kind: 'parse' | 'marshal';
    body: string;
    valid: boolean;
    validSha256: boolean;
    expected?: ExpectedCheckpoint;
    expectedOrigin?: string;
    validWithExpectedOrigin?: boolean;
  }[];
  signed: {
    desc: string;
    note: string;
    vkeys: string[];
    origin: string;
    expect: 'ok' | 'error';
    expected?: ExpectedCheckpoint;
    error?: string;
  }[];
}

function load<T>(file: string): T {
  return JSON.parse(readFileSync(`${DIR}/${file}`, 'utf8')) as T;
}

export const signedNoteVectors: SignedNoteVectors = load('signed-note.json');
export const checkpointVectors: CheckpointVectors = load('tlog-checkpoint.json');
