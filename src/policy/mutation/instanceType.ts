import { set, type Mutation } from '../../admission/patch.js';
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

/**
 * AML pods get their instance type's nodeSelector (keys the pod has not set) and its
 * requests/limits in regular containers that set none. A key the pod set to another value is
 * kept, with a warning; whether it is allowed is for validation to judge.
 */
export const instanceType: MutatingRule = {
  id: MutatingRuleId.InstanceType,
  mutate({ pod, aml }) {
    if (!aml) return nothing;
    if (!aml.compute) return unknownCompute(aml);
    const type = aml.instanceType;
    if (!type) return skip(`instance type "${aml.instanceTypeName}" is not in compute "${aml.computeName}"`);
    const out: Mutation[] = [];
    const warnings: string[] = [];
    const selector = nodeSelectorOf(pod);
    for (const [key, value] of Object.entries(type.nodeSelector)) {
      if (!Object.hasOwn(selector, key)) out.push(set(['spec', 'nodeSelector', key], value));
      else if (selector[key] !== value) warnings.push(`nodeSelector ${key}=${selector[key]} kept; instance type wants ${value}`);
    }
    const { requests, limits } = type.resources;
    if (hasEntries(requests) || hasEntries(limits)) {
      for (const { index, container } of indexed(pod.spec?.containers)) {
        if (!setsNoResources(container)) continue;
        const at = ['spec', 'containers', index, 'resources'] as const;
        for (const [name, q] of Object.entries(requests)) out.push(set([...at, 'requests', name], q));
        for (const [name, q] of Object.entries(limits)) out.push(set([...at, 'limits', name], q));
      }
    }
    return mutations(out, warnings);
  },
};
