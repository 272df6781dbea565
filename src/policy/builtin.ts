import { loadPolicy } from './loader.js';
import type { Policy } from './types.js';

/**
 * The policy used when none is given: one example compute with a CPU and a GPU pool. It has no
 * wildcard, so a pod naming any other compute is denied by `policy-input` (SPEC §3).
 * `aml-admission policy default` prints it as a starting point.
 */
export const BUILTIN_POLICY_YAML = `apiVersion: aml-admission.azure.com/v1alpha1
kind: AdmissionPolicy
computes:
  example-compute:
    namespaces: [aml-training, default]
    nodePools:
      cpupool:
        gpu: false
      gpupool:
        gpu: true
        taints:
          - { key: sku, value: gpu, effect: NoSchedule }
    defaultNodePool: cpupool
    defaultInstanceType: defaultinstancetype
    instanceTypes:
      defaultinstancetype:
        nodeSelector: { agentpool: cpupool }
        resources:
          requests: { cpu: "1", memory: 4Gi }
          limits: { cpu: "2", memory: 8Gi }
      gpu-1:
        nodeSelector: { agentpool: gpupool }
        resources:
          requests: { cpu: "4", memory: 16Gi }
          limits: { cpu: "4", memory: 16Gi, nvidia.com/gpu: "1" }
    claims:
      resources:
        maxGpusPerPod: 8
`;

export function builtinPolicy(): Policy {
  const result = loadPolicy(BUILTIN_POLICY_YAML);
  if (!result.ok) throw new Error(`built-in policy is invalid: ${JSON.stringify(result.errors)}`);
  return result.policy;
}
