import { wholeNumber } from '../k8s/quantity.js';

/**
 * Sizes in bytes, as the README writes them (`8MiB`, `512KiB`) and as Kubernetes quantities
 * spell them (`8Mi`, `10M`), or a bare number of bytes (the older form, still taken). The
 * quantity grammar (k8s/quantity.ts) decides the number; only the `B` of a unit is added here.
 */

const IEC = ['GiB', 'MiB', 'KiB'] as const;
const IEC_BYTES: Readonly<Record<(typeof IEC)[number], number>> = { GiB: 1024 ** 3, MiB: 1024 ** 2, KiB: 1024 };

/** `8MiB` → `8Mi`, `10MB` → `10M`, `1kB`/`1KB` → `1k`, `512B` → `512`: the quantity the size spells. */
function asQuantity(text: string): string {
  const t = text.trim();
  const unit = /^(.*?)(Ki|Mi|Gi|Ti|Pi|Ei|[kKMGTPE])?B$/.exec(t);
  if (!unit) return t;
  const [, number, prefix = ''] = unit;
  return `${number}${prefix === 'K' ? 'k' : prefix}`;
}

/** Whole bytes; throws a message fit for the command line when the text is no size. */
export function parseSize(text: string): number {
  const bytes = wholeNumber(asQuantity(text));
  if (bytes === undefined) throw new Error(`invalid size "${text}" (use e.g. 8MiB, 512KiB, 10MB, or a number of bytes)`);
  return bytes;
}

/** A size the way the README writes it: the largest binary unit that divides it (8388608 → `8MiB`), else bytes (`1000B`). */
export function formatSize(bytes: number): string {
  const unit = IEC.find((u) => bytes !== 0 && bytes % IEC_BYTES[u] === 0);
  return unit ? `${bytes / IEC_BYTES[unit]}${unit}` : `${bytes}B`;
}
