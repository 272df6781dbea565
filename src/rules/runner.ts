import { PatchError } from '../admission/patch.js';
import { clip } from '../admission/review.js';
import type { RuleOutcome } from '../admission/verdict.js';
import { FailureMode, type RuleId, type RuleSettings } from '../policy/types.js';
import { isSkip, unmet, type Rule, type Skip } from './rule.js';
import type { Subject } from './subject.js';

/** What a webhook makes of one rule's conclusion. */
export interface Judgement {
  readonly result: 'pass' | 'fail' | 'mutated';
  readonly message?: string | undefined;
  /** Shown to the requester, tagged with the rule id by the runner. */
  readonly warnings?: readonly string[] | undefined;
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

/** A rule's conclusion on a subject, or why there is none (the subject lacks what it needs); throws what the rule throws. */
export function conclude<T>(rule: Rule<RuleId, T>, subject: Subject): T | Skip {
  return unmet(rule.needs, subject) ?? rule.run(subject);
}

function outcome(ruleId: RuleId, action: string, result: RuleOutcome['result'], message: string | undefined): RuleOutcome {
  return message === undefined ? { ruleId, action, result } : { ruleId, action, result, message };
}

/** Runs the rules in order, each as its policy settings say; `judge` (inside the rule's failure mode) gives their conclusions a meaning. */
export function runRules<T>(rules: readonly Rule<RuleId, T>[], opts: RunOptions<T>): RunResult {
  const out: RunResult = { outcomes: [], warnings: [], refusals: [] };
  for (const rule of rules) {
    const subject = opts.subject();
    const settings = subject.policy.rules[rule.id];
    const action = opts.action(settings);
    if (!settings.enabled) {
      out.outcomes.push(outcome(rule.id, action, 'skipped', 'disabled in the policy'));
      continue;
    }
    let judged: Judgement;
    try {
      const conclusion = conclude(rule, subject);
      if (isSkip(conclusion)) {
        out.outcomes.push(outcome(rule.id, action, 'skipped', conclusion.skip));
        if (conclusion.malformed && opts.warnMalformed) out.warnings.push(clip(`[${rule.id}] ${conclusion.skip}; not applied`));
        continue;
      }
      judged = opts.judge(rule, conclusion, settings);
    } catch (error) {
      const mode = settings.failureMode;
      out.outcomes.push(
        outcome(rule.id, action, 'error', `internal error (fail ${mode}): ${clip(error instanceof Error ? error.message : String(error), 200)}`),
      );
      if (mode === FailureMode.Open) {
        out.warnings.push(`[${rule.id}] the rule failed internally and was skipped (fail open)`);
        continue;
      }
      // Only our own patch errors are known to be safe to show; anything else is a bug to read in the log.
      const shown = error instanceof PatchError ? `: ${error.message}` : '';
      out.refusals.push(
        `[${rule.id}] the rule failed internally${shown}, so the pod is refused (fail closed); see the aml-admission audit log for uid ${subject.request.uid}`,
      );
      continue;
    }
    out.outcomes.push(outcome(rule.id, action, judged.result, judged.message));
    if (judged.warnings !== undefined) for (const w of judged.warnings) out.warnings.push(clip(`[${rule.id}] ${w}`));
  }
  return out;
}
