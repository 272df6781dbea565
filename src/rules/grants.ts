import type { PoolLabels } from '../k8s/placement.js';
import { DEFAULT_TOLERATIONS, isHardTaint, subsumes, tolerates, type Taint, type Toleration } from '../k8s/tolerations.js';
import type { AmlFacts } from '../policy/aml.js';
import { fact } from '../policy/snapshot.js';
import type { Compute, NodePool, Policy } from '../policy/types.js';
import type { Subject } from './subject.js';

/**
 * What the mutating rules grant a pod, stated once. The mutating rules write it; the validating
 * rules read it to tell what a pod brought itself from what it was given, because no pod may be
 * denied for a change the mutating webhook (or Kubernetes' own admission plugins) made (SPEC §3).
 */

/** aml-tolerations: the static AML tolerations, the AML taint keys with the pod's own values, the compute's extra ones. */
export function amlTolerations(policy: Policy, aml: AmlFacts): Toleration[] {
  const { amlTaints } = policy;
  const own: [string, string | undefined][] = [
    [amlTaints.resourceGroupKey, aml.resourceGroup],
    [amlTaints.workspaceKey, aml.workspace],
    [amlTaints.computeKey, aml.computeName],
  ];
  return [
    ...amlTaints.static,
    ...own
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([key, value]): Toleration => ({ key, operator: 'Equal', value, effect: amlTaints.effect })),
    ...(aml.compute?.tolerations ?? []),
  ];
}

/**
 * Tolerations a pod may carry without having asked for them: Kubernetes' defaults, the GPU
 * tolerations (gpu-tolerations, or ExtendedResourceToleration's `<gpu resource>:Exists`), and the
 * AML tolerations of an AML pod.
 */
function grantedTolerations(s: Subject): Toleration[] {
  const { policy } = s;
  const granted: Toleration[] = [...DEFAULT_TOLERATIONS];
  if (s.requestsGpu) {
    granted.push(...policy.gpu.tolerations);
    for (const key of policy.gpu.resourceNames) granted.push({ key, operator: 'Exists', effect: 'NoSchedule' });
  }
  if (s.aml !== undefined) granted.push(...amlTolerations(policy, s.aml));
  return granted;
}

const OWN_TOLERATIONS = {};

/** The pod's tolerations that no granted one covers: the ones it brought itself. */
export function ownTolerations(s: Subject): readonly Toleration[] {
  return s.derive(OWN_TOLERATIONS, () => {
    const granted = grantedTolerations(s);
    return s.pod.tolerations.filter((t) => !granted.some((g) => subsumes(g, t)));
  });
}

/**
 * node-pool: the pool a pod without targeting goes to. The compute's default pool, except that a
 * GPU pod goes to the first GPU pool when the default is a CPU pool (validation requires GPU pods
 * in GPU pools).
 */
export function defaultPoolFor(compute: Compute, gpu: boolean): NodePool {
  const pools = compute.nodePools;
  const fallback = pools[compute.defaultNodePool!] ?? Object.values(pools)[0]!;
  if (!gpu || fallback.gpu) return fallback;
  return Object.values(pools).find((p) => p.gpu) ?? fallback;
}

/** nodeSelector entries the mutating webhook writes: the default pool's labels and the instance type's selector. */
export function grantedSelector(s: Subject, compute: Compute): Record<string, string> {
  return { ...defaultPoolFor(compute, s.requestsGpu).labels, ...s.aml?.instanceType?.nodeSelector };
}

export interface ReservedPool {
  readonly computeName: string;
  readonly poolName: string;
  /** `compute/pool`, the key of this pool in `ReservedPools.labels`. */
  readonly key: string;
  readonly pool: NodePool;
  /** The taints that set the pool apart (see reservationTaints). */
  readonly taints: readonly Taint[];
}

export interface ReservedPools {
  readonly pools: readonly ReservedPool[];
  readonly labels: PoolLabels;
}

/**
 * The taints that set a reserved pool apart: its hard taints that no generic grant covers. Generic
 * are the tolerations this webhook hands to pods that do not own the pool: GPU tolerations, the
 * static AML tolerations, other computes' extra tolerations, and the resource group and workspace
 * keys (any pod may carry those labels). A pool tainted only `sku=gpu` is protected by targeting alone.
 */
function reservationTaints(policy: Policy, owner: string, pool: NodePool): Taint[] {
  const generic: Toleration[] = [...policy.gpu.tolerations, ...policy.amlTaints.static];
  for (const [name, c] of Object.entries(policy.computes)) if (name !== owner) generic.push(...c.tolerations);
  const userKeys = new Set([policy.amlTaints.resourceGroupKey, policy.amlTaints.workspaceKey]);
  return pool.taints.filter((taint) => isHardTaint(taint) && !userKeys.has(taint.key) && !generic.some((t) => tolerates(t, taint)));
}

/**
 * The reserved pools of a policy, and per owner (a compute, or undefined for a pod of no known
 * compute) the ones its pods must keep off. The label maps keep their identity for the snapshot's
 * life, which lets the placement analysis remember its answers.
 */
export const reservedPools = fact((snapshot) => {
  const { policy } = snapshot;
  const all: ReservedPool[] = Object.entries(policy.computes).flatMap(([computeName, compute]) =>
    Object.entries(compute.nodePools)
      .filter(([, p]) => p.reserved)
      .map(([poolName, pool]) => ({ computeName, poolName, key: `${computeName}/${poolName}`, pool, taints: reservationTaints(policy, computeName, pool) })),
  );
  const byOwner = new Map<string, ReservedPools>();
  return {
    any: all.length > 0,
    keptFrom(owner: string | undefined): ReservedPools {
      const key = owner ?? '';
      let r = byOwner.get(key);
      if (r === undefined) {
        const pools = all.filter((p) => p.computeName !== owner);
        byOwner.set(key, (r = { pools, labels: Object.freeze(Object.fromEntries(pools.map((p) => [p.key, p.pool.labels]))) }));
      }
      return r;
    },
  };
});
