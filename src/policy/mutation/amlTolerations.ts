import { append } from '../../admission/patch.js';
import { podTolerations } from '../scheduling.js';
import { MutatingRuleId, type Toleration } from '../types.js';
import { mutations, nothing, unknownCompute, type MutatingRule } from './rule.js';
import { tolerationsToAdd } from './tolerations.js';

/**
 * AML pods tolerate the AML taints: the static ones, the resource group / workspace / compute
 * taints with the pod's own label values (skipped when the label is absent), and the compute's
 * extra tolerations.
 */
export const amlTolerations: MutatingRule = {
  id: MutatingRuleId.AmlTolerations,
  mutate({ policy, pod, aml }) {
    if (!aml) return nothing;
    if (!aml.compute) return unknownCompute(aml);
    const taints = policy.amlTaints;
    const own: Toleration[] = [];
    for (const [key, value] of [
      [taints.resourceGroupKey, aml.resourceGroup],
      [taints.workspaceKey, aml.workspace],
      [taints.computeKey, aml.computeName],
    ] as const) {
      if (value !== undefined) own.push({ key, operator: 'Equal', value, effect: taints.effect });
    }
    const wanted = [...taints.static, ...own, ...aml.compute.tolerations];
    return mutations(tolerationsToAdd(podTolerations(pod), wanted).map((t) => append(['spec', 'tolerations'], t)));
  },
};
