/**
 * Resource quantities. Extended resources such as GPUs are whole numbers; this is the one place
 * that decides which spellings count as one (today: digits, or a JSON integer).
 */
export function wholeNumber(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isSafeInteger(q) && q >= 0 ? q : undefined;
  if (typeof q !== 'string' || !/^\d+$/.test(q)) return undefined;
  const n = Number(q);
  return Number.isSafeInteger(n) ? n : undefined;
}
