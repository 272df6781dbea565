import type { Mutation } from '../admission/patch.js';
import type { MutatingRuleId, RuleId, ValidatingRuleId } from '../policy/types.js';
import type { Subject } from './subject.js';

/**
 * The one rule contract of both webhooks. A rule is pure: it reads a Subject and returns its
 * conclusion (no logger, clock or client). The runner owns everything around it: the enabled
 * switch, what the rule needs of the subject, the failure mode, outcomes and warnings.
 */

/** What a rule needs of the subject before it can say anything; the runner skips it, with the reason, otherwise. */
export const Needs = {
  /** Runs on anything under review, even an object that is not a valid Pod. */
  Any: 'any',
  Pod: 'pod',
  AmlPod: 'aml-pod',
  /** An AML pod of a compute the policy defines. */
  KnownCompute: 'known-compute',
  /** ...and of an instance type the compute defines. */
  KnownInstanceType: 'known-instance-type',
} as const;
export type Needs = (typeof Needs)[keyof typeof Needs];

/** A rule's reason not to conclude. `malformed` when the input is wrong (an unknown compute), not merely out of scope. */
export interface Skip {
  readonly skip: string;
  readonly malformed: boolean;
}

export interface Rule<Id extends RuleId, T> {
  readonly id: Id;
  readonly needs: Needs;
  /** The conclusion for one subject. Throwing is a bug; the runner applies the rule's failure mode. */
  run(subject: Subject): T | Skip;
}

/** A mutating rule concludes with intents for the patch compiler and short warnings for the requester. */
export interface Mutations {
  readonly mutations: readonly Mutation[];
  readonly warnings?: readonly string[];
}
export type MutatingRule = Rule<MutatingRuleId, Mutations>;

/** A validating rule concludes with what it found wrong: one message per finding, none when the subject passes. */
export type ValidatingRule = Rule<ValidatingRuleId, readonly string[]>;

export const skip = (reason: string): Skip => ({ skip: reason, malformed: false });
export const malformed = (reason: string): Skip => ({ skip: reason, malformed: true });

export function isSkip(v: unknown): v is Skip {
  return typeof v === 'object' && v !== null && 'skip' in v;
}

export const nothing: Mutations = { mutations: [] };

const NOT_A_POD = skip('not a Pod object');
const NOT_AML = skip('not an AML pod');

/** Why the subject does not meet what a rule needs; undefined when it does. */
export function unmet(needs: Needs, s: Subject): Skip | undefined {
  if (needs === Needs.Any) return undefined;
  if (s.invalid !== undefined) return NOT_A_POD;
  if (needs === Needs.Pod) return undefined;
  const aml = s.aml;
  if (aml === undefined) return NOT_AML;
  if (needs === Needs.AmlPod) return undefined;
  if (aml.compute === undefined) return unknownCompute(aml.computeName);
  if (needs === Needs.KnownCompute || aml.instanceType !== undefined) return undefined;
  return malformed(`instance type "${aml.instanceTypeName}" is not in compute "${aml.computeName}"`);
}

export const unknownCompute = (computeName: string): Skip => malformed(`compute "${computeName}" is not in the policy`);

/** "1 GPU", "2 GPUs". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A short list for messages: `a, b, c` or `a, b, c and 4 more`. */
export function listOf(items: readonly string[], max = 4): string {
  if (items.length === 0) return 'none';
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
