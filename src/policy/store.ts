import { NO_CLUSTER_INSTANCE_TYPES, type ClusterInstanceTypes } from './instanceTypeObjects.js';
import type { RegisteredResources } from '../k8s/workloads.js';
import { PolicySnapshot } from './snapshot.js';
import type { Policy } from './types.js';

export type PolicySourceKind = 'builtin' | 'file' | 'configmap';

/**
 * Holds the policy in force and the cluster's InstanceType objects. Sources (file poller,
 * ConfigMap watch) call `replace` only with a policy that passed validation, so readers always
 * see the last good policy; the InstanceType watch calls `setInstanceTypes` on every change, the
 * webhook registration's watch `setRegistered`.
 */
export class PolicyStore {
  private snapshot: PolicySnapshot;
  private sourceKind: PolicySourceKind;
  private gen = 1;

  constructor(initial: Policy, source: PolicySourceKind) {
    this.snapshot = new PolicySnapshot(initial);
    this.sourceKind = source;
  }

  current(): PolicySnapshot {
    return this.snapshot;
  }

  get source(): PolicySourceKind {
    return this.sourceKind;
  }

  /** Increments on every replace. */
  get generation(): number {
    return this.gen;
  }

  replace(policy: Policy, source: PolicySourceKind): void {
    this.snapshot = new PolicySnapshot(policy, this.snapshot.clusterInstanceTypes, this.snapshot.registered);
    this.sourceKind = source;
    this.gen += 1;
  }

  /** The cluster's InstanceType objects now (the policy stays). */
  setInstanceTypes(types: ClusterInstanceTypes = NO_CLUSTER_INSTANCE_TYPES): void {
    this.snapshot = new PolicySnapshot(this.snapshot.loaded, types, this.snapshot.registered);
  }

  /** What the registered validating webhook names now (its watch, src/kube/registration.ts). */
  setRegistered(registered: RegisteredResources): void {
    this.snapshot = new PolicySnapshot(this.snapshot.loaded, this.snapshot.clusterInstanceTypes, registered);
  }
}
