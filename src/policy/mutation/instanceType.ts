import { set, type Mutation } from '../../admission/patch.js';
import { containerGpus, containersOf, requestsGpu } from '../pod.js';
import { MutatingRuleId } from '../types.js';
import { indexed, isObject, mutations, nodeSelectorOf, nothing, skip, unknownCompute, type MutatingRule } from './rule.js';

function hasEntries(v: unknown): boolean {
  return isObject(v) && Object.keys(v).length > 0;
}

/** A container "sets no resources" when it has neither requests nor limits. */
function setsNoResources(c: Record<string, unknown>): boolean {
  const r = c.resources;
  return r === undefined || r === null || (isObject(r) && !hasEntries(r.requests) && !hasEntries(r.limits));
}

/** True when the instance type gives any GPU resource. */
function hasGpus(resources: { requests: Record<string, string>; limits: Record<string, string> }, gpuNames: readonly string[]): boolean {
  return gpuNames.some((n) => Object.hasOwn(resources.limits, n) || Object.hasOwn(resources.requests, n));
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
  mutate({ policy, pod, aml }) {
    if (!aml) return nothing;
    if (!aml.compute) return unknownCompute(aml);
    const type = aml.instanceType;
    if (!type) return skip(`instance type "${aml.instanceTypeName}" is not in compute "${aml.computeName}"`);
    const gpuNames = policy.gpu.resourceNames;
    const out: Mutation[] = [];
    const warnings: string[] = [];
    const selector = nodeSelectorOf(pod);
    const gpuPodOnCpuDefault = !aml.instanceTypeExplicit && !hasGpus(type.resources, gpuNames) && requestsGpu(pod, gpuNames);
    if (!gpuPodOnCpuDefault) {
      for (const [key, value] of Object.entries(type.nodeSelector)) {
        if (!Object.hasOwn(selector, key)) out.push(set(['spec', 'nodeSelector', key], value));
        else if (selector[key] !== value) warnings.push(`nodeSelector ${key}=${selector[key]} kept; instance type wants ${value}`);
      }
    }
    const { requests, limits } = type.resources;
    if (hasEntries(requests) || hasEntries(limits)) {
      // Decided from the pod, not from this loop alone, so a second call adds nothing.
      let gpusGiven = containersOf(pod).some((c) => containerGpus(c, gpuNames) !== 0);
      for (const { index, container } of indexed(pod.spec?.containers)) {
        if (!setsNoResources(container)) continue;
        const at = ['spec', 'containers', index, 'resources'] as const;
        for (const [name, q] of Object.entries(requests)) if (!gpusGiven || !gpuNames.includes(name)) out.push(set([...at, 'requests', name], q));
        for (const [name, q] of Object.entries(limits)) if (!gpusGiven || !gpuNames.includes(name)) out.push(set([...at, 'limits', name], q));
        gpusGiven = true;
      }
    }
    return mutations(out, warnings);
  },
};
