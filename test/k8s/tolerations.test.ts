import assert from 'node:assert/strict';
import { covers, missingTolerations, tolerates, type Toleration } from '../../src/k8s/tolerations.js';

const skuGpu: Toleration = { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' };
const gpuExists: Toleration = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };

describe('toleration coverage (what a pod already tolerates)', () => {
  const cases: { name: string; given: { have: Toleration; want: Toleration }; want: boolean }[] = [
    { name: 'An identical toleration covers it.', given: { have: { ...skuGpu }, want: skuGpu }, want: true },
    { name: 'An empty-key Exists covers every toleration.', given: { have: { operator: 'Exists' }, want: skuGpu }, want: true },
    { name: 'A key-wide Exists covers a value of that key.', given: { have: { key: 'sku', operator: 'Exists' }, want: skuGpu }, want: true },
    {
      name: 'An Exists limited to another effect does not cover it.',
      given: { have: { key: 'sku', operator: 'Exists', effect: 'NoExecute' }, want: skuGpu },
      want: false,
    },
    { name: 'Another value of the same key does not cover it.', given: { have: { ...skuGpu, value: 'cpu' }, want: skuGpu }, want: false },
    {
      name: 'An Equal toleration does not cover an Exists on the same key.',
      given: { have: { key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }, want: gpuExists },
      want: false,
    },
    {
      name: 'A toleration bounded by tolerationSeconds does not cover an unbounded one.',
      given: { have: { ...skuGpu, tolerationSeconds: 60 }, want: skuGpu },
      want: false,
    },
  ];
  for (const t of cases) it(t.name, () => assert.equal(covers(t.given.have, t.given.want), t.want));

  it('Adds only the wanted tolerations not yet covered, each once, in order.', () => {
    const got = missingTolerations([{ key: 'sku', operator: 'Exists' }], [skuGpu, gpuExists, { ...gpuExists }]);
    assert.deepEqual(got, [gpuExists]);
  });
});

describe('toleration matching (ToleratesTaint)', () => {
  const taint = { key: 'sku', value: 'gpu', effect: 'NoSchedule' } as const;
  it('Treats an empty operator as Equal.', () => {
    assert.equal(tolerates({ key: 'sku', value: 'gpu', operator: '' as never }, taint), true);
    assert.equal(tolerates({ key: 'sku', value: 'cpu', operator: '' as never }, taint), false);
  });
  it('Matches nothing with an unknown operator, even with an empty key.', () => {
    assert.equal(tolerates({ key: 'sku', value: 'gpu', operator: 'Equals' as never }, taint), false);
    assert.equal(tolerates({ operator: 'exists' as never }, taint), false);
  });
  it('Lets an unknown-operator toleration cover nothing, and be covered by anything.', () => {
    assert.equal(covers({ operator: 'exists' as never }, skuGpu), false);
    assert.equal(covers({ key: 'other', operator: 'Exists' }, { key: 'sku', operator: 'Like' as never }), true);
  });
});
