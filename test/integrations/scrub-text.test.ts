/** Free-text scrubbing (text bodies, job data, error messages): whole credentials, any quoting. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorSummary } from '../../src/integrations/shared/request-audit.js';
import { REDACTED, SecretPolicy } from '../../src/integrations/shared/secrets.js';

const p = new SecretPolicy();
const R = REDACTED;

describe('scrubText: the audit findings', () => {
  it.each([
    ['Authorization: Basic dXNlcjpwYXNz', `Authorization: Basic ${R}`],
    ['Authorization: Token tok_ABCDEFG', `Authorization: Token ${R}`],
    ['Authorization: Bearer abcdefghijk', `Authorization: Bearer ${R}`],
    ['authorization:abc123', `authorization:${R}`],
    ['Proxy-Authorization: Basic QWxhZGRpbjpvcGVu', `Proxy-Authorization: Basic ${R}`],
    [
      'Authorization: Digest username="u", realm="r", response="DIG1"\nnext line',
      `Authorization: Digest ${R}\nnext line`,
    ],
    ['header was Bearer abcdefghijk, rejected', `header was Bearer ${R}, rejected`],
    ["password='x y'", `password=${R}`],
    ['password = x', `password = ${R}`],
    ['Password:SP3', `Password:${R}`],
    ['token:"SP4 x"', `token:${R}`],
    ["{'password': 'SQ1'}", `{'password': ${R}}`],
    ['{"pin": 1234}', `{"pin": "${R}"}`],
    ['{"cvv":987}', `{"cvv":"${R}"}`],
    ['{"api_key":["ARR1"]}', `{"api_key":"${R}"}`],
    ['{"token":12345678,"n":1}', `{"token":"${R}","n":1}`],
    ['{"card":{"number":"4111111111111111"}}', `{"card":"${R}"}`],
    ['card=4111111111111111&x=1', `card=${R}&x=1`],
    // Kept: no secret.
    ['{"password":null,"pin_length":4,"count":2}', '{"password":null,"pin_length":4,"count":2}'],
    ['Basic authentication failed', 'Basic authentication failed'],
    ['a=b, total: 10, at 12:30', 'a=b, total: 10, at 12:30'],
    ['Cookie: sid=CK1; theme=dark', `Cookie: ${R}; theme=dark`],
  ])('%j', (input, expected) => {
    expect(p.scrubText(input)).toBe(expected);
  });

  it('card names: card, creditCard, cc_number, pan are secrets; bare cc (e-mail) and card_type are not', () => {
    for (const n of ['card', 'creditCard', 'credit_card', 'cc_number', 'ccNum', 'pan', 'card_cvv', 'PAN']) {
      expect(p.isDenied(n), n).toBe(true);
    }
    for (const n of ['cc', 'bcc', 'card_type', 'cardholder_name', 'span', 'company', 'japan']) {
      expect(p.isDenied(n), n).toBe(false);
    }
    expect(p.value({ creditCard: '4111', cc: ['a@example.com'] })).toEqual({
      creditCard: R,
      cc: ['a@example.com'],
    });
  });

  it('error messages and job data get the same scrubbing', () => {
    expect(errorSummary(new Error('upstream said Authorization: Basic dXNlcjpwYXNz'))).toEqual({
      name: 'Error',
      message: `upstream said Authorization: Basic ${R}`,
    });
    expect(p.value({ note: "login password='two words' failed" })).toEqual({
      note: `login password=${R} failed`,
    });
  });
});

// A secret of letters and digits (no separator: the scrubber must not depend on how it looks).
const secret = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{5,20}$/).map((s) => `Q${s}`);
const name = fc.constantFrom(
  'password',
  'Password',
  'api_key',
  'token',
  'client_secret',
  'pin',
  'cvv',
  'passwd',
);

describe('scrubText: properties', () => {
  const templates: [string, (n: string, s: string) => string][] = [
    ['n=s', (n, s) => `x=1&${n}=${s}&y=2`],
    ['n = s', (n, s) => `${n} = ${s}`],
    ["n='s s'", (n, s) => `${n}='${s} ${s}'`],
    ['n="s s"', (n, s) => `${n}="${s} ${s}"`],
    ['n:s', (n, s) => `${n}:${s}`],
    ['n: s', (n, s) => `failed: ${n}: ${s}, retry`],
    ['JSON string', (n, s) => JSON.stringify({ a: 1, [n]: s })],
    ['JSON array', (n, s) => JSON.stringify({ [n]: [s, s] })],
    ['JSON number', (n, s) => `{"${n}": 9${s.replace(/\D/g, '')}7}`],
    ["{'n': 's'}", (n, s) => `{'${n}': '${s}'}`],
  ];
  it.each(templates)('%s never keeps the value', (_label, make) => {
    fc.assert(
      fc.property(name, secret, (n, s) => {
        const input = make(n, s);
        const secretPart = input.includes('9') && !input.includes(s) ? `9${s.replace(/\D/g, '')}7` : s;
        expect(p.scrubText(input)).not.toContain(secretPart);
      }),
      { numRuns: 200 },
    );
  });

  it('Authorization headers keep the scheme and lose the whole credential', () => {
    const scheme = fc.constantFrom('Basic', 'Bearer', 'Token', 'Digest', 'ApiKey', 'AWS4-HMAC-SHA256');
    fc.assert(
      fc.property(scheme, secret, secret, (sc, a, b) => {
        const out = p.scrubText(`Authorization: ${sc} ${a}, x=${b}`);
        expect(out).toBe(`Authorization: ${sc} ${R}`);
      }),
      { numRuns: 300 },
    );
  });

  it('Bearer tokens anywhere lose the token, whatever its characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z]{8,40}$/), (tok) => {
        expect(p.scrubText(`sent Bearer ${tok} to api`)).toBe(`sent Bearer ${R} to api`);
      }),
    );
  });
});
