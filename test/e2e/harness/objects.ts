import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { ControlPlane } from './controlPlane.js';
import { waitFor } from './processes.js';

export const POLICY_FILE = new URL('../fixtures/policy.yaml', import.meta.url).pathname;

/** A pod of the e2e policy's gpu-compute; `gpus` asks for them itself, `instanceType` by label. */
export function amlPod(
  name: string,
  namespace: string,
  opts: { instanceType?: string; gpus?: number; compute?: string; labels?: Record<string, string>; schedulerName?: string } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: {
        'ml.azure.com/compute': opts.compute ?? 'gpu-compute',
        ...(opts.instanceType ? { 'ml.azure.com/instance-type': opts.instanceType } : {}),
        ...opts.labels,
      },
    },
    spec: {
      ...(opts.schedulerName ? { schedulerName: opts.schedulerName } : {}),
      containers: [
        {
          name: 'trainer',
          image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
          ...(opts.gpus ? { resources: { limits: { 'nvidia.com/gpu': String(opts.gpus) } } } : {}),
        },
      ],
    },
  };
}

export function core(plane: ControlPlane): CoreV1Api {
  return plane.kubeConfig().makeApiClient(CoreV1Api);
}

export async function readPod(plane: ControlPlane, namespace: string, name: string): Promise<V1Pod> {
  return core(plane).readNamespacedPod({ namespace, name });
}

export async function podExists(plane: ControlPlane, namespace: string, name: string): Promise<boolean> {
  return readPod(plane, namespace, name).then(
    () => true,
    (err: { code?: number }) => {
      if (err.code === 404) return false;
      throw err;
    },
  );
}

/** Events about an object, newest last. */
export async function eventsFor(
  plane: ControlPlane,
  namespace: string,
  kind: string,
  name: string,
): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await core(plane).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return list.items.map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
}

export function waitForEvent(
  plane: ControlPlane,
  namespace: string,
  kind: string,
  name: string,
  match: (e: { type: string; reason: string; message: string }) => boolean,
  timeoutMs = 60_000,
) {
  return waitFor(`an Event on ${kind} ${namespace}/${name}`, async () => (await eventsFor(plane, namespace, kind, name)).find(match), {
    timeoutMs,
    intervalMs: 250,
  });
}

/**
 * A Node as a kubelet would register it, made schedulable by hand: no kubelet and no
 * node-lifecycle controller run here, so the test sets the Ready condition and removes the
 * `node.kubernetes.io/not-ready` taint that TaintNodesByCondition put on it at creation.
 */
export async function createNode(
  plane: ControlPlane,
  name: string,
  opts: { labels: Record<string, string>; taints?: { key: string; value?: string; effect: string }[]; gpus?: number; ready?: boolean },
): Promise<void> {
  const api = core(plane);
  await api.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } }, spec: { taints: opts.taints ?? [] } } });
  const capacity: Record<string, string> = { cpu: '32', memory: '256Gi', pods: '110', ...(opts.gpus ? { 'nvidia.com/gpu': String(opts.gpus) } : {}) };
  const now = new Date();
  const ready = opts.ready ?? true;
  const status = {
    capacity,
    allocatable: capacity,
    conditions: [
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'KubeletReady' : 'KubeletNotReady',
        message: 'set by the e2e test',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
  };
  await retryConflicts(async () => api.replaceNodeStatus({ name, body: { ...(await api.readNode({ name })), status } }));
  await retryConflicts(async () => {
    const node = await api.readNode({ name });
    node.spec = { ...node.spec, taints: (node.spec?.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/not-ready') };
    await api.replaceNode({ name, body: node });
  });
}

/** Read-modify-write against controllers that write the same object (the controller manager's ttl controller annotates new nodes). */
async function retryConflicts(write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 10) throw err;
    }
  }
}
