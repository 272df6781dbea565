import { isHardTaint, tolerates, type Taint, type Toleration } from '../k8s/tolerations.js';
import type { NodePool, Policy } from './types.js';

/**
 * The taints that set a reserved pool apart: its hard taints that no generic grant covers. Generic
 * are the tolerations this webhook hands to pods that do not own the pool: GPU tolerations, the
 * static AML tolerations, other computes' extra tolerations, and the resource group and workspace
 * keys (any pod may carry those labels). Only these keep a pod that names no pool off the pool's
 * nodes, so the loader refuses a reserved pool that has none. Taints under node.kubernetes.io/ are
 * the node lifecycle's (not-ready, unschedulable, ...), which every pod and DaemonSet tolerates, and
 * never a reservation; the validating webhook's matchConditions rely on that (webhook-config/).
 */
const NODE_LIFECYCLE_PREFIX = 'node.kubernetes.io/';

export function reservationTaints(policy: Policy, owner: string, pool: NodePool): Taint[] {
  const generic: Toleration[] = [...policy.gpu.tolerations, ...policy.amlTaints.static];
  for (const [name, c] of Object.entries(policy.computes)) if (name !== owner) generic.push(...c.tolerations);
  const userKeys = new Set([policy.amlTaints.resourceGroupKey, policy.amlTaints.workspaceKey]);
  return pool.taints.filter(
    (taint) => isHardTaint(taint) && !taint.key.startsWith(NODE_LIFECYCLE_PREFIX) && !userKeys.has(taint.key) && !generic.some((t) => tolerates(t, taint)),
  );
}
