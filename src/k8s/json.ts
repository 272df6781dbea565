/** JSON helpers every layer shares: one meaning of "object", one freeze, one JSON Pointer token. */

/** A JSON object: not null, not a list. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** One JSON Pointer token (RFC 6901): `~` becomes `~0`, `/` becomes `~1`. */
export function escapeToken(segment: string | number): string {
  if (typeof segment === 'number') return String(segment);
  // Most keys need no escaping; skip the two regex passes for them.
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
