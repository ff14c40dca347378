import { ValidationError } from '../errors.js';

/** A validated `where` path: `data.user` or `metadata.category.sub`. */
export interface WherePath {
  root: 'data' | 'metadata';
  segments: string[];
}

const SEGMENT = /^[A-Za-z0-9_$@-]{1,128}$/;

/**
 * Paths in structured queries are checked here before any backend sees them: only `data.` and
 * `metadata.` roots and plain identifier-like segments, so nothing user-given reaches SQL or a
 * query operator unchecked.
 */
export function parseWherePath(path: string): WherePath {
  const parts = typeof path === 'string' ? path.split('.') : [];
  const root = parts[0];
  const segments = parts.slice(1);
  if ((root !== 'data' && root !== 'metadata') || segments.length === 0 || segments.length > 16) {
    throw new ValidationError(
      `invalid query path ${JSON.stringify(path)}: use data.<field> or metadata.<field>`,
      {
        path: '/where',
      },
    );
  }
  for (const s of segments) {
    if (!SEGMENT.test(s)) {
      throw new ValidationError(
        `invalid query path segment ${JSON.stringify(s)} in ${JSON.stringify(path)}`,
        {
          path: '/where',
        },
      );
    }
  }
  return { root, segments };
}

/** Read a validated path out of a parsed object (exact JSON equality is checked by the caller). */
export function readPath(obj: unknown, segments: readonly string[]): unknown {
  let cur = obj;
  for (const s of segments) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.hasOwn(cur, s)) return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}
