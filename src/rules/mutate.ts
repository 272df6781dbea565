import { PatchBuilder } from '../admission/patch.js';
import { allowed, errored, patched } from '../admission/verdict.js';
import type { AdmissionRequest } from '../admission/request.js';
import type { Decision } from '../admission/webhook.js';
import { viewPod, type Pod } from '../k8s/pod.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { amlTolerations } from './mutating/amlTolerations.js';
import { blobfuseVolumes } from './mutating/blobfuseVolumes.js';
import { gpuTolerations } from './mutating/gpuTolerations.js';
import { instanceType } from './mutating/instanceType.js';
import { nodePool } from './mutating/nodePool.js';
import { pvcVolumes } from './mutating/pvcVolumes.js';
import { volcanoScheduler } from './mutating/volcanoScheduler.js';
import { NO_CLAIMS, type ClaimLookup } from '../policy/amlClaims.js';
import type { MutatingRule } from './rule.js';
import { runRules } from './runner.js';
import { subjectOf } from './subject.js';

/**
 * The rules in the order they run; each sees the pod as the earlier ones left it.
 * instance-type runs first: its resources may add GPUs (which gpu-tolerations must see) and its
 * nodeSelector may already target a pool (which node-pool must see). Running them in any other
 * order would make a second call find more to do, and the webhook must be idempotent.
 */
export const MUTATING_RULES: readonly MutatingRule[] = [instanceType, gpuTolerations, amlTolerations, nodePool, volcanoScheduler, blobfuseVolumes, pvcVolumes];

/** The auditAnnotations key listing the rules that changed the pod (the API server prefixes the webhook name). */
export const MUTATED_BY = 'mutated-by';

/**
 * The mutating webhook's decision for one Pod in scope: every rule's intents compiled into one
 * patch. An object that is not a valid Pod is left alone (the validating webhook reports it). A
 * rule that throws follows its failure mode: `open` skips it with a warning, `closed` refuses the pod.
 */
export function mutate(
  snapshot: PolicySnapshot,
  request: AdmissionRequest,
  rules: readonly MutatingRule[] = MUTATING_RULES,
  /** The PVCs the server knows (pvc-volumes mounts AML's labelled ones). */
  claims: ClaimLookup = NO_CLAIMS,
): Decision {
  let subject = subjectOf(snapshot, request, request.object, request.userInfo, undefined, claims);
  if (subject.invalid !== undefined) return { verdict: allowed(), facts: {} };
  const builder = new PatchBuilder<Pod>(subject.pod.object);
  const mutatedBy: string[] = [];
  const ran = runRules(rules, {
    subject: () => subject,
    action: () => 'mutate',
    warnMalformed: true,
    judge(rule, { mutations, warnings = [] }) {
      const changed = builder.apply(mutations);
      if (changed) {
        mutatedBy.push(rule.id);
        subject = subject.withPod(viewPod(builder.current));
      }
      return { result: changed ? 'mutated' : 'pass', message: warnings.length > 0 ? warnings.join('; ') : undefined, warnings };
    },
  });
  const { outcomes, warnings, refusals } = ran;
  const facts = subject.facts();
  if (refusals.length > 0) return { verdict: errored(refusals.join('; '), { warnings, outcomes }), facts };
  const auditAnnotations: Record<string, string> = mutatedBy.length > 0 ? { [MUTATED_BY]: mutatedBy.join(',') } : {};
  return { verdict: patched(builder.ops(), { warnings, auditAnnotations, outcomes }), facts };
}
