import { append } from '../../admission/patch.js';
import { missingTolerations } from '../../k8s/tolerations.js';
import { MutatingRuleId } from '../../policy/types.js';
import { Needs, nothing, type MutatingRule } from '../rule.js';

/**
 * Any pod (AML or not) whose containers or init containers request or limit a GPU resource
 * tolerates the GPU taints, as Kubernetes' ExtendedResourceToleration admission plugin does.
 */
export const gpuTolerations: MutatingRule = {
  id: MutatingRuleId.GpuTolerations,
  needs: Needs.Pod,
  run(s) {
    if (!s.requestsGpu) return nothing;
    return { mutations: missingTolerations(s.pod.tolerations, s.policy.gpu.tolerations).map((t) => append(['spec', 'tolerations'], t)) };
  },
};
