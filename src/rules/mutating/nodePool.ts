import { set } from '../../admission/patch.js';
import type { PodView } from '../../k8s/pod.js';
import { MutatingRuleId, type Compute, type Policy } from '../../policy/types.js';
import { defaultPoolFor } from '../grants.js';
import { Needs, nothing, type MutatingRule } from '../rule.js';

/**
 * Whether the pod already says which pool it wants: a node it names (spec.nodeName: a pool
 * selector could only contradict it), a node-pool label key in its nodeSelector, a nodeSelector
 * that includes all labels of one of the compute's pools, or a required node affinity term that
 * mentions a node-pool label key.
 */
export function targetsPool(pod: PodView, policy: Policy, compute: Compute): boolean {
  if (pod.nodeName !== undefined) return true;
  const poolKeys = new Set(policy.keys.nodePoolLabels);
  const selector = pod.nodeSelector;
  if (Object.keys(selector).some((k) => poolKeys.has(k))) return true;
  if (Object.values(compute.nodePools).some((p) => Object.entries(p.labels).every(([k, v]) => selector[k] === v))) return true;
  return (pod.requiredTerms ?? []).some((term) => (term.matchExpressions ?? []).some((e) => poolKeys.has(e.key)));
}

/**
 * AML pods with no pool targeting of their own get the default pool's labels as nodeSelector
 * (grants.ts). The instance type decides the pool first, so without one the pool cannot be chosen safely.
 */
export const nodePool: MutatingRule = {
  id: MutatingRuleId.NodePool,
  needs: Needs.KnownInstanceType,
  run(s) {
    const compute = s.aml!.compute!;
    if (targetsPool(s.pod, s.policy, compute)) return nothing;
    const selector = s.pod.nodeSelector;
    const labels = Object.entries(defaultPoolFor(compute, s.requestsGpu).labels);
    return { mutations: labels.filter(([k]) => !Object.hasOwn(selector, k)).map(([k, v]) => set(['spec', 'nodeSelector', k], v)) };
  },
};
