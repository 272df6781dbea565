import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadPolicy } from '../../src/policy/loader.js';
import type { Policy } from '../../src/policy/types.js';
import type { MemoryNodeCache } from '../../src/extender/cache.js';
import { loadStateText } from '../../src/extender/stateFile.js';

/** Shared inputs of the extender tests: the policy, the cluster and a pod builder. */

export const fixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/extender/${name}`, import.meta.url));
export const fixtureText = (name: string): string => readFileSync(fixturePath(name), 'utf8');
export const fixtureJson = (name: string): any => JSON.parse(fixtureText(name));

export function testPolicy(): Policy {
  const loaded = loadPolicy(fixtureText('policy.yaml'));
  if (!loaded.ok) throw new Error(`test policy is invalid: ${JSON.stringify(loaded.errors)}`);
  return loaded.policy;
}

/** A fresh cache holding cluster.yaml (its nodes and its pods' GPU usage). */
export function clusterCache(): MemoryNodeCache {
  return loadStateText(fixtureText('cluster.yaml')).cache;
}

/** The cluster's Node objects by name, as an informer holds them (no apiVersion/kind). */
export function clusterNodes(): Record<string, object> {
  const list = parseYaml(fixtureText('cluster.yaml')) as { items: Record<string, any>[] };
  const out: Record<string, object> = {};
  for (const { apiVersion: _apiVersion, kind, ...node } of list.items) if (kind === 'Node') out[node.metadata.name] = node;
  return out;
}

/** Short node names used by the tables. */
export const N = {
  cpu0: 'aks-cpupool-12345678-vmss000000',
  cpuNotReady: 'aks-cpupool-12345678-vmss000001',
  cpuCordoned: 'aks-cpupool-12345678-vmss000002',
  gpuFree: 'aks-gpupool-23456789-vmss000000',
  gpu6Used: 'aks-gpupool-23456789-vmss000001',
  gpu4Used: 'aks-gpupool-23456789-vmss000002',
  gpu4Node: 'aks-gpu4pool-34567890-vmss000000',
  batch0: 'aks-batchpool-45678901-vmss000000',
  system0: 'aks-system-56789012-vmss000000',
} as const;
export const ALL_NODES: readonly string[] = Object.values(N);

export interface PodSpec {
  readonly name?: string;
  readonly namespace?: string;
  /** ml.azure.com/compute label: makes it an AML pod. */
  readonly compute?: string;
  readonly gpus?: number | string;
  /** Tolerate the GPU pools' sku=gpu taint (and nvidia.com/gpu, as gpu-tolerations adds). */
  readonly tolerateGpu?: boolean;
  readonly tolerations?: object[];
  readonly nodeSelector?: Record<string, string>;
  readonly job?: string;
}

/** A pod as kube-scheduler sends it, with only the fields the tables vary. */
export function pod(s: PodSpec = {}): Record<string, any> {
  const labels: Record<string, string> = {};
  if (s.compute)
    Object.assign(labels, { 'ml.azure.com/compute': s.compute, 'ml.azure.com/workspace': 'ws-vision', 'ml.azure.com/resource-group': 'rg-ml-prod' });
  if (s.job) labels['training.kubeflow.org/job-name'] = s.job;
  const limits: Record<string, string> = { cpu: '4', memory: '16Gi' };
  if (s.gpus !== undefined && s.gpus !== 0) limits['nvidia.com/gpu'] = String(s.gpus);
  const tolerations = [
    ...(s.tolerateGpu
      ? [
          { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
          { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
        ]
      : []),
    // aml-tolerations gives an AML pod its own compute's taint (the reserved pool's).
    ...(s.compute ? [{ key: 'ml.azure.com/compute', operator: 'Equal', value: s.compute, effect: 'NoSchedule' }] : []),
    ...(s.tolerations ?? []),
  ];
  return {
    metadata: {
      name: s.name ?? 'train-0',
      namespace: s.namespace ?? 'azureml',
      uid: '0f4b8a2c-3d5e-4f60-8a1b-2c3d4e5f6a7b',
      ...(Object.keys(labels).length ? { labels } : {}),
    },
    spec: {
      containers: [{ name: 'main', image: 'mcr.microsoft.com/azureml/curated/acpt-pytorch-2.2-cuda12.1:latest', resources: { limits, requests: limits } }],
      schedulerName: 'azureml-scheduler',
      ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
      ...(tolerations.length ? { tolerations } : {}),
    },
    status: { phase: 'Pending' },
  };
}
