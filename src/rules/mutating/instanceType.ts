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
 * AML pods get their instance type's nodeSelector (keys the pod has not set) and its
 * requests/limits in regular containers that set none. A key the pod set to another value is
 * kept, with a warning; whether it is allowed is for validation to judge.
 *
 * Two refinements keep the pod schedulable where it belongs:
 * - GPUs go to the first such container only, and to none when a container already has GPUs:
 *   an instance type describes the pod's GPUs, and copying them into a sidecar would multiply
 *   what the pod asks for.
 * - A pod that asks for GPUs itself but names no instance type does not get a CPU-only default
 *   type's nodeSelector (that would pin a GPU pod to a CPU pool, which validation denies);
 *   node-pool then sends it to a GPU pool.
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
    if (hasEntries(requests) || hasEntries(limits)) {
      // Decided from the pod, not from this loop alone, so a second call adds nothing.
      let gpusGiven = pod.containers.some((c) => containerAmount(c, gpuNames) !== 0);
      pod.containers.forEach((c, index) => {
        if (!setsNoResources(c)) return;
        const at = ['spec', 'containers', index, 'resources'] as const;
        for (const [name, q] of Object.entries(requests)) if (!gpusGiven || !gpuNames.includes(name)) mutations.push(set([...at, 'requests', name], q));
        for (const [name, q] of Object.entries(limits)) if (!gpusGiven || !gpuNames.includes(name)) mutations.push(set([...at, 'limits', name], q));
        gpusGiven = true;
      });
    }
    return { mutations, warnings };
  },
};
