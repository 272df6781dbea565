import { sameToleration, tolerates } from '../scheduling.js';
import type { TaintEffect, Toleration } from '../types.js';
import { isObject } from './rule.js';

const EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/**
 * True when `have` tolerates every taint that `want` tolerates, so adding `want` would change
 * nothing (e.g. an `operator: Exists` with no key covers everything).
 */
export function covers(have: Toleration, want: Toleration): boolean {
  if (sameToleration(have, want)) return true;
  // tolerationSeconds bounds how long a NoExecute taint is tolerated: a bounded toleration is weaker.
  if (have.tolerationSeconds !== undefined && have.tolerationSeconds !== want.tolerationSeconds) return false;
  if (want.operator === 'Exists') {
    // `want` tolerates every value of its key (or every key): only an Exists at least as broad covers it.
    return have.operator === 'Exists' && (!have.key || have.key === want.key) && (!have.effect || have.effect === want.effect);
  }
  const effects = want.effect ? [want.effect] : EFFECTS;
  return effects.every((effect) => tolerates(have, { key: want.key ?? '', value: want.value ?? '', effect }));
}

/** The wanted tolerations that neither the existing ones nor earlier wanted ones already cover, in order. */
export function tolerationsToAdd(existing: readonly unknown[], wanted: readonly Toleration[]): Toleration[] {
  const have = existing.filter(isObject) as Toleration[];
  const add: Toleration[] = [];
  for (const w of wanted) {
    if (have.some((h) => covers(h, w))) continue;
    add.push(w);
    have.push(w);
  }
  return add;
}
