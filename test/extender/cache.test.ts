import assert from 'node:assert/strict';
import { MemoryNodeCache } from '../../src/extender/cache.js';

const JOB_LABELS = ['training.kubeflow.org/job-name', 'volcano.sh/job-name'];

function gpuNode(name: string, gpus: number, extra: Record<string, unknown> = {}): object {
  return {
    metadata: { name, labels: { agentpool: 'gpupool' } },
    spec: {
      taints: [
        { key: 'sku', value: 'gpu', effect: 'NoSchedule' },
        { key: 'spot', effect: 'PreferNoSchedule' },
      ],
    },
    status: {
      allocatable: { cpu: '94', memory: '1800Gi', 'nvidia.com/gpu': String(gpus) },
      capacity: { 'nvidia.com/gpu': '16' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
    ...extra,
  };
}

function gpuPod(
  name: string,
  opts: { node?: string; gpus?: number; phase?: string; job?: string; namespace?: string; init?: number; sidecar?: number } = {},
): object {
  return {
    metadata: { name, namespace: opts.namespace ?? 'azureml', ...(opts.job ? { labels: { 'volcano.sh/job-name': opts.job } } : {}) },
    spec: {
      ...(opts.node ? { nodeName: opts.node } : {}),
      containers: [{ name: 'main', resources: { limits: { cpu: '4', 'nvidia.com/gpu': String(opts.gpus ?? 1) } } }],
      initContainers: [
        ...(opts.sidecar ? [{ name: 'sidecar', restartPolicy: 'Always', resources: { limits: { 'nvidia.com/gpu': String(opts.sidecar) } } }] : []),
        ...(opts.init ? [{ name: 'init', resources: { limits: { 'nvidia.com/gpu': String(opts.init) } } }] : []),
      ],
    },
    status: { phase: opts.phase ?? 'Running' },
  };
}

describe('MemoryNodeCache', () => {
  it('projects a node: labels, hard taints only, readiness, cordon and allocatable (not capacity) extended resources', () => {
    const cache = new MemoryNodeCache();
    assert.equal(
      cache.upsertNode(
        gpuNode('n1', 8, {
          spec: {
            unschedulable: true,
            taints: [
              { key: 'sku', value: 'gpu', effect: 'NoSchedule' },
              { key: 'spot', effect: 'PreferNoSchedule' },
            ],
          },
        }),
      ),
      true,
    );
    assert.deepEqual(cache.view().node('n1'), {
      name: 'n1',
      nameJson: '"n1"',
      labels: { agentpool: 'gpupool' },
      hardTaints: [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }],
      taintSignature: 'sku=gpu:NoSchedule',
      ready: true,
      unschedulable: true,
      allocatable: { 'nvidia.com/gpu': 8 },
    });
  });

  const notNodes: { name: string; given: unknown }[] = [
    { name: 'null', given: null },
    { name: 'a string', given: 'node' },
    { name: 'a node without metadata', given: { spec: {} } },
    { name: 'a node with an empty name', given: { metadata: { name: '' } } },
  ];
  for (const t of notNodes) {
    it(`ignores ${t.name} given as a node`, () => {
      const cache = new MemoryNodeCache();
      assert.equal(cache.upsertNode(t.given), false);
      assert.deepEqual(cache.size, { nodes: 0, pods: 0 });
    });
  }

  it('treats a node with junk in its fields as not Ready, untainted and without GPUs rather than throwing', () => {
    const cache = new MemoryNodeCache();
    cache.upsertNode({
      metadata: { name: 'junk', labels: { a: 1, b: 'x' } },
      spec: { taints: 'no', unschedulable: 'yes' },
      status: { conditions: {}, allocatable: { 'nvidia.com/gpu': '1.5', 'amd.com/gpu': -2 } },
    });
    assert.deepEqual(cache.view().node('junk'), {
      name: 'junk',
      nameJson: '"junk"',
      labels: { b: 'x' },
      hardTaints: [],
      taintSignature: '',
      ready: false,
      unschedulable: false,
      allocatable: {},
    });
  });

  const usage: { name: string; given: object[]; want: number }[] = [
    { name: 'a running pod bound to the node holds its GPUs', given: [gpuPod('a', { node: 'n1', gpus: 3 })], want: 3 },
    { name: 'pods bound to another node hold nothing here', given: [gpuPod('a', { node: 'n2', gpus: 3 })], want: 0 },
    { name: 'a pod not yet bound holds nothing', given: [gpuPod('a', { gpus: 3, phase: 'Pending' })], want: 0 },
    {
      name: 'Succeeded and Failed pods hold nothing',
      given: [gpuPod('a', { node: 'n1', gpus: 3, phase: 'Succeeded' }), gpuPod('b', { node: 'n1', gpus: 2, phase: 'Failed' })],
      want: 0,
    },
    { name: 'a Pending pod already bound holds its GPUs', given: [gpuPod('a', { node: 'n1', gpus: 2, phase: 'Pending' })], want: 2 },
    {
      name: 'an update replaces the earlier version of the same pod',
      given: [gpuPod('a', { node: 'n1', gpus: 3 }), gpuPod('a', { node: 'n1', gpus: 1 })],
      want: 1,
    },
    {
      name: 'a pod that finishes gives its GPUs back',
      given: [gpuPod('a', { node: 'n1', gpus: 3 }), gpuPod('a', { node: 'n1', gpus: 3, phase: 'Succeeded' })],
      want: 0,
    },
    {
      name: 'pods of the same name in two namespaces are two pods',
      given: [gpuPod('a', { node: 'n1', gpus: 3 }), gpuPod('a', { node: 'n1', gpus: 2, namespace: 'team-b' })],
      want: 5,
    },
    { name: 'the largest init container counts when it exceeds the containers', given: [gpuPod('a', { node: 'n1', gpus: 1, init: 4 })], want: 4 },
    { name: 'a sidecar (restartable init container) runs beside the containers', given: [gpuPod('a', { node: 'n1', gpus: 3, sidecar: 1 })], want: 4 },
    {
      name: 'an init container after a sidecar runs beside it',
      given: [gpuPod('a', { node: 'n1', gpus: 1, sidecar: 1, init: 3 })],
      want: 4,
    },
    {
      name: 'a quantity that is not a whole number counts as zero',
      given: [{ metadata: { name: 'x' }, spec: { nodeName: 'n1', containers: [{ resources: { limits: { 'nvidia.com/gpu': '0.5' } } }] } }],
      want: 0,
    },
    { name: 'pods that are not objects are ignored', given: [null as unknown as object, { metadata: {} }, { metadata: { name: 'p' }, spec: 'x' }], want: 0 },
  ];
  for (const t of usage) {
    it(`counts used GPUs: ${t.name}`, () => {
      const cache = new MemoryNodeCache();
      for (const p of t.given) cache.upsertPod(p);
      assert.equal(cache.view().used('n1', 'nvidia.com/gpu'), t.want);
    });
  }

  it('gives GPUs back when a pod is deleted, and forgets the node entry when nothing is left', () => {
    const cache = new MemoryNodeCache();
    cache.upsertPod(gpuPod('a', { node: 'n1', gpus: 3 }));
    cache.upsertPod(gpuPod('b', { node: 'n1', gpus: 2 }));
    cache.deletePod('azureml', 'a');
    assert.equal(cache.view().used('n1', 'nvidia.com/gpu'), 2);
    cache.deletePod('azureml', 'b');
    cache.deletePod('azureml', 'never-seen');
    assert.equal(cache.view().used('n1', 'nvidia.com/gpu'), 0);
    assert.deepEqual(cache.size, { nodes: 0, pods: 0 });
  });

  it('deletes nodes by name', () => {
    const cache = new MemoryNodeCache();
    cache.upsertNode(gpuNode('n1', 8));
    cache.deleteNode('n1');
    assert.equal(cache.view().node('n1'), undefined);
  });

  it('tracks which nodes run the pods of a job, per namespace, as pods come and go', () => {
    const cache = new MemoryNodeCache();
    cache.upsertPod(gpuPod('w0', { node: 'n1', job: 'llama' }));
    assert.deepEqual([...(cache.view().jobPeers('azureml', 'llama', JOB_LABELS) ?? [])], [['n1', 1]]);
    // Built on first use, then kept up to date incrementally.
    cache.upsertPod(gpuPod('w1', { node: 'n1', job: 'llama' }));
    cache.upsertPod(gpuPod('w2', { node: 'n2', job: 'llama' }));
    cache.upsertPod(gpuPod('w3', { node: 'n3', job: 'llama', namespace: 'team-b' }));
    cache.upsertPod(gpuPod('w4', { node: 'n4', job: 'llama', phase: 'Failed' }));
    assert.deepEqual(
      [...(cache.view().jobPeers('azureml', 'llama', JOB_LABELS) ?? [])],
      [
        ['n1', 2],
        ['n2', 1],
      ],
    );
    cache.deletePod('azureml', 'w0');
    cache.deletePod('azureml', 'w1');
    cache.deletePod('azureml', 'w2');
    assert.equal(cache.view().jobPeers('azureml', 'llama', JOB_LABELS), undefined);
    assert.deepEqual([...(cache.view().jobPeers('team-b', 'llama', JOB_LABELS) ?? [])], [['n3', 1]]);
  });

  it('rebuilds job membership when the policy names other job labels', () => {
    const cache = new MemoryNodeCache();
    cache.upsertPod({ metadata: { name: 'w0', namespace: 'azureml', labels: { 'app.example.com/job': 'sweep' } }, spec: { nodeName: 'n1', containers: [] } });
    assert.equal(cache.view().jobPeers('azureml', 'sweep', JOB_LABELS), undefined);
    assert.deepEqual([...(cache.view().jobPeers('azureml', 'sweep', ['app.example.com/job']) ?? [])], [['n1', 1]]);
  });
});
