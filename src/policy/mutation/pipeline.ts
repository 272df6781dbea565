import { PatchBuilder, PatchError } from '../../admission/patch.js';
import { Operation, type AdmissionRequest } from '../../admission/request.js';
import { allowed, errored, patched, type RuleOutcome, type Verdict } from '../../admission/verdict.js';
import { amlPod, asPod, type Pod } from '../pod.js';
import { FailureMode, type Policy } from '../types.js';
import { amlTolerations } from './amlTolerations.js';
import { blobfuseVolumes } from './blobfuseVolumes.js';
import { gpuTolerations } from './gpuTolerations.js';
import { instanceType } from './instanceType.js';
import { nodePool } from './nodePool.js';
import type { MutatingRule, RuleResult } from './rule.js';
import { volcanoScheduler } from './volcanoScheduler.js';

/**
 * The rules in the order they run; each sees the pod as the earlier ones left it.
 * instance-type runs first: its resources may add GPUs (which gpu-tolerations must see) and its
 * nodeSelector may already target a pool (which node-pool must see). Running them in any other
 * order would make a second call find more to do, and the webhook must be idempotent.
 */
export const MUTATING_RULES: readonly MutatingRule[] = [instanceType, gpuTolerations, amlTolerations, nodePool, volcanoScheduler, blobfuseVolumes];

/** The auditAnnotations key listing the rules that changed the pod (the API server prefixes the webhook name). */
export const MUTATED_BY = 'mutated-by';

const ACTION = 'mutate';

/**
 * The mutating webhook: runs the mutating rules on a Pod CREATE and answers with one patch.
 * Pod specs are immutable after creation, so UPDATEs are allowed untouched. Disabled rules are
 * skipped; a rule that throws follows its failure mode (`open`: skipped with a warning,
 * `closed`: the pod is refused); malformed AML input skips the rules it affects with a warning.
 */
export function mutatePod(policy: Policy, request: AdmissionRequest): Verdict {
  if (request.operation !== Operation.Create) return allowed();
  const pod = asPod(request.object);
  if (pod === undefined) return allowed();
  return runRules(policy, pod, MUTATING_RULES);
}

/** The pipeline over any rule list (tests pass failing rules to exercise the failure modes). */
export function runRules(policy: Policy, pod: Pod, rules: readonly MutatingRule[]): Verdict {
  const aml = amlPod(policy, pod);
  const builder = new PatchBuilder<Pod>(pod);
  const outcomes: RuleOutcome[] = [];
  const warnings: string[] = [];
  const mutatedBy: string[] = [];
  for (const rule of rules) {
    const settings = policy.rules[rule.id];
    if (!settings.enabled) {
      outcomes.push({ ruleId: rule.id, action: ACTION, result: 'skipped', message: 'disabled' });
      continue;
    }
    let result: RuleResult;
    let changed = false;
    try {
      result = rule.mutate({ policy, pod: builder.current, aml });
      if (result.kind === 'mutate') changed = builder.apply(result.mutations);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      outcomes.push({ ruleId: rule.id, action: ACTION, result: 'error', message });
      // Only our own patch errors are known to be safe to show; anything else is a bug to read in the log.
      const shown = err instanceof PatchError ? `: ${message}` : '';
      if (settings.failureMode === FailureMode.Closed) {
        return errored(`[${rule.id}] the rule failed${shown}; the pod is refused because the rule fails closed`, { warnings, outcomes });
      }
      warnings.push(`[${rule.id}] the rule failed; the pod was not changed by it`);
      continue;
    }
    if (result.kind === 'skip') {
      warnings.push(`[${rule.id}] ${result.reason}; not applied`);
      outcomes.push({ ruleId: rule.id, action: ACTION, result: 'skipped', message: result.reason });
      continue;
    }
    for (const w of result.warnings) warnings.push(`[${rule.id}] ${w}`);
    outcomes.push({ ruleId: rule.id, action: ACTION, result: changed ? 'mutated' : 'pass', ...(result.warnings.length > 0 ? { message: result.warnings.join('; ') } : {}) });
    if (changed) mutatedBy.push(rule.id);
  }
  const auditAnnotations: Record<string, string> = mutatedBy.length > 0 ? { [MUTATED_BY]: mutatedBy.join(',') } : {};
  return patched(builder.ops(), { warnings, auditAnnotations, outcomes });
}
