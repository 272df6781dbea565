/**
 * Resource quantities as apimachinery parses them (resource.ParseQuantity), exactly:
 *
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." digits | digits "." | "." digits
 *   suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei          (binary SI)
 *              | n | u | m | "" | k | M | G | T | P | E   (decimal SI)
 *              | (e | E) [+-] digits                  (decimal exponent)
 *
 * This is the one place that decides what a quantity is; the policy schema, the loader and the
 * rules all ask it. `4K`, `1ki` and `1.5.0` are not quantities.
 */

/** An exact value: mantissa × 10^exponent, the mantissa without trailing zeros (0 is 0 × 10^0). */
export interface Quantity {
  readonly mantissa: bigint;
  readonly exponent: number;
}

const GRAMMAR = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
/** The same grammar for the JSON Schema (ajv compiles it with `u`, so no named groups here). */
export const QUANTITY_PATTERN = GRAMMAR.source;

const DECIMAL: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
/** Exponents beyond this are refused rather than expanded (Go keeps the scale in an int32). */
const MAX_EXPONENT = 2 ** 31 - 1;

function normalized(mantissa: bigint, exponent: number): Quantity {
  if (mantissa === 0n) return { mantissa, exponent: 0 };
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  return { mantissa, exponent };
}

/** The quantity a string spells, or undefined when the API server would reject it. */
export function parseQuantity(s: string): Quantity | undefined {
  const m = GRAMMAR.exec(s);
  if (!m) return undefined;
  const [, sign, number, suffix = ''] = m as unknown as [string, string, string, string | undefined];
  const [whole, fraction = ''] = number.split('.');
  let mantissa = BigInt(`${whole}${fraction}` || '0');
  if (sign === '-') mantissa = -mantissa;
  let exponent = -fraction.length;
  if (suffix in BINARY) mantissa *= 1024n ** BigInt(BINARY[suffix]!);
  else if (suffix in DECIMAL) exponent += DECIMAL[suffix]!;
  else {
    const e = Number(suffix.slice(1));
    if (Math.abs(e) > MAX_EXPONENT) return undefined;
    exponent += e;
  }
  return normalized(mantissa, exponent);
}

/** A JSON quantity: a string, or a number as Go's Quantity.UnmarshalJSON reads one. */
export function quantityOf(q: unknown): Quantity | undefined {
  if (typeof q === 'string') return parseQuantity(q);
  if (typeof q === 'number' && Number.isFinite(q)) return parseQuantity(String(q).replace('e+', 'e'));
  return undefined;
}

const digitCount = (n: bigint) => (n < 0n ? -n : n).toString().length;

/** -1, 0 or 1 as a is less than, equal to or greater than b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const sa = a.mantissa === 0n ? 0 : a.mantissa < 0n ? -1 : 1;
  const sb = b.mantissa === 0n ? 0 : b.mantissa < 0n ? -1 : 1;
  if (sa !== sb || sa === 0) return Math.sign(sa - sb);
  // Same sign: compare magnitudes by their order first, so aligning never builds a huge power of ten.
  const order = digitCount(a.mantissa) + a.exponent - (digitCount(b.mantissa) + b.exponent);
  if (order !== 0) return sa * Math.sign(order);
  const shift = a.exponent - b.exponent;
  const [x, y] = shift >= 0 ? [a.mantissa * 10n ** BigInt(shift), b.mantissa] : [a.mantissa, b.mantissa * 10n ** BigInt(-shift)];
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * A non-negative whole count (e.g. GPUs) as a number: every valid spelling counts (`2`, `2.0`,
 * `2000m`, `2e0`, a JSON 2). Undefined for fractions, negatives, non-quantities and counts beyond
 * what a number holds exactly.
 */
export function wholeNumber(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isSafeInteger(q) && q >= 0 ? q : undefined;
  if (typeof q === 'string' && /^\d{1,15}$/.test(q)) return Number(q); // the common spelling, without BigInt
  const v = quantityOf(q);
  if (v === undefined || v.mantissa < 0n || v.exponent < 0) return undefined;
  if (digitCount(v.mantissa) + v.exponent > 16) return undefined;
  const n = Number(v.mantissa * 10n ** BigInt(v.exponent));
  return Number.isSafeInteger(n) ? n : undefined;
}
