import type { PoolLabels } from '../k8s/placement.js';
import { DEFAULT_TOLERATIONS, subsumes, TAINT_EFFECT_LIST, tolerates, type Taint, type TaintEffect, type Toleration } from '../k8s/tolerations.js';
import type { AmlFacts } from '../policy/aml.js';
import { reservationTaints } from '../policy/reservation.js';
import { fact } from '../policy/snapshot.js';
import type { Compute, InstanceType, NodePool, Policy } from '../policy/types.js';
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
  // Every effect is one toleration without an effect; fewer are one toleration each.
  const effects: (TaintEffect | undefined)[] = TAINT_EFFECT_LIST.every((e) => amlTaints.effects.includes(e)) ? [undefined] : amlTaints.effects;
  return [
    ...amlTaints.static,
    ...own
      .filter((e): e is [string, string] => e[1] !== undefined)
      .flatMap(([key, value]) => effects.map((effect): Toleration => ({ key, operator: 'Equal', value, ...(effect ? { effect } : {}) }))),
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

/**
 * instance-type: the type's nodeSelector, unless the pod asks for GPUs itself, names no type, and
 * the (default) type has none: a CPU type's selector would pin a GPU pod to a CPU pool, so
 * node-pool sends it to a GPU pool instead.
 */
export function typeSelector(s: Subject): Readonly<Record<string, string>> {
  const aml = s.aml;
  const type = aml?.instanceType;
  if (type === undefined) return {};
  return aml!.instanceTypeExplicit || typeHasGpus(type, s.policy) || !s.requestsGpu ? type.nodeSelector : {};
}

/** The instance type gives the pod GPUs. */
export function typeHasGpus(type: InstanceType, policy: Policy): boolean {
  return policy.gpu.resourceNames.some((n) => Object.hasOwn(type.resources.limits, n) || Object.hasOwn(type.resources.requests, n));
}

/** nodeSelector entries the mutating webhook writes: the default pool's labels and the instance type's selector. */
export function grantedSelector(s: Subject, compute: Compute): Record<string, string> {
  return { ...defaultPoolFor(compute, s.requestsGpu).labels, ...typeSelector(s) };
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
