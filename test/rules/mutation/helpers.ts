import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { Pod as PodModel } from 'kubernetes-models/v1';
import type { Verdict } from '../../../src/admission/verdict.js';
import type { Pod } from '../../../src/k8s/pod.js';
import type { Policy } from '../../../src/policy/types.js';
import { mutatePod, podRequest, policyFrom } from '../../helpers/admission.js';

/**
 * A policy shaped like a real AKS cluster for AML: a CPU and a GPU pool, instance types that
 * select a pool, one that selects a VM size only (so node-pool must add the pool), compute
 * tolerations, a queue; and a second compute with gang scheduling off and custom pool labels.
 */
export const TEST_POLICY_YAML = `apiVersion: aml-admission.azure.com/v1alpha1
kind: AdmissionPolicy
computes:
  gpu-cluster:
    namespaces: [azureml]
    nodePools:
      cpupool: { gpu: false }
      gpupool:
        gpu: true
        taints: [{ key: sku, value: gpu, effect: NoSchedule }]
    defaultNodePool: cpupool
    defaultInstanceType: cpu-small
    instanceTypes:
      cpu-small:
        nodeSelector: { agentpool: cpupool }
        resources:
          requests: { cpu: "2", memory: 8Gi }
          limits: { cpu: "4", memory: 16Gi }
      gpu-1x:
        nodeSelector: { agentpool: gpupool }
        resources:
          requests: { cpu: "6", memory: 55Gi }
          limits: { cpu: "6", memory: 55Gi, nvidia.com/gpu: "1" }
      gpu-4x:
        nodeSelector: { agentpool: gpupool }
        resources:
          requests: { cpu: "24", memory: 220Gi }
          limits: { cpu: "24", memory: 220Gi, nvidia.com/gpu: "4" }
      nc6:
        nodeSelector: { node.kubernetes.io/instance-type: Standard_NC6s_v3 }
        resources:
          limits: { nvidia.com/gpu: "1" }
    tolerations:
      - { key: ml.azure.com/team, operator: Equal, value: vision, effect: NoSchedule }
    scheduler: { queue: vision }
  arc-compute:
    nodePools:
      pool-a: { labels: { kubernetes.azure.com/agentpool: pool-a, tier: batch } }
    defaultInstanceType: default
    instanceTypes:
      default: {}
    scheduler: { gang: false }
    blobfuse: { driver: azure/blobfuse-arc, tmpPath: /mnt/blobfuse, mountOptions: "" }
`;

export const testPolicy = (): Policy => policyFrom(TEST_POLICY_YAML);

/** The test policy with edits (the document is edited, then loaded with defaults). */
export const policyWith = (edit: (doc: any) => void): Policy => policyFrom(TEST_POLICY_YAML, edit);

export function fixture(name: string): Pod {
  return JSON.parse(readFileSync(new URL(`../../fixtures/pods/${name}.json`, import.meta.url), 'utf8')) as Pod;
}

export interface Mutated {
  readonly verdict: Verdict;
  readonly ops: jsonpatch.Operation[];
  /** The original with the returned patch applied by fast-json-patch (the oracle). */
  readonly pod: Pod;
}

export function mutate(policy: Policy, pod: Pod): Mutated {
  const before = JSON.stringify(pod);
  const verdict = mutatePod(policy, podRequest(pod));
  assert.equal(JSON.stringify(pod), before, 'the submitted pod is never modified');
  const ops = verdict.kind === 'patched' ? [...verdict.ops] : [];
  assert.equal(jsonpatch.validate(ops, structuredClone(pod)), undefined, 'the patch is valid for the pod');
  const out = jsonpatch.applyPatch(structuredClone(pod), structuredClone(ops), true, false).newDocument as Pod;
  return { verdict, ops, pod: out };
}

/** Throws with the schema error when the object is not a valid core/v1 Pod. */
export function assertValidPod(pod: Pod): void {
  new PodModel(pod as ConstructorParameters<typeof PodModel>[0]).validate();
}
