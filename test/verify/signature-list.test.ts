import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/encoding/canonical.js';
import { parseSignatureList } from '../../src/verify/signature-list.js';

const record = fc.record({ algorithm: fc.string(), keyId: fc.string(), value: fc.string() });

describe('parseSignatureList', () => {
  it('accepts exactly the JCS text of a non-empty list of records', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 4 }), (records) => {
        expect(parseSignatureList(canonicalize(records))).toEqual(records);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses any other text for the same records, with a reason', () => {
    const rec = { algorithm: 'ed25519', keyId: 'ab'.repeat(16), value: 'c2ln' };
    const jcs = canonicalize([rec]);
    for (const bad of [
      `[ ${jcs.slice(1)}`, // whitespace
      JSON.stringify([{ keyId: rec.keyId, algorithm: rec.algorithm, value: rec.value }]), // member order
      jcs.replace('"value"', '"value":"x","value"'), // duplicate member, JSON.parse keeps the last
      jcs.replace('"keyId"', '"extra":1,"keyId"'), // a fourth member
      jcs.replace('c2ln', '\\u00632ln'), // needless escape
      '[]',
      '[null]',
      '{}',
      'not json',
      '[{"algorithm":"ed25519","keyId":1,"value":"x"}]',
    ]) {
      const r = parseSignatureList(bad);
      expect(typeof r, bad).toBe('string');
    }
    expect(parseSignatureList(jcs)).toEqual([rec]);
  });
});
