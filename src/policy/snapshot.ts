import { PlacementMemo, type PoolLabels } from '../k8s/placement.js';
import { ALL_REGISTERED, type RegisteredResources } from '../k8s/workloads.js';
import { NO_CLUSTER_INSTANCE_TYPES, type ClusterInstanceTypes } from './instanceTypeObjects.js';
import { effectiveInstanceTypes } from './instanceTypes.js';
import type { Policy } from './types.js';

/**
 * A fact derived from a policy by the module that needs it (the reserved pools for the rules, the
 * node index for the extender): built on first use and kept in the snapshot it was built from.
 */
export interface Fact<T> {
  readonly build: (snapshot: PolicySnapshot) => T;
}

export function fact<T>(build: (snapshot: PolicySnapshot) => T): Fact<T> {
  return { build };
}

/**
 * One loaded policy, the cluster's InstanceType objects, and everything derived from them. A
 * request reads one snapshot from start to finish, and a reload (of either) replaces the snapshot
 * whole, so derived facts never outlive their policy and an answer never mixes two policies.
 */
export class PolicySnapshot {
  /** The policy as the rules see it: each compute with its instance types from both sources (instanceTypes.ts). */
  readonly policy: Policy;
  /** InstanceType objects that are not used, by name, with the reason (policy-input says it). */
  readonly refusedInstanceTypes: ReadonlyMap<string, string>;
  /** Placement analyses of this policy's pools, shared by every request that reads this snapshot. */
  readonly placements = new PlacementMemo();
  private readonly pools = new Map<string, PoolLabels>();
  private readonly facts = new Map<Fact<unknown>, unknown>();

  constructor(
    /** The policy as loaded. */
    readonly loaded: Policy,
    readonly clusterInstanceTypes: ClusterInstanceTypes = NO_CLUSTER_INSTANCE_TYPES,
    /** Which resources the registered validating webhook names: the policy's workload kinds count once registered (k8s/workloads.ts). */
    readonly registered: RegisteredResources = ALL_REGISTERED,
  ) {
    const effective = effectiveInstanceTypes(loaded, clusterInstanceTypes);
    this.policy = effective.policy;
    this.refusedInstanceTypes = effective.refused;
    const policy = this.policy;
    for (const [name, compute] of Object.entries(policy.computes)) {
      this.pools.set(name, Object.freeze(Object.fromEntries(Object.entries(compute.nodePools).map(([pool, p]) => [pool, p.labels]))));
    }
  }

  /** A compute's pools as label maps (undefined for an unknown compute); the same object for the snapshot's life. */
  poolLabels(compute: string): PoolLabels | undefined {
    return this.pools.get(compute);
  }

  get<T>(f: Fact<T>): T {
    if (!this.facts.has(f)) this.facts.set(f, f.build(this));
    return this.facts.get(f) as T;
  }
}
