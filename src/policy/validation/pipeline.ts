import { Operation, type AdmissionRequest } from '../../admission/request.js';
import { MAX_WARNING_LENGTH } from '../../admission/review.js';
import { allowed, denied, type RuleOutcome, type ValidationVerdict } from '../../admission/verdict.js';
import { EnforcementAction, FailureMode, ValidatingRuleId, type Policy, type RuleSettings } from '../types.js';
import { identityClaims } from './identityClaims.js';
import { nodePoolTargeting } from './nodePoolTargeting.js';
import { NOT_A_POD, policyInput } from './policyInput.js';
import { reservedPools } from './reservedPools.js';
import { resourceClaims } from './resourceClaims.js';
import { subjectOf, type Finding, type Subject, type ValidatingRule } from './rule.js';

/** The validating rules in the order they report (SPEC §4). */
export const VALIDATING_RULES: readonly ValidatingRule[] = [nodePoolTargeting, reservedPools, identityClaims, resourceClaims, policyInput];

export interface ValidateOptions {
  /** The rules to run (tests inject a failing one); default VALIDATING_RULES. */
  readonly rules?: readonly ValidatingRule[];
  /** Rules not to run, with the reason recorded in their outcome. */
  readonly skip?: Readonly<Partial<Record<ValidatingRuleId, string>>>;
  /** No requester is known (existing pods): identity claims judge the namespace only. */
  readonly requesterUnknown?: boolean;
}

/** What one rule came to for one request, before enforcement is applied. */
type RuleRun =
  | { readonly result: 'pass' | 'skipped'; readonly note?: string }
  | { readonly result: 'fail'; readonly findings: readonly Finding[]; readonly note?: string }
  | { readonly result: 'error'; readonly error: unknown };

/** Warnings are shown by kubectl; Kubernetes truncates past 120 characters, so we cut first and say so. */
function clip(text: string, max = MAX_WARNING_LENGTH): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function tagged(f: Finding): string {
  return `[${f.ruleId}] ${f.message}`;
}

function errorText(err: unknown): string {
  return clip(err instanceof Error ? err.message : String(err), 200);
}

function run(rule: ValidatingRule, subject: Subject): RuleRun {
  try {
    const reason = rule.skip(subject);
    if (reason !== undefined) return { result: 'skipped', note: reason };
    const findings = rule.check(subject);
    return findings.length === 0 ? { result: 'pass' } : { result: 'fail', findings };
  } catch (error) {
    return { result: 'error', error };
  }
}

/**
 * On UPDATE only what the update changes is enforced: findings the old object already had were
 * admitted before (perhaps under an older policy), and re-raising them would block unrelated
 * writes such as a controller removing a finalizer. A label change that moves a pod into another
 * compute produces new findings, so it is judged in full.
 */
function newOnUpdate(rule: ValidatingRule, runNow: RuleRun, old: Subject | undefined): RuleRun {
  if (runNow.result !== 'fail' || old === undefined) return runNow;
  const before = run(rule, old);
  if (before.result !== 'fail') return runNow;
  const seen = new Set(before.findings.map((f) => f.message));
  const fresh = runNow.findings.filter((f) => !seen.has(f.message));
  const kept = runNow.findings.filter((f) => seen.has(f.message)).map((f) => f.message);
  if (fresh.length === 0) return { result: 'pass', note: `pre-existing, not changed by this update: ${kept.join('; ')}` };
  return { result: 'fail', findings: fresh };
}

function runAll(policy: Policy, request: AdmissionRequest, options: ValidateOptions): Map<ValidatingRule, RuleRun> {
  const rules = options.rules ?? VALIDATING_RULES;
  const runs = new Map<ValidatingRule, RuleRun>();
  const known = options.requesterUnknown !== true;
  const subject = subjectOf(policy, request, request.object, known);
  const old = request.operation === Operation.Update ? subjectOf(policy, request, request.oldObject, known) : undefined;
  for (const rule of rules) {
    const settings = policy.rules[rule.id];
    const skipped = options.skip?.[rule.id];
    if (!settings.enabled) runs.set(rule, { result: 'skipped', note: 'disabled in the policy' });
    else if (skipped !== undefined) runs.set(rule, { result: 'skipped', note: skipped });
    else if (subject === undefined) {
      runs.set(rule, rule.id === ValidatingRuleId.PolicyInput ? { result: 'fail', findings: [{ ruleId: rule.id, message: NOT_A_POD }] } : { result: 'skipped', note: 'not a Pod object' });
    } else runs.set(rule, newOnUpdate(rule, run(rule, subject), old));
  }
  return runs;
}

/**
 * The validating webhook: runs every enabled validating rule on a Pod CREATE/UPDATE and applies
 * each rule's enforcement action. `deny` failures deny in one message `[rule-id] reason; ...`
 * with code 403, or 422 when policy-input is among them (the input itself is malformed);
 * `warn` failures allow with warnings (≤ 120 characters each); `audit` failures allow and are
 * only recorded (outcomes, and auditAnnotations for the API server's audit log). A rule that
 * throws follows its failureMode: `closed` denies, `open` allows with a warning.
 * dryRun requests get exactly the same decision: rules have no side effects.
 */
export function validatePod(policy: Policy, request: AdmissionRequest, options: ValidateOptions = {}): ValidationVerdict {
  const denials: Finding[] = [];
  const errorsClosed: string[] = [];
  const warnings: string[] = [];
  const auditAnnotations: Record<string, string> = {};
  const outcomes: RuleOutcome[] = [];

  for (const [rule, r] of runAll(policy, request, options)) {
    const settings: RuleSettings = policy.rules[rule.id];
    const action = settings.enforcementAction;
    if (r.result === 'error') {
      const closed = settings.failureMode === FailureMode.Closed;
      outcomes.push({ ruleId: rule.id, action, result: 'error', message: `internal error (fail ${settings.failureMode}): ${errorText(r.error)}` });
      if (closed) errorsClosed.push(`[${rule.id}] the check failed internally, so the pod is denied (fail closed); see the aml-admission audit log for uid ${request.uid}`);
      else warnings.push(clip(`[${rule.id}] the check failed internally and was skipped (fail open)`));
      continue;
    }
    if (r.result !== 'fail') {
      outcomes.push({ ruleId: rule.id, action, result: r.result, ...(r.note !== undefined ? { message: r.note } : {}) });
      continue;
    }
    outcomes.push({ ruleId: rule.id, action, result: 'fail', message: r.findings.map((f) => f.message).join('; ') });
    switch (action) {
      case EnforcementAction.Deny:
        denials.push(...r.findings);
        break;
      case EnforcementAction.Warn:
        warnings.push(...r.findings.map((f) => clip(tagged(f))));
        auditAnnotations[rule.id] = r.findings.map((f) => f.message).join('; ');
        break;
      case EnforcementAction.Audit:
        auditAnnotations[rule.id] = r.findings.map((f) => f.message).join('; ');
        break;
      default: {
        const never: never = action;
        throw new Error(`unknown enforcement action ${String(never)}`);
      }
    }
  }

  const opts = { warnings, auditAnnotations, outcomes };
  if (denials.length === 0 && errorsClosed.length === 0) return allowed(opts);
  const code = denials.some((f) => f.ruleId === ValidatingRuleId.PolicyInput) ? 422 : 403;
  return denied(code, [...denials.map(tagged), ...errorsClosed].join('; '), opts);
}
