import type { AdmissionRequest, UserInfo } from '../../admission/request.js';
import { amlPod, asPod, type AmlPod, type Pod } from '../pod.js';
import type { Policy, ValidatingRuleId } from '../types.js';

/** What a validating rule found wrong: one reason, named by the rule that found it. */
export interface Finding {
  readonly ruleId: ValidatingRuleId;
  readonly message: string;
}

/** The object under review with everything the rules need resolved once. */
export interface Subject {
  readonly policy: Policy;
  readonly request: AdmissionRequest;
  readonly pod: Pod;
  /** Undefined for pods that are not AML pods (no compute label). */
  readonly aml: AmlPod | undefined;
  /** The pod's namespace (the request's, else the object's). */
  readonly namespace: string;
  /** Who asked; undefined when nobody is known (the `audit` command judging existing pods). */
  readonly requester: UserInfo | undefined;
}

/**
 * A validating rule: pure, takes the subject and returns findings. `skip` says why the rule
 * does not apply to a subject (e.g. not an AML pod); rules are not asked to check those.
 */
export interface ValidatingRule {
  readonly id: ValidatingRuleId;
  skip(subject: Subject): string | undefined;
  check(subject: Subject): readonly Finding[];
}

export function finding(ruleId: ValidatingRuleId, message: string): Finding {
  return { ruleId, message };
}

/** Builds the subject for `object`; undefined when the object is not usable as a Pod. */
export function subjectOf(policy: Policy, request: AdmissionRequest, object: unknown, requesterKnown = true): Subject | undefined {
  const pod = asPod(object);
  if (pod === undefined) return undefined;
  const ns = pod.metadata?.namespace;
  return {
    policy,
    request,
    pod,
    aml: amlPod(policy, pod),
    namespace: request.namespace || (typeof ns === 'string' ? ns : ''),
    requester: requesterKnown ? request.userInfo : undefined,
  };
}

/** Skip reason shared by the rules that judge AML pods of a compute the policy defines. */
export function needsKnownCompute(subject: Subject): string | undefined {
  if (subject.aml === undefined) return 'not an AML pod';
  if (subject.aml.compute === undefined) return `compute "${subject.aml.computeName}" is not defined (see policy-input)`;
  return undefined;
}

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
