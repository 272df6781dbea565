import type { AmlPod, Pod } from '../pod.js';
import { isHardTaint, subsumes, tolerates } from '../scheduling.js';
import { amlOwnTolerations, requestsGpu } from '../pod.js';
import type { NodePool, Policy, Taint, Toleration } from '../types.js';

/**
 * Which tolerations a pod did not bring itself, and which taints mark a pool as reserved.
 * Validation sees the pod after the mutating webhook and Kubernetes' own admission plugins ran;
 * it must never deny a pod for a toleration they added (SPEC §3).
 */

/** What the API server's DefaultTolerationSeconds plugin adds to every pod. */
const K8S_DEFAULT_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
];

/**
 * Tolerations the pod may carry without having asked for them: Kubernetes' defaults, the GPU
 * tolerations (gpu-tolerations, or ExtendedResourceToleration's `<gpu resource>:Exists`), and
 * for AML pods the AML tolerations and the compute's extra tolerations.
 */
export function grantedTolerations(policy: Policy, pod: Pod, aml: AmlPod | undefined): Toleration[] {
  const granted: Toleration[] = [...K8S_DEFAULT_TOLERATIONS];
  if (requestsGpu(pod, policy.gpu.resourceNames)) {
    granted.push(...policy.gpu.tolerations);
    for (const key of policy.gpu.resourceNames) granted.push({ key, operator: 'Exists', effect: 'NoSchedule' });
  }
  if (aml !== undefined) {
    granted.push(...policy.amlTaints.static, ...amlOwnTolerations(policy, aml));
    if (aml.compute) granted.push(...aml.compute.tolerations);
  }
  return granted;
}

/** The pod's tolerations that none of the granted ones already covers: the ones it brought itself. */
export function ownTolerations(tolerations: readonly Toleration[], granted: readonly Toleration[]): Toleration[] {
  return tolerations.filter((t) => !granted.some((g) => subsumes(g, t)));
}

/**
 * The taints that set a reserved pool apart: its hard taints that no generic toleration covers.
 * Generic are the ones the mutating webhook hands to pods that do not own the pool: GPU
 * tolerations, the static AML tolerations, other computes' extra tolerations, and the resource
 * group and workspace keys (any pod may carry those labels). A pool tainted only `sku=gpu` is
 * protected by targeting alone, not by tolerations.
 */
export function reservationTaints(policy: Policy, owner: string, pool: NodePool): Taint[] {
  const generic: Toleration[] = [...policy.gpu.tolerations, ...policy.amlTaints.static];
  for (const [name, c] of Object.entries(policy.computes)) if (name !== owner) generic.push(...c.tolerations);
  const userKeys = new Set([policy.amlTaints.resourceGroupKey, policy.amlTaints.workspaceKey]);
  return pool.taints.filter((taint) => isHardTaint(taint) && !userKeys.has(taint.key) && !generic.some((t) => tolerates(t, taint)));
}
