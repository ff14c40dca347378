/**
 * Character rules shared by notes, key names and checkpoint lines. A JS string is valid
 * UTF-8 exactly when it has no lone surrogate, so one scan checks both rules.
 */

/** True if `s` holds a C0 control (U+0000-U+001F, except "\n" when allowed) or a lone surrogate. */
export function hasForbiddenChar(s: string, allowNewline: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (c === 0x0a && allowNewline) continue;
      return true;
    }
    if (c < 0xd800 || c > 0xdfff) continue;
    // High surrogate must be followed by a low one; a low one may not stand alone.
    if (c > 0xdbff) return true;
    const next = s.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
    i++;
  }
  return false;
}
