import assert from 'node:assert/strict';
import fc from 'fast-check';
import { builtinPolicy } from '../../../src/policy/builtin.js';
import type { Pod } from '../../../src/k8s/pod.js';
import { assertValidPod, mutate, policyWith, testPolicy } from './helpers.js';

/** Pods built from the pieces the rules look at, each piece often absent, clashing or malformed. */
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const quantity = fc.constantFrom('1', '2', '4', '500m', '2Gi');
const resourceList = fc.dictionary(fc.constantFrom('cpu', 'memory', 'nvidia.com/gpu', 'amd.com/gpu'), quantity, { maxKeys: 3, noNullPrototype: true });
const resources = fc.record({ requests: resourceList, limits: resourceList }, { requiredKeys: [] });
const existingMounts = fc.subarray([
  { name: 'cache', mountPath: '/cache' },
  { name: 'training-data', mountPath: '/mnt/data' },
  { name: 'other', mountPath: '/mnt/out' },
]);
const container = (name: string) =>
  fc.record({ resources: maybe(resources), volumeMounts: maybe(existingMounts) }).map((c) => ({
    name,
    image: 'mcr.microsoft.com/azureml/base:latest',
    ...(c.resources ? { resources: c.resources } : {}),
    ...(c.volumeMounts ? { volumeMounts: c.volumeMounts } : {}),
  }));
const containers = fc
  .uniqueArray(fc.constantFrom('main', 'sidecar', 'worker'), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map(container)));
const initContainers = maybe(fc.tuple(container('init')));
const tolerations = maybe(
  fc.subarray([
    { operator: 'Exists' },
    { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
    { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule', tolerationSeconds: 30 },
    { key: 'nvidia.com/gpu', operator: 'Exists' },
    { key: 'ml.azure.com/amlarc', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'ml.azure.com/compute', operator: 'Equal', value: 'gpu-cluster', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ]),
);
const nodeSelector = maybe(
  fc.dictionary(
    fc.constantFrom('agentpool', 'kubernetes.io/os', 'node.kubernetes.io/instance-type', 'kubernetes.azure.com/agentpool'),
    fc.constantFrom('cpupool', 'gpupool', 'linux', 'Standard_NC6s_v3', 'pool-a'),
    { maxKeys: 3, noNullPrototype: true },
  ),
);
const affinity = maybe(
  fc.constantFrom('agentpool', 'kubernetes.azure.com/agentpool', 'topology.kubernetes.io/zone').map((key) => ({
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: ['gpupool', '1'] }] }] },
    },
  })),
);
const mount = fc.record(
  {
    name: fc.constantFrom('training-data', 'outputs', 'ckpt'),
    container: fc.constant('blobs'),
    mountPath: fc.constantFrom('/mnt/data', '/mnt/out', '/cache'),
    secretName: fc.constant('blob-secret'),
    readOnly: fc.boolean(),
    mountOptions: fc.constantFrom('-o allow_other', ''),
    containers: fc.subarray(['main', 'sidecar', 'init', 'ghost']),
  },
  { requiredKeys: ['name', 'container', 'mountPath', 'secretName'] },
);
const blobfuseAnnotation = fc.oneof(
  fc.uniqueArray(mount, { selector: (m) => m.name, maxLength: 3 }).map((m) => JSON.stringify(m)),
  fc.constantFrom('not json', '{"name":"x"}', '[{"name":"Bad_Name","container":"c","mountPath":"/d","secretName":"s"}]'),
);
const volumes = maybe(
  fc.subarray([
    { name: 'cache', emptyDir: {} },
    { name: 'outputs', emptyDir: {} },
    { name: 'training-data', flexVolume: { driver: 'azure/blobfuse', secretRef: { name: 'blob-secret' }, options: { container: 'blobs' } } },
  ]),
);

const pod: fc.Arbitrary<Pod> = fc
  .record({
    compute: maybe(fc.constantFrom('gpu-cluster', 'arc-compute', 'example-compute', 'unknown-compute')),
    instanceType: maybe(fc.constantFrom('cpu-small', 'gpu-1x', 'gpu-4x', 'nc6', 'default', 'gpu-1', 'bogus')),
    workspace: maybe(fc.constant('ws-vision')),
    jobLabel: maybe(fc.constantFrom('training.kubeflow.org/job-name', 'volcano.sh/job-name')),
    blobfuse: maybe(blobfuseAnnotation),
    podGroup: maybe(fc.constant('someone-elses-group')),
    containers,
    initContainers,
    tolerations,
    nodeSelector,
    affinity,
    schedulerName: maybe(fc.constantFrom('default-scheduler', 'volcano', 'kai-scheduler')),
    volumes,
  })
  .map((g) => {
    const labels: Record<string, string> = { app: 'train' };
    if (g.compute) labels['ml.azure.com/compute'] = g.compute;
    if (g.instanceType) labels['ml.azure.com/instance-type'] = g.instanceType;
    if (g.workspace) labels['ml.azure.com/workspace'] = g.workspace;
    if (g.jobLabel) labels[g.jobLabel] = 'job-a';
    const annotations: Record<string, string> = {};
    if (g.blobfuse !== undefined) annotations['ml.azure.com/blobfuse-mounts'] = g.blobfuse;
    if (g.podGroup) annotations['scheduling.k8s.io/group-name'] = g.podGroup;
    // Through JSON, as a pod arrives on the wire (fast-check's records have no prototype).
    return JSON.parse(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'azureml', labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        spec: {
          containers: g.containers,
          ...(g.initContainers ? { initContainers: g.initContainers } : {}),
          ...(g.tolerations ? { tolerations: g.tolerations } : {}),
          ...(g.nodeSelector ? { nodeSelector: g.nodeSelector } : {}),
          ...(g.affinity ? { affinity: g.affinity } : {}),
          ...(g.schedulerName ? { schedulerName: g.schedulerName } : {}),
          ...(g.volumes ? { volumes: g.volumes } : {}),
        },
      }),
    ) as Pod;
  });

const policies = [testPolicy(), builtinPolicy(), policyWith((d) => (d.rules = { 'instance-type': { enabled: false }, 'gpu-tolerations': { enabled: false } }))];
const policy = fc.constantFrom(...policies.keys());

/** The values the pod set itself survive the patch unchanged (nothing removed, nothing overwritten). */
function assertKeeps(original: Pod, result: Pod): void {
  const o = original.spec!;
  const r = result.spec!;
  assert.deepEqual(r.tolerations?.slice(0, o.tolerations?.length ?? 0) ?? [], o.tolerations ?? []);
  assert.deepEqual(r.volumes?.slice(0, o.volumes?.length ?? 0) ?? [], o.volumes ?? []);
  for (const [k, v] of Object.entries(o.nodeSelector ?? {})) assert.equal(r.nodeSelector?.[k], v);
  for (const [k, v] of Object.entries(original.metadata?.annotations ?? {})) assert.equal(result.metadata?.annotations?.[k], v);
  assert.deepEqual(r.affinity, o.affinity);
  if (o.schedulerName !== undefined && o.schedulerName !== 'default-scheduler') assert.equal(r.schedulerName, o.schedulerName);
  o.containers.forEach((c, i) => {
    if (c.resources)
      for (const kind of ['requests', 'limits'] as const)
        assert.deepEqual({ ...r.containers[i]!.resources?.[kind], ...c.resources[kind] }, r.containers[i]!.resources?.[kind] ?? {});
    assert.deepEqual(r.containers[i]!.volumeMounts?.slice(0, c.volumeMounts?.length ?? 0) ?? [], c.volumeMounts ?? []);
  });
  assert.deepEqual(
    r.initContainers?.map((c) => c.resources),
    o.initContainers?.map((c) => c.resources),
  );
}

describe('mutation properties over random pods', () => {
  it('For any pod the patch applies cleanly, the result is a valid Pod that keeps what the pod set, and a second call returns no patch.', () => {
    fc.assert(
      fc.property(pod, policy, (p, which) => {
        assertValidPod(p);
        const first = mutate(policies[which]!, p);
        assert.notEqual(first.verdict.kind, 'errored');
        assertValidPod(first.pod);
        assertKeeps(p, first.pod);
        const second = mutate(policies[which]!, first.pod);
        assert.equal(second.verdict.kind, 'allowed', `second call patched: ${JSON.stringify(second.ops)}`);
      }),
      { numRuns: 400 },
    );
  });

  it('Never names a PodGroup for a pod, and writes the queue only where Volcano reads it (a pod with no PodGroup).', () => {
    fc.assert(
      fc.property(pod, policy, (p, which) => {
        const keys = policies[which]!.keys;
        const before = p.metadata?.annotations ?? {};
        const after = mutate(policies[which]!, p).pod.metadata?.annotations ?? {};
        assert.equal(after[keys.podGroupAnnotation], before[keys.podGroupAnnotation], 'the PodGroup annotation is the creator’s alone');
        if (before[keys.podGroupAnnotation] !== undefined)
          assert.equal(after[keys.queueAnnotation], before[keys.queueAnnotation], 'no queue beside a PodGroup');
      }),
      { numRuns: 300 },
    );
  });

  it('Gives an instance type’s resources to one container at most: the type is the pod’s resources.', () => {
    fc.assert(
      fc.property(pod, policy, (p, which) => {
        const after = mutate(policies[which]!, p).pod;
        const changed = after.spec!.containers.filter((c, i) => JSON.stringify(c.resources) !== JSON.stringify(p.spec!.containers[i]!.resources));
        assert.ok(changed.length <= 1, `resources written into ${changed.length} containers`);
      }),
      { numRuns: 300 },
    );
  });
});
