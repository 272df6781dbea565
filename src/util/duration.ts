/** Milliseconds per unit, largest first (the order formatDuration tries them). */
const UNITS: readonly (readonly [string, number])[] = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const UNIT_MS = new Map(UNITS);
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/**
 * Parses a duration as the README writes it and Go's time.ParseDuration reads it (`250ms`, `5s`,
 * `2m`, `1h30m`), or a bare number of milliseconds (the older form, still taken).
 */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) return Math.round(Number(t));
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < t.length) {
    const m = PART.exec(t);
    if (!m) break;
    ms += Number(m[1]) * UNIT_MS.get(m[2]!)!;
  }
  if (t === '' || PART.lastIndex !== t.length) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 5s, 2m, 1m30s)`);
  return Math.round(ms);
}

/** A duration the way parseDuration reads it and the README writes it: 2000 → `2s`, 90000 → `90s`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const [unit, size] = UNITS.find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}
