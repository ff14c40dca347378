import { describe, expect, it } from 'vitest';
import { isCanonical, parseJsonStrict } from '../../src/encoding/json.js';
import { ConfigurationError, ValidationError } from '../../src/errors.js';
import { expectValidationError } from './helpers.js';

describe('parseJsonStrict', () => {
  it('parses like JSON.parse', () => {
    const text = ' {"a": [1, -0.5e-3, 2E+2, true, false, null, "x\\u00e9\\n\\/"], "b": {}, "c": [] } ';
    expect(parseJsonStrict(text)).toStrictEqual(JSON.parse(text));
    expect(parseJsonStrict('"\\ud83d\\ude00"')).toBe('\u{1f600}');
    expect(Object.is(parseJsonStrict('-0'), -0)).toBe(true);
    expect(parseJsonStrict('\t\r\n 7 \n')).toBe(7);
  });

  it('rejects duplicate property names at any depth, with the path of the duplicate', () => {
    expectValidationError(
      () => parseJsonStrict('{"a":1,"a":2}'),
      'NOT_JSON',
      '/a',
      /duplicate property name "a"/,
    );
    expectValidationError(
      () => parseJsonStrict('{"x":[0,{"y":{"k":1,"z":2,"k":3}}]}'),
      'NOT_JSON',
      '/x/1/y/k',
      /duplicate/,
    );
    // Duplicates spelled differently are still duplicates.
    expectValidationError(() => parseJsonStrict('{"ab":1,"\\u0061b":2}'), 'NOT_JSON', '/ab', /duplicate/);
    expectValidationError(() => parseJsonStrict('{"__proto__":1,"__proto__":2}'), 'NOT_JSON', '/__proto__');
    // The same name in sibling objects is fine.
    expect(parseJsonStrict('[{"a":1},{"a":2}]')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('rejects lone-surrogate escapes in values and names, and raw lone surrogates', () => {
    expectValidationError(() => parseJsonStrict('"\\ud800"'), 'NOT_JSON', '', /lone surrogate/);
    expectValidationError(() => parseJsonStrict('["ok","\\udc00x"]'), 'NOT_JSON', '/1', /lone surrogate/);
    expectValidationError(
      () => parseJsonStrict('{"a":"\\ud83d\\u0041"}'),
      'NOT_JSON',
      '/a',
      /lone surrogate/,
    );
    expectValidationError(() => parseJsonStrict('{"\\ude00":1}'), 'NOT_JSON', '', /lone surrogate/);
    expectValidationError(() => parseJsonStrict('"\ud800"'), 'NOT_JSON', '', /lone surrogate/);
    // JSON.parse accepts all of these.
    expect(() => JSON.parse('"\\ud800"')).not.toThrow();
  });

  it('keeps "__proto__" as an own property and leaves the prototype alone', () => {
    const v = parseJsonStrict('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(v['polluted']).toBeUndefined();
    expect(v).toStrictEqual(JSON.parse('{"__proto__":{"polluted":true}}'));
  });

  it.each([
    '',
    '   ',
    '{',
    '[1,]',
    '{"a":1,}',
    '{a:1}',
    "{'a':1}",
    '01',
    '-',
    '1.',
    '.5',
    '+1',
    '1e',
    '1e+',
    'NaN',
    'Infinity',
    'tru',
    'nul',
    '"abc',
    '"a\nb"',
    '"\\x"',
    '"\\u12g4"',
    '[1 2]',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '1 2',
    '\ufeff1',
    '/* c */ 1',
    '[1]]',
  ])('rejects malformed text %j (as JSON.parse does)', (text) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const err = expectValidationError(() => parseJsonStrict(text), 'NOT_JSON', /^(\/.*)?$/);
    expect(typeof err.details['offset']).toBe('number');
  });

  it('reports the offset and path of a syntax error', () => {
    const err = expectValidationError(() => parseJsonStrict('{"a":[1,2,}'), 'NOT_JSON', '/a/2', /offset 10/);
    expect(err.details['offset']).toBe(10);
  });

  it('rejects numbers that overflow a double (JSON.parse would give Infinity)', () => {
    expectValidationError(() => parseJsonStrict('{"n":1e400}'), 'NOT_JSON', '/n', /too large/);
    expect(parseJsonStrict('1e-400')).toBe(0);
  });

  it('limits nesting depth with TOO_LARGE', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => parseJsonStrict(deep(1000))).not.toThrow();
    expectValidationError(
      () => parseJsonStrict(deep(1001)),
      'TOO_LARGE',
      '/0'.repeat(1000),
      /deeper than 1000/,
    );
    expectValidationError(() => parseJsonStrict('{"a":{"b":{}}}', { maxDepth: 2 }), 'TOO_LARGE', '/a/b');
    expect(() => parseJsonStrict('{"a":{"b":1}}', { maxDepth: 2 })).not.toThrow();
    expect(() => parseJsonStrict('[]', { maxDepth: 1001 })).toThrow(ConfigurationError);
  });

  it('refuses non-string input', () => {
    expect(() => parseJsonStrict(Buffer.from('1') as unknown as string)).toThrow(ValidationError);
  });
});

describe('isCanonical', () => {
  it.each([
    ['{"a":1,"b":[true,null,"x"]}', true],
    ['{"":0,"10":1,"2":2}', true],
    ['"\\u001f"', true],
    ['1e+21', true],
    ['{"b":1,"a":2}', false],
    ['{"a": 1}', false],
    [' 1', false],
    ['1.0', false],
    ['1E+21', false],
    ['-0', false],
    ['"\\u001F"', false],
    ['"\\/"', false],
    ['"\\u00e9"', false],
    ['{"a":1,"a":1}', false],
    ['"\\ud800"', false],
    ['nope', false],
  ])('%s → %s', (text, want) => {
    expect(isCanonical(text)).toBe(want);
  });
});
