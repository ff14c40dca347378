import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { VECTORS_DIR } from '../fixtures/vectors-dir.js';

const JCS_DIR = join(VECTORS_DIR, 'jcs');

export interface CanonicalizationVectors {
  cases: { name: string; input: string; expected: string; expectedHex: string }[];
  sorting: { input: string; expectedValueOrder: string[] };
}
export interface NumberVectors {
  numbers: { ieee: string; expected: string | null; comment: string }[];
}
export interface Es6NumberVectors {
  lines: [string, string][];
  sha256: { first1000Lines: string; first10000Lines: string; first100000Lines: string };
  generator: { staticU64Hex: string[]; serialBaseHex: string; serialCount: number };
}

export function loadJcs<T>(file: string): T {
  return JSON.parse(readFileSync(`${JCS_DIR}/${file}`, 'utf8')) as T;
}

/** IEEE-754 bits (big-endian hex, leading zeros optional) to the double they encode. */
export function doubleFromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

/** Run `fn` and assert it throws a ValidationError with this code and path; returns the error. */
export function expectValidationError(
  fn: () => unknown,
  code: 'NOT_JSON' | 'TOO_LARGE',
  path: string | RegExp,
  message?: RegExp,
): ValidationError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const err = caught as ValidationError;
  expect(err.code).toBe(code);
  if (typeof path === 'string') expect(err.path).toBe(path);
  else expect(err.path).toMatch(path);
  if (message) expect(err.message).toMatch(message);
  return err;
}
