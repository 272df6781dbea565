import { readFileSync } from 'node:fs';
import type { Pod } from '../../../src/k8s/pod.js';
import type { Policy, RuleId, RuleSettings } from '../../../src/policy/types.js';
import { policyFrom } from '../../helpers/admission.js';

export { podRequest, validatePod, type RequestOpts } from '../../helpers/admission.js';

export const POLICY_YAML = readFileSync(new URL('../../fixtures/validation/policy.yaml', import.meta.url), 'utf8');

/** The test policy, optionally with some rules' settings changed. */
export function testPolicy(rules: Partial<Record<RuleId, Partial<RuleSettings>>> = {}): Policy {
  return policyFrom(POLICY_YAML, (doc) => (doc.rules = rules));
}

export interface PodOpts {
  compute?: string;
  instanceType?: string;
  gpus?: string | { requests?: string; limits?: string };
  nodeSelector?: Record<string, string>;
  terms?: unknown[];
  tolerations?: unknown[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  volumes?: unknown[];
  env?: { name: string; value: string }[];
}

/** A pod as validation sees it (already mutated); `compute` makes it an AML pod. */
export function pod(o: PodOpts = {}): Pod {
  const gpus = typeof o.gpus === 'string' ? { limits: o.gpus } : o.gpus;
  const resources = gpus
    ? { ...(gpus.requests ? { requests: { 'nvidia.com/gpu': gpus.requests } } : {}), ...(gpus.limits ? { limits: { 'nvidia.com/gpu': gpus.limits } } : {}) }
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'azureml',
      labels: {
        ...(o.compute ? { 'ml.azure.com/compute': o.compute } : {}),
        ...(o.instanceType ? { 'ml.azure.com/instance-type': o.instanceType } : {}),
        ...o.labels,
      },
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      containers: [{ name: 'main', image: 'busybox', ...(resources ? { resources } : {}), ...(o.env ? { env: o.env } : {}) }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.terms ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: o.terms } } } } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.volumes ? { volumes: o.volumes } : {}),
    },
  } as Pod;
}

/** Tolerations the mutating webhook gives an AML pod of `compute` (static AML ones and the compute's). */
export function amlTolerations(compute: string): unknown[] {
  return [
    { key: 'ml.azure.com/amlarc', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    { key: 'ml.azure.com/amlarc-workload', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    { key: 'ml.azure.com/compute', operator: 'Equal', value: compute, effect: 'NoSchedule' },
  ];
}

export const GPU_TOLERATIONS = [
  { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
  { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
];
