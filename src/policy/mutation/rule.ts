import type { Mutation } from '../../admission/patch.js';
import type { AmlPod, Pod } from '../pod.js';
import type { MutatingRuleId, Policy } from '../types.js';

/** What a mutating rule is given: values only (no logger, clock or client). */
export interface RuleInput {
  readonly policy: Policy;
  /** The pod as the earlier rules left it; rules read it and never change it. */
  readonly pod: Pod;
  /** AML facts resolved from the pod as submitted; undefined for a pod that is not an AML pod. */
  readonly aml: AmlPod | undefined;
}

export type RuleResult =
  /** Intents for the patch compiler (possibly none) and short warnings for the requester. */
  | { readonly kind: 'mutate'; readonly mutations: readonly Mutation[]; readonly warnings: readonly string[] }
  /** Malformed AML input: the pod is left alone by this rule; validation (policy-input) will deny it. */
  | { readonly kind: 'skip'; readonly reason: string };

export interface MutatingRule {
  readonly id: MutatingRuleId;
  mutate(input: RuleInput): RuleResult;
}

export function mutations(list: readonly Mutation[], warnings: readonly string[] = []): RuleResult {
  return { kind: 'mutate', mutations: list, warnings };
}

export const nothing: RuleResult = mutations([]);

export function skip(reason: string): RuleResult {
  return { kind: 'skip', reason };
}

/** The skip every compute-dependent rule gives for a compute the policy does not define. */
export function unknownCompute(aml: AmlPod): RuleResult {
  return skip(`compute "${aml.computeName}" is not in the policy`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The pod's nodeSelector (empty when absent). */
export function nodeSelectorOf(pod: Pod): Readonly<Record<string, string>> {
  const s = pod.spec?.nodeSelector;
  return isObject(s) ? (s as Record<string, string>) : {};
}

/** Raw container list entries with their index in the list (the index is what a patch path needs). */
export function indexed(list: unknown): { index: number; container: Record<string, unknown> }[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((c, index) => (isObject(c) ? [{ index, container: c }] : []));
}
