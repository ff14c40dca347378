/**
 * `new Date(ms).toISOString()` without a Date per call: appends made within the same second share
 * the "YYYY-MM-DDTHH:MM:SS." prefix, so only the milliseconds are formatted. toISOString was the
 * single largest cost of preparing an entry (profiled: more than the canonical walk).
 */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

let lastMs = Number.NaN;
let lastText = '';

export function isoTimestamp(ms: number): string {
  // Entries written together often share a millisecond: the same text again.
  if (ms === lastMs) return lastText;
  if (!Number.isInteger(ms)) return new Date(ms).toISOString(); // throws RangeError when invalid
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(ms).toISOString();
    // Years outside 0000-9999 use the six-digit extended form: not cached.
    if (iso.length !== 24) return iso;
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
  }
  const r = ms - second * 1000;
  const text = cachedPrefix + (r < 10 ? '00' : r < 100 ? '0' : '') + r + 'Z';
  text.charCodeAt(0); // flatten the rope while young (see commitment.ts flatten)
  lastMs = ms;
  lastText = text;
  return text;
}
