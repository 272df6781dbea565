import { deepFreeze } from '../k8s/json.js';
import { AML_DEFAULT_INSTANCE_TYPE, DEFAULT_INSTANCE_TYPE, NO_CLUSTER_INSTANCE_TYPES, type ClusterInstanceTypes } from './instanceTypeObjects.js';
import type { Compute, InstanceType, Policy } from './types.js';

/**
 * The instance types a compute offers: its own (the policy's) and, with
 * `amlExtension.instanceTypes`, the cluster's InstanceType objects, each joined with the AML
 * extension's nodeSelector. The one place where the two sources meet (docs/policy.md#amlextension):
 *
 * - every InstanceType object is a type of every compute, as on AML, where an object serves every
 *   compute attached to the cluster;
 * - a compute's own type wins over an object of the same name (the policy is the admin's word
 *   for that compute);
 * - a compute whose default is `defaultinstancetype` and that defines none gets AML's built-in
 *   one, unless an object of that name overrides it; no other compute gets it;
 * - the extension's nodeSelector joins every type's. An object that sets one of its keys to
 *   another value selects no node and is refused (a policy type that does is refused at load).
 */

export interface EffectiveInstanceTypes {
  /** The policy with each compute's instance types as the rules see them. */
  readonly policy: Policy;
  /** Cluster InstanceType objects that are not used, by name, with the reason. */
  readonly refused: ReadonlyMap<string, string>;
}

/** The extension selector's keys that `selector` sets to another value. */
export function selectorConflicts(selector: Readonly<Record<string, string>>, extension: Readonly<Record<string, string>>): string[] {
  return Object.keys(extension).filter((k) => Object.hasOwn(selector, k) && selector[k] !== extension[k]);
}

function joined(type: InstanceType, extension: Readonly<Record<string, string>>): InstanceType {
  if (Object.keys(extension).every((k) => type.nodeSelector[k] === extension[k])) return type;
  return { ...type, nodeSelector: { ...extension, ...type.nodeSelector } };
}

export function effectiveInstanceTypes(policy: Policy, cluster: ClusterInstanceTypes = NO_CLUSTER_INSTANCE_TYPES): EffectiveInstanceTypes {
  const { instanceTypes: honoured, nodeSelector: extension } = policy.amlExtension;
  const refused = new Map(honoured ? cluster.refused : []);
  const objects: [string, InstanceType][] = [];
  if (honoured) {
    for (const [name, type] of cluster.types) {
      const conflicts = selectorConflicts(type.nodeSelector, extension);
      if (conflicts.length === 0) objects.push([name, type]);
      else
        refused.set(
          name,
          `its nodeSelector sets ${conflicts.map((k) => `${k}=${type.nodeSelector[k]}`).join(', ')}, but the AML extension's nodeSelector (amlExtension.nodeSelector) wants ${conflicts.map((k) => `${k}=${extension[k]}`).join(', ')}`,
        );
    }
  }
  const noExtension = Object.keys(extension).length === 0;
  let changed = false;
  const computes: Record<string, Compute> = {};
  for (const [name, compute] of Object.entries(policy.computes)) {
    const builtin = honoured && compute.defaultInstanceType === DEFAULT_INSTANCE_TYPE && !Object.hasOwn(compute.instanceTypes, DEFAULT_INSTANCE_TYPE);
    if (objects.length === 0 && !builtin && noExtension) {
      computes[name] = compute;
      continue;
    }
    const types: Record<string, InstanceType> = {};
    if (builtin) types[DEFAULT_INSTANCE_TYPE] = AML_DEFAULT_INSTANCE_TYPE;
    for (const [t, type] of objects) types[t] = type;
    Object.assign(types, compute.instanceTypes);
    for (const [t, type] of Object.entries(types)) types[t] = joined(type, extension);
    computes[name] = { ...compute, instanceTypes: types };
    changed = true;
  }
  return { policy: changed ? deepFreeze({ ...policy, computes }) : policy, refused };
}
