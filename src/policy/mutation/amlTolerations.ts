import { append } from '../../admission/patch.js';
import { amlOwnTolerations } from '../pod.js';
import { podTolerations } from '../scheduling.js';
import { MutatingRuleId } from '../types.js';
import { mutations, nothing, unknownCompute, type MutatingRule } from './rule.js';
import { tolerationsToAdd } from './tolerations.js';

/**
 * AML pods tolerate the AML taints: the static ones, the resource group / workspace / compute
 * taints with the pod's own label values (skipped when the label is absent), and the compute's
 * extra tolerations. Validation recognises the same set as granted (amlOwnTolerations in pod.ts).
 */
export const amlTolerations: MutatingRule = {
  id: MutatingRuleId.AmlTolerations,
  mutate({ policy, pod, aml }) {
    if (!aml) return nothing;
    if (!aml.compute) return unknownCompute(aml);
    const wanted = [...policy.amlTaints.static, ...amlOwnTolerations(policy, aml), ...aml.compute.tolerations];
    return mutations(tolerationsToAdd(podTolerations(pod), wanted).map((t) => append(['spec', 'tolerations'], t)));
  },
};
