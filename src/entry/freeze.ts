/** Freeze an object graph in place (plain objects and arrays; Dates are ImmutableDate already). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  // Recurse only into objects: most members of parsed JSON are primitives.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  } else {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) {
      const v = o[keys[i]!];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  }
  return value;
}
