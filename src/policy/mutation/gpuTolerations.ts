import { append } from '../../admission/patch.js';
import { requestsGpu } from '../pod.js';
import { podTolerations } from '../scheduling.js';
import { MutatingRuleId } from '../types.js';
import { mutations, nothing, type MutatingRule } from './rule.js';
import { tolerationsToAdd } from './tolerations.js';

/**
 * Any pod (AML or not) whose containers or init containers request or limit a GPU resource
 * tolerates the GPU taints, as Kubernetes' ExtendedResourceToleration admission plugin does.
 */
export const gpuTolerations: MutatingRule = {
  id: MutatingRuleId.GpuTolerations,
  mutate({ policy, pod }) {
    if (!requestsGpu(pod, policy.gpu.resourceNames)) return nothing;
    return mutations(tolerationsToAdd(podTolerations(pod), policy.gpu.tolerations).map((t) => append(['spec', 'tolerations'], t)));
  },
};
