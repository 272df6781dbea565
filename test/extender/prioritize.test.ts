import assert from 'node:assert/strict';
import { prioritize } from '../../src/extender/extender.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { clusterCache, clusterNodes, N, pod, testPolicy } from './fixtures.js';

const snapshot = new PolicySnapshot(testPolicy());
const cache = clusterCache();
const nodeObjects = clusterNodes();

// cluster.yaml: gpuFree 0/8 GPUs in use, gpu6Used 6/8 (job llama-ft in azureml), gpu4Used 4/8, gpu4Node 0/4.
const cases: { name: string; given: { pod: object; nodes: string[] }; want: Record<string, number> }[] = [
  {
    name: 'a 2-GPU pod prefers the node it fills most: round(10 × (in use + 2) / allocatable)',
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 2, tolerateGpu: true }), nodes: [N.gpuFree, N.gpu6Used, N.gpu4Used, N.gpu4Node, N.cpu0] },
    want: { [N.gpuFree]: 3, [N.gpu6Used]: 10, [N.gpu4Used]: 8, [N.gpu4Node]: 5, [N.cpu0]: 0 },
  },
  {
    name: 'a 4-GPU pod prefers a whole 4-GPU node to half of an empty 8-GPU node, keeping the 8 free for an 8-GPU job',
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 4, tolerateGpu: true }), nodes: [N.gpuFree, N.gpu4Node, N.gpu6Used] },
    want: { [N.gpuFree]: 5, [N.gpu4Node]: 10, [N.gpu6Used]: 0 },
  },
  {
    name: "a gang pod prefers its peers' pool to a fuller node elsewhere: round(4 × pack + 6 × peer share)",
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 2, tolerateGpu: true, job: 'llama-ft' }), nodes: [N.gpuFree, N.gpu6Used, N.gpu4Used, N.gpu4Node] },
    want: { [N.gpuFree]: 7, [N.gpu6Used]: 10, [N.gpu4Used]: 9, [N.gpu4Node]: 2 },
  },
  {
    name: 'gang peers count only in the pod’s own namespace',
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 2, tolerateGpu: true, job: 'llama-ft', namespace: 'team-b' }), nodes: [N.gpuFree, N.gpu4Node] },
    want: { [N.gpuFree]: 3, [N.gpu4Node]: 5 },
  },
  {
    name: 'a pod without GPUs prefers nodes without GPUs',
    given: { pod: pod({ compute: 'gpu-cluster' }), nodes: [N.cpu0, N.gpuFree, N.batch0, N.gpu4Node] },
    want: { [N.cpu0]: 10, [N.gpuFree]: 0, [N.batch0]: 10, [N.gpu4Node]: 0 },
  },
  {
    name: 'a node the cache has never seen scores 0',
    given: { pod: pod(), nodes: ['aks-new-99999999-vmss000000', N.cpu0] },
    want: { 'aks-new-99999999-vmss000000': 0, [N.cpu0]: 10 },
  },
];

describe('extender prioritize', () => {
  for (const t of cases) {
    it(t.name, () => {
      const body = JSON.parse(JSON.stringify({ Pod: t.given.pod, Nodes: null, NodeNames: t.given.nodes }));
      const answer = prioritize(body, { snapshot, view: cache.view() });
      assert.deepEqual(
        JSON.parse(answer.payload),
        Object.entries(t.want).map(([Host, Score]) => ({ Host, Score })),
      );
      assert.equal(answer.decision, 'scored');
    });
  }

  it('scores full Node objects (Nodes mode) the same way, with usage from the cache', () => {
    const nodes = [N.gpuFree, N.gpu6Used, N.gpu4Used, N.gpu4Node];
    const body = JSON.parse(
      JSON.stringify({
        Pod: pod({ compute: 'gpu-cluster', gpus: 2, tolerateGpu: true }),
        Nodes: { metadata: {}, items: nodes.map((n) => nodeObjects[n]) },
        NodeNames: null,
      }),
    );
    assert.deepEqual(JSON.parse(prioritize(body, { snapshot, view: cache.view() }).payload), [
      { Host: N.gpuFree, Score: 3 },
      { Host: N.gpu6Used, Score: 10 },
      { Host: N.gpu4Used, Score: 8 },
      { Host: N.gpu4Node, Score: 5 },
    ]);
  });
});
