import { Operation, type AdmissionRequest } from '../admission/request.js';
import { allowed, denied, type ValidationVerdict } from '../admission/verdict.js';
import type { Decision } from '../admission/webhook.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { EnforcementAction, ValidatingRuleId, type RuleId } from '../policy/types.js';
import { isSkip, type Rule, type Skip, type ValidatingRule } from './rule.js';
import { conclude, runRules } from './runner.js';
import { subjectOf, type NodeLookup, type Subject } from './subject.js';
import { identityClaims } from './validating/identityClaims.js';
import { nodePoolTargeting } from './validating/nodePoolTargeting.js';
import { policyInput } from './validating/policyInput.js';
import { reservedPools } from './validating/reservedPools.js';
import { resourceClaims } from './validating/resourceClaims.js';

/** The validating rules in the order they report (SPEC §4). */
export const VALIDATING_RULES: readonly ValidatingRule[] = [nodePoolTargeting, reservedPools, identityClaims, resourceClaims, policyInput];

export interface ValidateOptions {
  /** The rules to run (tests inject a failing one); default VALIDATING_RULES. */
  readonly rules?: readonly ValidatingRule[];
  /** No requester is known (existing pods): identity claims judge the namespace only. */
  readonly requesterUnknown?: boolean;
  /** What is known about nodes, for pods that name one (spec.nodeName); undefined: nodeName is not judged (see Subject). */
  readonly nodes?: NodeLookup | undefined;
}

/**
 * On UPDATE only what the update changes is enforced: findings the old object already had were
 * admitted before (perhaps under an older policy), and re-raising them would block unrelated
 * writes such as a controller removing a finalizer. A label change that moves a pod into another
 * compute produces new findings, so it is judged in full.
 */
function newOnUpdate(
  rule: Rule<RuleId, readonly string[]>,
  findings: readonly string[],
  old: Subject | undefined,
): { fresh: readonly string[]; kept: readonly string[] } {
  if (findings.length === 0 || old === undefined) return { fresh: findings, kept: [] };
  let before: readonly string[] | Skip;
  try {
    before = conclude(rule, old);
  } catch {
    return { fresh: findings, kept: [] }; // no baseline to compare with: judge the update in full
  }
  if (isSkip(before)) return { fresh: findings, kept: [] };
  const seen = new Set(before);
  return { fresh: findings.filter((f) => !seen.has(f)), kept: findings.filter((f) => seen.has(f)) };
}

/**
 * The validating webhook's decision for one Pod CREATE/UPDATE: every enabled rule, each with its
 * enforcement action. `deny` failures deny in one message `[rule-id] reason; ...` with code 403,
 * or 422 when policy-input is among them (the input itself is malformed); `warn` failures allow
 * with warnings; `audit` failures allow and are only recorded (outcomes, and auditAnnotations for
 * the API server's audit log). dryRun requests get exactly the same decision: rules have no side effects.
 */
export function validate(snapshot: PolicySnapshot, request: AdmissionRequest, options: ValidateOptions = {}): Decision & { verdict: ValidationVerdict } {
  const requester = options.requesterUnknown === true ? undefined : request.userInfo;
  const subject = subjectOf(snapshot, request, request.object, requester, options.nodes);
  const oldObject = request.operation === Operation.Update ? subjectOf(snapshot, request, request.oldObject, requester, options.nodes) : undefined;
  const old = oldObject?.invalid === undefined ? oldObject : undefined;
  const denials: string[] = [];
  let malformedInput = false;
  const auditAnnotations: Record<string, string> = {};
  const { outcomes, warnings, refusals } = runRules(options.rules ?? VALIDATING_RULES, {
    subject: () => subject,
    action: (settings) => settings.enforcementAction,
    warnMalformed: false,
    judge(rule, findings, settings) {
      const { fresh, kept } = newOnUpdate(rule, findings, old);
      if (fresh.length === 0) return { result: 'pass', message: kept.length > 0 ? `pre-existing, not changed by this update: ${kept.join('; ')}` : undefined };
      const message = fresh.join('; ');
      const action = settings.enforcementAction;
      if (action === EnforcementAction.Deny) {
        denials.push(...fresh.map((f) => `[${rule.id}] ${f}`));
        malformedInput ||= rule.id === ValidatingRuleId.PolicyInput;
      } else auditAnnotations[rule.id] = message;
      return { result: 'fail', message, warnings: action === EnforcementAction.Warn ? fresh : undefined };
    },
  });
  const opts = { warnings, auditAnnotations, outcomes };
  const facts = subject.facts();
  if (denials.length === 0 && refusals.length === 0) return { verdict: allowed(opts), facts };
  return { verdict: denied(malformedInput ? 422 : 403, [...denials, ...refusals].join('; '), opts), facts };
}
