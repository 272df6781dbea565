import assert from 'node:assert/strict';
import { decodePod, podAmount, viewPod } from '../../src/k8s/pod.js';

const TERMS = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';
const withSpec = (spec: unknown) => ({ metadata: { name: 'p' }, spec });

describe('decodePod: one shape check for untrusted pod JSON', () => {
  const refused: { name: string; given: unknown; want: string }[] = [
    { name: 'A JSON list is not a pod.', given: [], want: 'not an object' },
    { name: 'A spec that is a number is refused.', given: withSpec(7), want: 'spec must be an object' },
    {
      name: 'A label with a number value is refused (the API server would refuse it too).',
      given: { metadata: { labels: { tier: 1 } } },
      want: 'metadata.labels["tier"] must be a string',
    },
    {
      name: 'An annotation that is not a string is refused.',
      given: { metadata: { annotations: { 'ml.azure.com/blobfuse-mounts': [] } } },
      want: 'metadata.annotations["ml.azure.com/blobfuse-mounts"] must be a string',
    },
    {
      name: 'A nodeSelector that is a list is refused.',
      given: withSpec({ nodeSelector: ['agentpool=cpupool'] }),
      want: 'spec.nodeSelector must be an object',
    },
    { name: 'A container that is not an object is refused.', given: withSpec({ containers: [null] }), want: 'spec.containers must be a list of objects' },
    {
      name: 'Container limits that are a string are refused.',
      given: withSpec({ containers: [{ name: 'c', resources: { limits: '1' } }] }),
      want: 'spec.containers[0].resources.limits must be an object',
    },
    { name: 'A toleration key that is a number is refused.', given: withSpec({ tolerations: [{ key: 5 }] }), want: 'spec.tolerations[0].key must be a string' },
    {
      name: 'A tolerationSeconds that is a string is refused.',
      given: withSpec({ tolerations: [{ key: 'k', tolerationSeconds: '30' }] }),
      want: 'spec.tolerations[0].tolerationSeconds must be a number',
    },
    { name: 'An affinity that is a string is refused.', given: withSpec({ affinity: 'gpupool' }), want: 'spec.affinity must be an object' },
    {
      name: 'Required affinity without a term list is refused.',
      given: withSpec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} } } }),
      want: `${TERMS} must be a list`,
    },
    {
      name: 'A requirement with non-string values is refused.',
      given: withSpec({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] }] },
          },
        },
      }),
      want: `${TERMS}[0].matchExpressions must be a list of {key, operator, values}`,
    },
  ];
  for (const t of refused) it(t.name, () => assert.deepEqual(decodePod(t.given), { ok: false, error: t.want }));

  it('Accepts absent and null fields (Go encodes empty slices as null) and defaults them.', () => {
    const decoded = decodePod({
      metadata: { labels: null },
      spec: { containers: null, tolerations: null, nodeSelector: null, affinity: { nodeAffinity: null } },
    });
    assert.ok(decoded.ok);
    const { pod } = decoded;
    assert.deepEqual(
      [pod.labels, pod.containers, pod.tolerations, pod.nodeSelector, pod.requiredTerms, pod.hasNodeAffinity],
      [{}, [], [], {}, undefined, false],
    );
  });

  it('Counts GPUs as the scheduler does and calls a fractional or negative quantity not whole (NaN).', () => {
    const gpus = (...limits: unknown[]) =>
      podAmount(viewPod(withSpec({ containers: limits.map((l) => ({ name: 'c', resources: { limits: { 'nvidia.com/gpu': l } } })) }) as never), [
        'nvidia.com/gpu',
      ]);
    assert.equal(gpus('2', 1), 3);
    assert.ok(Number.isNaN(gpus(1.5)));
    assert.ok(Number.isNaN(gpus(-1)));
    assert.ok(Number.isNaN(gpus('500m')));
  });

  describe('GPU count with sidecars (KEP-753: restartable init containers run for the whole pod)', () => {
    const gpu = (n: number, restartPolicy?: string) => ({
      name: `c${n}`,
      ...(restartPolicy ? { restartPolicy } : {}),
      resources: { limits: { 'nvidia.com/gpu': String(n) } },
    });
    const count = (containers: object[], initContainers: object[]) => podAmount(viewPod(withSpec({ containers, initContainers }) as never), ['nvidia.com/gpu']);
    const cases: { name: string; given: [object[], object[]]; want: number }[] = [
      { name: 'ordinary init containers run alone: the largest one counts', given: [[gpu(1)], [gpu(3), gpu(2)]], want: 3 },
      { name: 'a sidecar adds to the app containers', given: [[gpu(3)], [gpu(1, 'Always')]], want: 4 },
      { name: 'an init container runs beside the sidecars declared before it', given: [[gpu(1)], [gpu(1, 'Always'), gpu(3)]], want: 4 },
      { name: 'but not beside those declared after it', given: [[gpu(1)], [gpu(3), gpu(1, 'Always')]], want: 3 },
      { name: 'a restartPolicy other than Always is an ordinary init container', given: [[gpu(3)], [gpu(1, 'OnFailure')]], want: 3 },
    ];
    for (const t of cases) it(`${t.name}.`, () => assert.equal(count(...t.given), t.want));
  });
});
