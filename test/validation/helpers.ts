import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { AdmissionRequest, Operation } from '../../src/admission/request.js';
import { loadPolicyObject } from '../../src/policy/loader.js';
import type { Pod } from '../../src/policy/pod.js';
import type { Policy, RuleId, RuleSettings } from '../../src/policy/types.js';

export const POLICY_YAML = readFileSync(new URL('../fixtures/validation/policy.yaml', import.meta.url), 'utf8');

/** The test policy, optionally with some rules' settings changed. */
export function testPolicy(rules: Partial<Record<RuleId, Partial<RuleSettings>>> = {}): Policy {
  const doc = parse(POLICY_YAML) as Record<string, unknown>;
  const result = loadPolicyObject({ ...doc, rules });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

export interface RequestOpts {
  operation?: Operation;
  namespace?: string;
  username?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  dryRun?: boolean;
  oldObject?: unknown;
}

/** A version-neutral Pod request as the wire codec would build it. */
export function podRequest(pod: unknown, o: RequestOpts = {}): AdmissionRequest {
  return {
    uid: 'test-uid-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: o.operation ?? 'CREATE',
    namespace: o.namespace ?? 'azureml',
    name: 'p',
    userInfo: { username: o.username ?? 'alice@contoso.com', groups: o.groups ?? ['system:authenticated'], extra: o.extra ?? {} },
    object: pod,
    oldObject: o.oldObject ?? null,
    dryRun: o.dryRun ?? false,
  };
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
