/**
 * Strict DER check for an ECDSA signature `SEQUENCE { r INTEGER, s INTEGER }`.
 * OpenSSL already rejects non-canonical encodings, but checking the structure here means a
 * malformed signature from storage never reaches the library and costs no EC arithmetic.
 * `orderBytes` is the byte length of the curve order: r and s are in [1, n-1], so each INTEGER
 * holds at most orderBytes + 1 bytes (one leading 0x00 when the top bit is set).
 */
export function isStrictEcdsaDer(sig: Uint8Array, orderBytes: number): boolean {
  const n = sig.length;
  if (n < 8 || sig[0] !== 0x30) return false;
  let pos = 2;
  let bodyLength = sig[1]!;
  if (bodyLength === 0x81) {
    // long form is only allowed for lengths that do not fit the short form
    bodyLength = sig[2]!;
    if (bodyLength < 0x80) return false;
    pos = 3;
  } else if (bodyLength >= 0x80) {
    return false;
  }
  if (pos + bodyLength !== n) return false;
  for (let i = 0; i < 2; i++) {
    if (pos + 2 > n || sig[pos] !== 0x02) return false;
    const len = sig[pos + 1]!;
    pos += 2;
    if (len === 0 || len > orderBytes + 1 || pos + len > n) return false;
    const first = sig[pos]!;
    if (first >= 0x80) return false; // negative
    if (first === 0x00 && (len === 1 || sig[pos + 1]! < 0x80)) return false; // zero or non-minimal
    pos += len;
  }
  return pos === n;
}
