import { set, type Mutation } from '../../admission/patch.js';
import { containerAmount, type Container } from '../../k8s/pod.js';
import { MutatingRuleId } from '../../policy/types.js';
import { typeSelector } from '../grants.js';
import { Needs, type MutatingRule } from '../rule.js';

const hasEntries = (v: object | undefined | null): boolean => v != null && Object.keys(v).length > 0;

/** A container "sets no resources" when it has neither requests nor limits. */
function setsNoResources(c: Container): boolean {
  return !hasEntries(c.resources?.requests) && !hasEntries(c.resources?.limits);
}

/**
 * AML pods get their instance type's nodeSelector (keys the pod has not set) and its resources.
 * A key the pod set to another value is kept, with a warning; whether it is allowed is for
 * validation to judge.
 *
 * On AML the instance type is the pod's resources, not each container's: they go to the main
 * container (the first; injected sidecars come after it) when it sets none of its own, GPUs
 * only when no container has any. Copying them into every container would multiply what the pod
 * asks for, and a pod asking for twice its node may never fit it.
 *
 * A pod that asks for GPUs itself but names no instance type does not get a CPU-only default
 * type's nodeSelector (that would pin a GPU pod to a CPU pool, which validation denies); node-pool
 * then sends it to a GPU pool.
 */
export const instanceType: MutatingRule = {
  id: MutatingRuleId.InstanceType,
  needs: Needs.KnownInstanceType,
  run(s) {
    const { pod } = s;
    const aml = s.aml!;
    const type = aml.instanceType!;
    const gpuNames = s.policy.gpu.resourceNames;
    const mutations: Mutation[] = [];
    const warnings: string[] = [];
    const selector = pod.nodeSelector;
    for (const [key, value] of Object.entries(typeSelector(s))) {
      if (!Object.hasOwn(selector, key)) mutations.push(set(['spec', 'nodeSelector', key], value));
      else if (selector[key] !== value) warnings.push(`nodeSelector ${key}=${selector[key]} kept; instance type wants ${value}`);
    }
    const { requests, limits } = type.resources;
    const main = pod.containers[0];
    // Decided from the main container, which the first call fills: a second call adds nothing.
    if ((hasEntries(requests) || hasEntries(limits)) && main !== undefined && setsNoResources(main)) {
      const gpusGiven = pod.containers.some((c) => containerAmount(c, gpuNames) !== 0);
      const at = ['spec', 'containers', 0, 'resources'] as const;
      for (const [name, q] of Object.entries(requests)) if (!gpusGiven || !gpuNames.includes(name)) mutations.push(set([...at, 'requests', name], q));
      for (const [name, q] of Object.entries(limits)) if (!gpusGiven || !gpuNames.includes(name)) mutations.push(set([...at, 'limits', name], q));
    }
    return { mutations, warnings };
  },
};
