import type { Toleration } from '../types.js';
import { subsumes } from '../scheduling.js';
import { isObject } from './rule.js';

/**
 * True when `have` already grants what `want` would (e.g. an `operator: Exists` with no key
 * covers everything). Shares `subsumes` with validation, so the two webhooks agree on what a pod
 * already tolerates; a bounded tolerationSeconds (NoExecute) is weaker than what `want` asks for.
 */
export function covers(have: Toleration, want: Toleration): boolean {
  if (have.tolerationSeconds !== undefined && have.tolerationSeconds !== want.tolerationSeconds) return false;
  return subsumes(have, want);
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
