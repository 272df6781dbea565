import assert from 'node:assert/strict';
import { filter } from '../../src/extender/extender.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { ALL_NODES, clusterCache, clusterNodes, N, pod, testPolicy } from './fixtures.js';

const snapshot = new PolicySnapshot(testPolicy());
const cache = clusterCache();
const nodeObjects = clusterNodes();

const NOT_IN_GPU_CLUSTER = 'node is not in a node pool of compute "gpu-cluster" (cpupool, gpupool, gpu4pool)';
const NOT_READY = 'node is not Ready';
const CORDONED = 'node is cordoned (spec.unschedulable)';
const RESERVED_FOR_GPU_PODS = 'GPU pool "gpupool" is reserved for pods that request GPUs';
const RESERVED_FOR_COMPUTE = 'node pool "gpupool" is reserved for compute "gpu-cluster"';

interface Case {
  readonly name: string;
  readonly given: { readonly pod: object; readonly nodes: readonly string[] };
  readonly want: { readonly kept: readonly string[]; readonly failed?: Record<string, string>; readonly unresolvable?: Record<string, string> };
}

const cases: Case[] = [
  {
    name: 'an AML pod asking for 4 GPUs keeps the GPU nodes with 4 free and says why every other node fails',
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 4, tolerateGpu: true }), nodes: ALL_NODES },
    want: {
      kept: [N.gpuFree, N.gpu4Used, N.gpu4Node],
      failed: { [N.gpu6Used]: 'fewer than 4 nvidia.com/gpu free on the node' },
      unresolvable: {
        [N.cpu0]: 'node has fewer than 4 nvidia.com/gpu allocatable',
        [N.cpuNotReady]: NOT_READY,
        [N.cpuCordoned]: CORDONED,
        [N.batch0]: NOT_IN_GPU_CLUSTER,
        [N.system0]: NOT_IN_GPU_CLUSTER,
      },
    },
  },
  {
    name: 'an AML pod without GPUs stays off the reserved GPU pool and off GPU nodes whose taint it does not tolerate',
    given: { pod: pod({ compute: 'gpu-cluster' }), nodes: ALL_NODES },
    want: {
      kept: [N.cpu0],
      unresolvable: {
        [N.cpuNotReady]: NOT_READY,
        [N.cpuCordoned]: CORDONED,
        [N.gpuFree]: RESERVED_FOR_GPU_PODS,
        [N.gpu6Used]: RESERVED_FOR_GPU_PODS,
        [N.gpu4Used]: RESERVED_FOR_GPU_PODS,
        [N.gpu4Node]: 'node has taint sku=gpu:NoSchedule that the pod does not tolerate',
        [N.batch0]: NOT_IN_GPU_CLUSTER,
        [N.system0]: NOT_IN_GPU_CLUSTER,
      },
    },
  },
  {
    name: 'a pod that is not an AML pod gets only the generic checks and may not use a reserved pool',
    given: { pod: pod({ gpus: 1, tolerateGpu: true }), nodes: ALL_NODES },
    want: {
      kept: [N.gpu4Node],
      unresolvable: {
        [N.cpu0]: 'node has fewer than 1 nvidia.com/gpu allocatable',
        [N.cpuNotReady]: NOT_READY,
        [N.cpuCordoned]: CORDONED,
        [N.gpuFree]: RESERVED_FOR_COMPUTE,
        [N.gpu6Used]: RESERVED_FOR_COMPUTE,
        [N.gpu4Used]: RESERVED_FOR_COMPUTE,
        [N.batch0]: 'node has fewer than 1 nvidia.com/gpu allocatable',
        [N.system0]: 'node has taint CriticalAddonsOnly=true:NoSchedule that the pod does not tolerate',
      },
    },
  },
  {
    name: "an AML pod of another compute is kept off gpu-cluster's pools, reserved or not",
    given: { pod: pod({ compute: 'cpu-cluster', gpus: 1, tolerateGpu: true }), nodes: [N.batch0, N.gpuFree] },
    want: {
      kept: [],
      unresolvable: {
        [N.batch0]: 'node has fewer than 1 nvidia.com/gpu allocatable',
        [N.gpuFree]: 'node is not in a node pool of compute "cpu-cluster" (batchpool)',
      },
    },
  },
  {
    name: 'an AML pod naming a compute the policy does not define fits no node',
    given: { pod: pod({ compute: 'ghost' }), nodes: [N.cpu0, N.cpuNotReady, N.gpu4Node] },
    want: {
      kept: [],
      unresolvable: {
        [N.cpu0]: 'compute "ghost" is not defined in the policy',
        [N.cpuNotReady]: NOT_READY,
        [N.gpu4Node]: 'compute "ghost" is not defined in the policy',
      },
    },
  },
  {
    name: 'an 8-GPU pod fails partly used nodes as resolvable and nodes with too few GPUs as unresolvable',
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 8, tolerateGpu: true }), nodes: [N.gpuFree, N.gpu6Used, N.gpu4Used, N.gpu4Node] },
    want: {
      kept: [N.gpuFree],
      failed: { [N.gpu6Used]: 'fewer than 8 nvidia.com/gpu free on the node', [N.gpu4Used]: 'fewer than 8 nvidia.com/gpu free on the node' },
      unresolvable: { [N.gpu4Node]: 'node has fewer than 8 nvidia.com/gpu allocatable' },
    },
  },
  {
    name: "a pod's nodeSelector keeps it inside the pool it names",
    given: { pod: pod({ compute: 'gpu-cluster', gpus: 2, tolerateGpu: true, nodeSelector: { agentpool: 'gpupool' } }), nodes: [N.gpu4Node, N.gpuFree, N.cpu0] },
    want: {
      kept: [N.gpuFree],
      unresolvable: {
        [N.gpu4Node]: "node does not match the pod's nodeSelector or required node affinity",
        [N.cpu0]: "node does not match the pod's nodeSelector or required node affinity",
      },
    },
  },
  {
    name: "a pod of the CPU-only compute is kept only on its compute's pool",
    given: { pod: pod({ compute: 'cpu-cluster', nodeSelector: { agentpool: 'batchpool' } }), nodes: [N.batch0, N.cpu0] },
    want: { kept: [N.batch0], unresolvable: { [N.cpu0]: 'node is not in a node pool of compute "cpu-cluster" (batchpool)' } },
  },
  {
    name: 'a pod that tolerates every taint may use a tainted node but never a cordoned one',
    given: { pod: pod({ tolerations: [{ operator: 'Exists' }] }), nodes: [N.system0, N.cpuCordoned, N.gpu4Node] },
    want: { kept: [N.system0, N.gpu4Node], unresolvable: { [N.cpuCordoned]: CORDONED } },
  },
];

function args(mode: 'NodeNames' | 'Nodes', podObject: object, names: readonly string[]): unknown {
  const body =
    mode === 'NodeNames'
      ? { Pod: podObject, Nodes: null, NodeNames: names }
      : { Pod: podObject, Nodes: { metadata: {}, items: names.map((n) => nodeObjects[n]) }, NodeNames: null };
  return JSON.parse(JSON.stringify(body)); // exactly what arrives over the wire
}

function wantJson(mode: 'NodeNames' | 'Nodes', want: Case['want']): unknown {
  return {
    Nodes: mode === 'Nodes' ? { metadata: {}, items: want.kept.map((n) => nodeObjects[n]) } : null,
    NodeNames: mode === 'NodeNames' ? want.kept : null,
    FailedNodes: want.failed ?? {},
    FailedAndUnresolvableNodes: want.unresolvable ?? {},
    Error: '',
  };
}

describe('extender filter', () => {
  for (const mode of ['NodeNames', 'Nodes'] as const) {
    describe(`in ${mode} mode`, () => {
      for (const t of cases) {
        it(t.name, () => {
          const answer = filter(args(mode, t.given.pod, t.given.nodes), { snapshot, view: cache.view() });
          assert.deepEqual(JSON.parse(answer.payload), wantJson(mode, t.want));
          assert.equal(answer.decision, t.want.kept.length > 0 ? 'fit' : 'no_fit');
        });
      }
    });
  }

  it('fails a node the cache has never seen as unresolvable in NodeNames mode', () => {
    const answer = filter(args('NodeNames', pod(), [N.cpu0, 'aks-new-99999999-vmss000000']), { snapshot, view: cache.view() });
    assert.deepEqual(JSON.parse(answer.payload), {
      Nodes: null,
      NodeNames: [N.cpu0],
      FailedNodes: {},
      FailedAndUnresolvableNodes: { 'aks-new-99999999-vmss000000': "node is not in the extender's node cache" },
      Error: '',
    });
  });

  it('judges a Nodes-mode node the cache has never seen from the request alone', () => {
    const newNode = { ...nodeObjects[N.cpu0], metadata: { ...(nodeObjects[N.cpu0] as any).metadata, name: 'aks-cpupool-12345678-vmss000009' } };
    const body = JSON.parse(JSON.stringify({ Pod: pod({ compute: 'gpu-cluster' }), Nodes: { items: [newNode] } }));
    const answer = filter(body, { snapshot, view: cache.view() });
    assert.deepEqual(JSON.parse(answer.payload).Nodes.items, [newNode]);
  });

  it('accepts the keys in any letter case, as the scheduler’s Go decoder does', () => {
    const body = { pod: pod({ compute: 'gpu-cluster' }), nodenames: [N.cpu0] };
    assert.deepEqual(JSON.parse(filter(body, { snapshot, view: cache.view() }).payload).NodeNames, [N.cpu0]);
  });

  it('answers an empty result for a Nodes list whose items are null (a nil slice in Go)', () => {
    const answer = filter({ Pod: pod(), Nodes: { metadata: {}, items: null }, NodeNames: null }, { snapshot, view: cache.view() });
    assert.deepEqual(JSON.parse(answer.payload), {
      Nodes: { metadata: {}, items: [] },
      NodeNames: null,
      FailedNodes: {},
      FailedAndUnresolvableNodes: {},
      Error: '',
    });
  });

  it('counts GPUs of pods in any container and the largest init container, and ignores PreferNoSchedule taints', () => {
    const p = pod({ compute: 'gpu-cluster', tolerateGpu: true });
    p.spec.containers.push({ name: 'sidecar', resources: { limits: { 'nvidia.com/gpu': '2' } } });
    p.spec.containers.push({ name: 'main2', resources: { limits: { 'nvidia.com/gpu': '2' } } });
    p.spec.initContainers = [{ name: 'warmup', resources: { limits: { 'nvidia.com/gpu': '3' } } }];
    // 4 GPUs in all: gpu6Used (2 free) fails, gpu4Used (4 free) fits.
    const soft = {
      ...(nodeObjects[N.gpu4Used] as any),
      spec: {
        ...(nodeObjects[N.gpu4Used] as any).spec,
        taints: [
          { key: 'sku', value: 'gpu', effect: 'NoSchedule' },
          { key: 'spot', effect: 'PreferNoSchedule' },
        ],
      },
    };
    const body = JSON.parse(JSON.stringify({ Pod: p, Nodes: { items: [nodeObjects[N.gpu6Used], soft] } }));
    const result = JSON.parse(filter(body, { snapshot, view: cache.view() }).payload);
    assert.deepEqual(
      result.Nodes.items.map((n: any) => n.metadata.name),
      [N.gpu4Used],
    );
    assert.deepEqual(result.FailedNodes, { [N.gpu6Used]: 'fewer than 4 nvidia.com/gpu free on the node' });
  });

  it('counts a sidecar’s GPUs for the pod’s whole life, and an init container’s beside the sidecars before it (KEP-753)', () => {
    const withSidecar = pod({ compute: 'gpu-cluster', gpus: 2, tolerateGpu: true });
    withSidecar.spec.initContainers = [{ name: 'proxy', restartPolicy: 'Always', resources: { limits: { 'nvidia.com/gpu': '1' } } }];
    const initAfterSidecar = pod({ compute: 'gpu-cluster', gpus: 1, tolerateGpu: true });
    initAfterSidecar.spec.initContainers = [
      { name: 'proxy', restartPolicy: 'Always', resources: { limits: { 'nvidia.com/gpu': '1' } } },
      { name: 'warmup', resources: { limits: { 'nvidia.com/gpu': '2' } } },
    ];
    // Both need 3 GPUs; gpu6Used has 2 free, gpu4Used 4.
    for (const p of [withSidecar, initAfterSidecar]) {
      const body = JSON.parse(JSON.stringify({ Pod: p, NodeNames: [N.gpu6Used, N.gpu4Used] }));
      const result = JSON.parse(filter(body, { snapshot, view: cache.view() }).payload);
      assert.deepEqual(result.NodeNames, [N.gpu4Used]);
      assert.deepEqual(result.FailedNodes, { [N.gpu6Used]: 'fewer than 3 nvidia.com/gpu free on the node' });
    }
  });
});
