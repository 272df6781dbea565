import type { NodePool, Policy, Taint } from './types.js';
import { reservationTaints } from './validation/tolerations.js';

/** Pool name → the node labels that identify the pool. */
export type PoolLabels = Readonly<Record<string, Readonly<Record<string, string>>>>;

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
 * What the rules derive from a policy, computed once per loaded policy instead of per request.
 * Policies are frozen and replaced whole on reload, so a WeakMap keyed by the policy object is
 * the whole invalidation story. The objects handed out keep their identity, which lets the
 * placement analysis memoise on them.
 */
export interface CompiledPolicy {
  readonly hasReservedPools: boolean;
  /** The pools of a compute as label maps (undefined for an unknown compute). */
  poolLabels(compute: string): PoolLabels | undefined;
  /** The reserved pools a pod of `owner` (undefined: not an AML pod, or an unknown compute) must keep off. */
  reservedFor(owner: string | undefined): ReservedPools;
}

const compiledPolicies = new WeakMap<Policy, CompiledPolicy>();

export function compiled(policy: Policy): CompiledPolicy {
  let c = compiledPolicies.get(policy);
  if (c === undefined) compiledPolicies.set(policy, (c = compile(policy)));
  return c;
}

function compile(policy: Policy): CompiledPolicy {
  const poolLabels = new Map<string, PoolLabels>();
  for (const [name, compute] of Object.entries(policy.computes)) {
    poolLabels.set(name, Object.freeze(Object.fromEntries(Object.entries(compute.nodePools).map(([pool, p]) => [pool, p.labels]))));
  }
  const allReserved: ReservedPool[] = Object.entries(policy.computes).flatMap(([computeName, compute]) =>
    Object.entries(compute.nodePools)
      .filter(([, p]) => p.reserved)
      .map(([poolName, pool]) => ({ computeName, poolName, key: `${computeName}/${poolName}`, pool, taints: reservationTaints(policy, computeName, pool) })),
  );
  const byOwner = new Map<string, ReservedPools>();
  return {
    hasReservedPools: allReserved.length > 0,
    poolLabels: (compute) => poolLabels.get(compute),
    reservedFor(owner) {
      const key = owner ?? '';
      let r = byOwner.get(key);
      if (r === undefined) {
        const pools = allReserved.filter((p) => p.computeName !== owner);
        byOwner.set(key, (r = { pools, labels: Object.freeze(Object.fromEntries(pools.map((p) => [p.key, p.pool.labels]))) }));
      }
      return r;
    },
  };
}
