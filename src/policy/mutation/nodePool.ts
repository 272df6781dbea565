import { set } from '../../admission/patch.js';
import { requestsGpu, type Pod } from '../pod.js';
import { requiredTerms } from '../scheduling.js';
import { MutatingRuleId, type Compute, type NodePool, type Policy } from '../types.js';
import { isObject, mutations, nodeSelectorOf, nothing, skip, unknownCompute, type MutatingRule } from './rule.js';

/**
 * Whether the pod already says which pool it wants: a node-pool label key in its nodeSelector,
 * a nodeSelector that includes all labels of one of the compute's pools, or a required node
 * affinity term that mentions a node-pool label key.
 */
export function targetsPool(pod: Pod, policy: Policy, compute: Compute): boolean {
  const poolKeys = new Set(policy.keys.nodePoolLabels);
  const selector = nodeSelectorOf(pod);
  if (Object.keys(selector).some((k) => poolKeys.has(k))) return true;
  if (Object.values(compute.nodePools).some((p) => Object.entries(p.labels).every(([k, v]) => selector[k] === v))) return true;
  return (requiredTerms(pod) ?? []).some(
    (term) => isObject(term) && Array.isArray(term.matchExpressions) && term.matchExpressions.some((e) => isObject(e) && typeof e.key === 'string' && poolKeys.has(e.key)),
  );
}

/**
 * The pool a pod without targeting goes to: the compute's default pool, except that a GPU pod
 * goes to the first GPU pool when the default is a CPU pool (validation requires GPU pods in GPU
 * pools, and no pod may be denied for a change this webhook made).
 */
export function defaultPoolFor(compute: Compute, gpu: boolean): NodePool {
  const pools = compute.nodePools;
  const fallback = pools[compute.defaultNodePool!] ?? Object.values(pools)[0]!;
  if (!gpu || fallback.gpu) return fallback;
  return Object.values(pools).find((p) => p.gpu) ?? fallback;
}

/** AML pods with no pool targeting of their own get the default pool's labels as nodeSelector. */
export const nodePool: MutatingRule = {
  id: MutatingRuleId.NodePool,
  mutate({ policy, pod, aml }) {
    if (!aml) return nothing;
    if (!aml.compute) return unknownCompute(aml);
    // The instance type decides the pool first; without it the pool cannot be chosen safely.
    if (!aml.instanceType) return skip(`instance type "${aml.instanceTypeName}" is not in compute "${aml.computeName}"`);
    if (targetsPool(pod, policy, aml.compute)) return nothing;
    const pool = defaultPoolFor(aml.compute, requestsGpu(pod, policy.gpu.resourceNames));
    const selector = nodeSelectorOf(pod);
    return mutations(Object.entries(pool.labels).filter(([k]) => !Object.hasOwn(selector, k)).map(([k, v]) => set(['spec', 'nodeSelector', k], v)));
  },
};
