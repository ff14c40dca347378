/** The deny-list: names that must and must not be redacted, pairs, form strings, URLs, error messages. */
import { describe, expect, it } from 'vitest';
import { errorSummary } from '../../src/integrations/shared/request-audit.js';
import { nameTokens, REDACTED, SecretPolicy } from '../../src/integrations/shared/secrets.js';

const p = new SecretPolicy();

describe('secret names', () => {
  it('splits names into tokens at camelCase, snake, kebab, dots and digits', () => {
    expect(nameTokens('customerSSN')).toEqual(['customer', 'ssn']);
    expect(nameTokens('X-API-Key')).toEqual(['x', 'api', 'key']);
    expect(nameTokens('ssn_last4')).toEqual(['ssn', 'last', '4']);
    expect(nameTokens('connect.sid')).toEqual(['connect', 'sid']);
    expect(nameTokens('APIKey')).toEqual(['api', 'key']);
    expect(nameTokens('accessKeyId')).toEqual(['access', 'key', 'id']);
  });

  // Every name here must be redacted.
  const DENIED = [
    // fragments
    'Authorization',
    'proxy-authorization',
    'Set-Cookie',
    'X-API-KEY',
    'api_key',
    'apiKey',
    'x-goog-api-key',
    'refresh_token',
    'x-auth-token',
    'x-csrf-token',
    'client_secret',
    'aws_secret_access_key',
    'accessKeyId',
    'aws_access_key_id',
    'privateKey',
    'private_key_pem',
    'new-password',
    'passphrase',
    'passcode',
    'x-hub-signature-256',
    'sessionId',
    'PHPSESSID',
    'bearer',
    'bearerToken',
    'cardNumber',
    // tokens
    'cvv',
    'card_cvv',
    'cvv2',
    'cvc',
    'SSN',
    'customerSSN',
    'ssn_last4',
    'pin',
    'new_pin',
    'pinCode',
    'otp',
    'otp_code',
    'totp',
    'pwd',
    'user_pw',
    'pass',
    'jwt',
    'id_jwt',
    'auth',
    'x-auth',
    'basic_auth',
    'key',
    'secret_key',
    'signingKey',
    'encryption_key',
    'sid',
    'connect.sid',
    // authentication codes
    'code',
    'auth_code',
    'authCode',
    'verificationCode',
    'mfa_code',
    '2fa-code',
    'reset_code',
    'security_code',
    'device_code',
  ];
  // None of these may be redacted.
  const ALLOWED = [
    'user',
    'amount',
    'className',
    'address',
    'business',
    'content-type',
    'user-agent',
    'referer',
    'origin',
    'pinned',
    'spinner',
    'from',
    'monkey',
    'keyboard',
    'hotkey',
    'keys',
    'keyId',
    'key_id',
    'keyName',
    'publicKey',
    'public_key_pem',
    'sortKey',
    'partitionKey',
    'idempotency-key',
    'author',
    'authorName',
    'authority',
    'auth_type',
    'authMethod',
    'pin_length',
    'passport',
    'compass',
    'bypass',
    'sidebar',
    'countryCode',
    'currency_code',
    'statusCode',
    'errorCode',
    'orderCode',
    'zip_code',
    'postalCode',
    'promoCode',
    'description',
  ];

  it.each(DENIED)('redacts %s', (name) => {
    expect(p.isDenied(name)).toBe(true);
  });
  it.each(ALLOWED)('records %s', (name) => {
    expect(p.isDenied(name)).toBe(false);
  });

  it('still takes caller additions as substrings', () => {
    const q = new SecretPolicy(['dob']);
    expect(q.isDenied('customer_dob')).toBe(true);
    expect(q.isDenied('DOB')).toBe(true);
  });
});

describe('secret values', () => {
  it('redacts the value of { name|key|field: <secret>, value } pairs and [name, value] tuples', () => {
    const v = p.value({
      fields: [
        { name: 'password', value: 'hunter2' },
        { name: 'email', value: 'a@example.com' },
        { key: 'api_key', value: 'ak_1' },
        { key: 'color', value: 'red' },
        { field: 'otp', values: ['123456'] },
      ],
      headers: [
        ['Authorization', 'Bearer abc'],
        ['Accept', 'text/html'],
      ],
    });
    expect(v).toEqual({
      fields: [
        { name: 'password', value: REDACTED },
        { name: 'email', value: 'a@example.com' },
        { key: 'api_key', value: REDACTED },
        { key: 'color', value: 'red' },
        { field: 'otp', values: REDACTED },
      ],
      headers: [
        ['Authorization', REDACTED],
        ['Accept', 'text/html'],
      ],
    });
  });

  it('scrubs form-encoded strings and URLs inside values', () => {
    expect(p.value('password=hunter2&user=alice&x=1')).toBe(`password=${REDACTED}&user=alice&x=1`);
    expect(p.value({ raw: 'user%5Bpassword%5D=hunter2&user%5Bname%5D=a' })).toEqual({
      raw: `user%5Bpassword%5D=${REDACTED}&user%5Bname%5D=a`,
    });
    expect(p.value({ next: 'https://app.example/cb?code=XYZ&state=abc#access_token=t0k' })).toEqual({
      next: `https://app.example/cb?code=${REDACTED}&state=abc#access_token=${REDACTED}`,
    });
    expect(p.value({ dsn: 'postgres://app:s3cret@db:5432/x' })).toEqual({
      dsn: `postgres://app:${REDACTED}@db:5432/x`,
    });
    expect(p.value({ note: 'a=b, total: 10' })).toEqual({ note: 'a=b, total: 10' });
  });

  it('scrubs query strings of URL headers (referer, origin, location) and keeps the rest', () => {
    const h = p.headers(
      {
        referer: 'https://app.example/cb?access_token=SECRET1&code=XYZ&page=2',
        location: 'https://app.example/next?sid=SECRET2',
        origin: 'https://app.example',
        'user-agent': 'curl/8.5.0',
      },
      ['referer', 'location', 'origin', 'user-agent'],
    );
    expect(h).toEqual({
      referer: `https://app.example/cb?access_token=${REDACTED}&code=${REDACTED}&page=2`,
      location: `https://app.example/next?sid=${REDACTED}`,
      origin: 'https://app.example',
      'user-agent': 'curl/8.5.0',
    });
  });

  it('scrubs long adversarial strings in linear time', () => {
    const n = 64 * 1024;
    for (const text of [
      `x://${'a'.repeat(n)}:`,
      `bearer ${'a'.repeat(n)}`,
      `${'a'.repeat(n)}:`,
      'a='.repeat(n / 2),
      '"a":"'.repeat(n / 5),
      'password: '.repeat(n / 10),
    ]) {
      const t0 = performance.now();
      p.scrubText(text);
      expect(performance.now() - t0, text.slice(0, 12)).toBeLessThan(250);
    }
  });

  it('scrubs error messages, or records the name only', () => {
    const err = new Error(
      'login failed for postgres://u:pw1@h/db?password=pw2 (token=t0k, Bearer abc.def.ghi); invalid pin: 4321',
    );
    const s = errorSummary(err, p);
    expect(s.name).toBe('Error');
    for (const secret of ['pw1', 'pw2', 't0k', 'abc.def.ghi', '4321'])
      expect(s.message).not.toContain(secret);
    expect(s.message).toContain('login failed');
    expect(errorSummary(err, p, false)).toEqual({ name: 'Error' });
    expect(errorSummary('plain', p)).toEqual({ name: 'Error', message: 'plain' });
  });
});
