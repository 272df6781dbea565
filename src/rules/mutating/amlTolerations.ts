import { append } from '../../admission/patch.js';
import { missingTolerations } from '../../k8s/tolerations.js';
import { MutatingRuleId } from '../../policy/types.js';
import { amlTolerations as granted } from '../grants.js';
import { Needs, type MutatingRule } from '../rule.js';

/**
 * AML pods tolerate the AML taints: the static ones, the resource group / workspace / compute
 * taints with the pod's own label values (skipped when the label is absent), and the compute's
 * extra tolerations (grants.ts, which validation reads too).
 */
export const amlTolerations: MutatingRule = {
  id: MutatingRuleId.AmlTolerations,
  needs: Needs.KnownCompute,
  run(s) {
    return { mutations: missingTolerations(s.pod.tolerations, granted(s.policy, s.aml!)).map((t) => append(['spec', 'tolerations'], t)) };
  },
};
