import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryNodeCache } from '../../src/extender/cache.js';
import { filter, prioritize } from '../../src/extender/extender.js';
import { MAX_SCORE } from '../../src/extender/prioritize.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { clusterCache, clusterNodes, pod, testPolicy } from './fixtures.js';

const snapshot = new PolicySnapshot(testPolicy());

const TAINTS = [
  { key: 'sku', value: 'gpu', effect: 'NoSchedule' },
  { key: 'nvidia.com/gpu', effect: 'NoSchedule' },
  { key: 'CriticalAddonsOnly', value: 'true', effect: 'NoSchedule' },
  { key: 'spot', effect: 'PreferNoSchedule' },
  { key: 'maintenance', effect: 'NoExecute' },
];
const TOLERATIONS = [
  { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
  { key: 'nvidia.com/gpu', operator: 'Exists' },
  { key: 'CriticalAddonsOnly', operator: 'Exists' },
  { operator: 'Exists', effect: 'NoExecute' },
];
const POOLS = ['cpupool', 'gpupool', 'gpu4pool', 'batchpool', 'system'];

const heldPod = fc.record({
  gpus: fc.integer({ min: 0, max: 4 }),
  phase: fc.constantFrom('Running', 'Pending', 'Succeeded', 'Failed'),
  job: fc.option(fc.constantFrom('j1', 'j2'), { nil: undefined }),
});
const nodeSpec = fc.record({
  pool: fc.option(fc.constantFrom(...POOLS), { nil: undefined }),
  ready: fc.boolean(),
  unschedulable: fc.boolean(),
  taints: fc.subarray(TAINTS),
  gpus: fc.integer({ min: 0, max: 8 }),
  pods: fc.array(heldPod, { maxLength: 3 }),
});
const podSpec = fc.record({
  compute: fc.option(fc.constantFrom('gpu-cluster', 'cpu-cluster', 'ghost'), { nil: undefined }),
  gpus: fc.integer({ min: 0, max: 9 }),
  tolerations: fc.subarray(TOLERATIONS),
  pool: fc.option(fc.constantFrom(...POOLS), { nil: undefined }),
  job: fc.option(fc.constantFrom('j1', 'j2'), { nil: undefined }),
});
const scenario = fc.record({
  nodes: fc.array(nodeSpec, { maxLength: 25 }),
  pod: podSpec,
  unknown: fc.integer({ min: 0, max: 3 }),
  order: fc.integer({ min: 0, max: 1_000_000 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function nodeObject(name: string, n: Scenario['nodes'][number]): object {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(n.pool ? { agentpool: n.pool } : {}) } },
    spec: { ...(n.unschedulable ? { unschedulable: true } : {}), taints: n.taints },
    status: {
      allocatable: { cpu: '16', ...(n.gpus ? { 'nvidia.com/gpu': String(n.gpus) } : {}) },
      conditions: [{ type: 'Ready', status: n.ready ? 'True' : 'False' }],
    },
  };
}

/** Builds the cache and both request bodies for one scenario; candidates come in a scrambled order, plus unknown names. */
function build(s: Scenario) {
  const cache = new MemoryNodeCache();
  const objects = s.nodes.map((n, i) => nodeObject(`node-${i}`, n));
  objects.forEach((o) => cache.upsertNode(o));
  s.nodes.forEach((n, i) =>
    n.pods.forEach((p, j) =>
      cache.upsertPod({
        metadata: { name: `p-${i}-${j}`, namespace: 'azureml', ...(p.job ? { labels: { 'training.kubeflow.org/job-name': p.job } } : {}) },
        spec: { nodeName: `node-${i}`, containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(p.gpus) } } }] },
        status: { phase: p.phase },
      }),
    ),
  );
  const names = objects.map((_, i) => `node-${i}`);
  for (let i = names.length - 1; i > 0; i--) {
    const j = (s.order * (i + 7)) % (i + 1);
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const nodesByName = new Map(objects.map((o, i) => [`node-${i}`, o]));
  const p = pod({
    ...(s.pod.compute ? { compute: s.pod.compute } : {}),
    gpus: s.pod.gpus,
    tolerations: s.pod.tolerations,
    ...(s.pod.pool ? { nodeSelector: { agentpool: s.pod.pool } } : {}),
    ...(s.pod.job ? { job: s.pod.job } : {}),
  });
  const withUnknown = [...names, ...Array.from({ length: s.unknown }, (_, i) => `unknown-${i}`)];
  return {
    cache,
    names,
    nodesByName,
    byNames: { Pod: p, Nodes: null, NodeNames: withUnknown },
    namesOnly: withUnknown,
    byNodes: { Pod: p, Nodes: { metadata: {}, items: names.map((n) => nodesByName.get(n)) }, NodeNames: null },
  };
}

function keptNames(result: any): string[] {
  return result.NodeNames ?? result.Nodes.items.map((n: any) => n.metadata.name);
}

function assertPartition(input: readonly string[], result: any): void {
  assert.equal(result.Error, '');
  const kept = keptNames(result);
  const all = [...kept, ...Object.keys(result.FailedNodes), ...Object.keys(result.FailedAndUnresolvableNodes)];
  assert.deepEqual([...all].sort(), [...input].sort(), 'every input node appears exactly once across kept and failed');
  assert.deepEqual(
    kept,
    input.filter((n) => kept.includes(n)),
    'kept nodes are a subset, in input order',
  );
  for (const reason of [...Object.values(result.FailedNodes), ...Object.values(result.FailedAndUnresolvableNodes)]) {
    assert.ok(typeof reason === 'string' && reason.length > 0, 'every failed node has a reason');
  }
}

describe('extender properties', () => {
  it('filter keeps a subset of its input and puts every input node in exactly one place, in both modes', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const b = build(s);
        const ctx = { snapshot, view: b.cache.view() };
        assertPartition(b.namesOnly, JSON.parse(filter(b.byNames, ctx).payload));
        const byNodes = JSON.parse(filter(b.byNodes, ctx).payload);
        assertPartition(b.names, byNodes);
        for (const item of byNodes.Nodes.items) assert.deepEqual(item, b.nodesByName.get(item.metadata.name), 'kept Nodes are returned as sent');
      }),
      { numRuns: 300 },
    );
  });

  it('filter gives the same verdicts whether nodes come from the request or from the cache', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const b = build(s);
        const ctx = { snapshot, view: b.cache.view() };
        const fromCache = JSON.parse(filter({ ...b.byNames, NodeNames: b.names }, ctx).payload);
        const fromRequest = JSON.parse(filter(b.byNodes, ctx).payload);
        assert.deepEqual(keptNames(fromCache), keptNames(fromRequest));
        assert.deepEqual(fromCache.FailedNodes, fromRequest.FailedNodes);
        assert.deepEqual(fromCache.FailedAndUnresolvableNodes, fromRequest.FailedAndUnresolvableNodes);
      }),
      { numRuns: 200 },
    );
  });

  it('prioritize scores every input node once, in order, with an integer from 0 to 10', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const b = build(s);
        const ctx = { snapshot, view: b.cache.view() };
        for (const [body, input] of [
          [b.byNames, b.namesOnly],
          [b.byNodes, b.names],
        ] as const) {
          const list = JSON.parse(prioritize(body, ctx).payload) as { Host: string; Score: number }[];
          assert.deepEqual(
            list.map((h) => h.Host),
            input,
          );
          for (const { Score } of list) assert.ok(Number.isInteger(Score) && Score >= 0 && Score <= MAX_SCORE, `score ${Score}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary JSON, as the body, the Pod or any field of it the extender reads', () => {
    const ctx = { snapshot, view: clusterCache().view() };
    const nodes = clusterNodes();
    const names = Object.keys(nodes);
    const json = fc.jsonValue({ maxDepth: 3 });
    // Each field: absent, junk, or shaped like the real thing with junk inside.
    const field = <T>(shaped: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: json, weight: 1 }, { arbitrary: shaped, weight: 17 });
    const requirement = fc.record({
      key: fc.constantFrom('agentpool', 'x'),
      operator: fc.constantFrom('In', 'NotIn', 'Exists', 'Gt', 'Bogus'),
      values: fc.oneof({ arbitrary: json, weight: 1 }, { arbitrary: fc.array(fc.constantFrom('cpupool', '3')), weight: 3 }),
    });
    const terms = field(
      fc.array(
        fc.oneof(
          { arbitrary: json, weight: 1 },
          {
            arbitrary: fc.record(
              {
                matchExpressions: fc.array(requirement, { minLength: 1, maxLength: 2 }),
                matchFields: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: fc.array(requirement, { maxLength: 1 }), weight: 1 }),
              },
              { requiredKeys: ['matchExpressions'] },
            ),
            weight: 12,
          },
        ),
        { minLength: 1, maxLength: 2 },
      ),
    );
    const quantity = fc.oneof({ arbitrary: json, weight: 1 }, { arbitrary: fc.constantFrom('0', '1', '8'), weight: 12 });
    const container = fc.record({
      name: fc.constant('c'),
      resources: field(fc.record({ limits: field(fc.dictionary(fc.constantFrom('nvidia.com/gpu', 'amd.com/gpu', 'cpu'), quantity)) })),
    });
    const spec = fc.record({
      nodeSelector: field(fc.dictionary(fc.constantFrom('agentpool', 'x'), json)),
      tolerations: field(fc.array(fc.record({ key: json, operator: json, value: json, effect: json }, { requiredKeys: [] }))),
      containers: field(fc.array(container, { maxLength: 2 })),
      initContainers: field(fc.array(container, { maxLength: 1 })),
      affinity: field(
        fc.record({ nodeAffinity: field(fc.record({ requiredDuringSchedulingIgnoredDuringExecution: field(fc.record({ nodeSelectorTerms: terms })) })) }),
      ),
    });
    const metadata = field(
      fc.record(
        {
          name: json,
          namespace: json,
          labels: field(
            fc.dictionary(fc.constantFrom('ml.azure.com/compute', 'training.kubeflow.org/job-name'), fc.oneof(json, fc.constantFrom('gpu-cluster', 'j1'))),
          ),
        },
        { requiredKeys: [] },
      ),
    );
    const bodies = fc.oneof(
      json,
      json.map((Pod) => ({ Pod, NodeNames: names })),
      { arbitrary: fc.record({ metadata, spec }).map((Pod) => ({ Pod, NodeNames: names })), weight: 5 },
      { arbitrary: fc.record({ metadata, spec }).map((Pod) => ({ Pod, Nodes: { items: Object.values(nodes) } })), weight: 5 },
      json.map((items) => ({ Pod: {}, Nodes: { items } })),
      json.map((NodeNames) => ({ Pod: {}, NodeNames })),
    );
    fc.assert(
      fc.property(bodies, (body) => {
        const filtered = JSON.parse(filter(body, ctx).payload);
        assert.equal(typeof filtered.Error, 'string');
        assert.ok(Array.isArray(JSON.parse(prioritize(body, ctx).payload)));
      }),
      { numRuns: 1000 },
    );
  });
});
