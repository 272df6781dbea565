import { PatchError } from '../admission/patch.js';
import { clip } from '../admission/review.js';
import type { RuleOutcome } from '../admission/verdict.js';
import { FailureMode, type RuleId, type RuleSettings } from '../policy/types.js';
import { isSkip, unmet, type Rule, type Skip } from './rule.js';
import type { Subject } from './subject.js';

/** What a webhook makes of one rule's conclusion. */
export interface Judgement {
  readonly result: 'pass' | 'fail' | 'mutated';
  readonly message?: string;
  /** Shown to the requester, tagged with the rule id by the runner. */
  readonly warnings?: readonly string[];
}

export interface RunOptions<T> {
  /** The subject the next rule reads (the mutating webhook's moves on as it patches). */
  readonly subject: () => Subject;
  /** The action an outcome records: `mutate`, or the rule's enforcement action. */
  readonly action: (settings: RuleSettings) => string;
  readonly judge: (rule: Rule<RuleId, T>, conclusion: T, settings: RuleSettings) => Judgement;
  /**
   * A rule that skips malformed input says so in a warning: the mutating webhook has no other way
   * to tell the requester; the validating one reports malformed input itself (policy-input).
   */
  readonly warnMalformed: boolean;
}

export interface RunResult {
  /** One per rule, in order. */
  readonly outcomes: RuleOutcome[];
  /** `[rule-id] text`, each at most what kubectl shows. */
  readonly warnings: string[];
  /** Rules that failed internally while failing closed: the webhook refuses the object, naming them. */
  readonly refusals: string[];
}

export type Attempt<T> = { readonly value: T } | Skip | { readonly error: unknown };

/** A rule on a subject: skipped when the subject lacks what it needs, its error caught. */
export function attempt<T>(rule: Rule<RuleId, T>, subject: Subject): Attempt<T> {
  try {
    const r = unmet(rule.needs, subject) ?? rule.run(subject);
    return isSkip(r) ? r : { value: r };
  } catch (error) {
    return { error };
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Runs the rules in order, each as its policy settings say; `judge` (inside the rule's failure mode) gives their conclusions a meaning. */
export function runRules<T>(rules: readonly Rule<RuleId, T>[], opts: RunOptions<T>): RunResult {
  const out: RunResult = { outcomes: [], warnings: [], refusals: [] };
  for (const rule of rules) {
    const subject = opts.subject();
    const settings = subject.policy.rules[rule.id];
    const base = { ruleId: rule.id, action: opts.action(settings) };
    if (!settings.enabled) {
      out.outcomes.push({ ...base, result: 'skipped', message: 'disabled in the policy' });
      continue;
    }
    let tried: Attempt<T> = attempt(rule, subject);
    let judged: Judgement | undefined;
    if ('value' in tried) {
      try {
        judged = opts.judge(rule, tried.value, settings);
      } catch (error) {
        tried = { error };
      }
    }
    if ('error' in tried) {
      const mode = settings.failureMode;
      out.outcomes.push({ ...base, result: 'error', message: `internal error (fail ${mode}): ${clip(message(tried.error), 200)}` });
      if (mode === FailureMode.Open) {
        out.warnings.push(`[${rule.id}] the rule failed internally and was skipped (fail open)`);
        continue;
      }
      // Only our own patch errors are known to be safe to show; anything else is a bug to read in the log.
      const shown = tried.error instanceof PatchError ? `: ${tried.error.message}` : '';
      out.refusals.push(`[${rule.id}] the rule failed internally${shown}, so the pod is refused (fail closed); see the aml-admission audit log for uid ${subject.request.uid}`);
      continue;
    }
    if (judged === undefined) {
      const { skip: reason, malformed } = tried as Skip;
      out.outcomes.push({ ...base, result: 'skipped', message: reason });
      if (malformed && opts.warnMalformed) out.warnings.push(clip(`[${rule.id}] ${reason}; not applied`));
      continue;
    }
    out.outcomes.push({ ...base, result: judged.result, ...(judged.message !== undefined ? { message: judged.message } : {}) });
    for (const w of judged.warnings ?? []) out.warnings.push(clip(`[${rule.id}] ${w}`));
  }
  return out;
}
