import assert from 'node:assert/strict';
import { tolerates, type Taint, type Toleration } from '../../../src/k8s/tolerations.js';
import { fixture, mutate, policyWith, testPolicy } from './helpers.js';

/** AML's taints as its documentation lists them: each key with NoSchedule, NoExecute and PreferNoSchedule. */
const AML_TAINTS: Taint[] = ['NoSchedule', 'NoExecute', 'PreferNoSchedule'].flatMap((effect) => [
  { key: 'ml.azure.com/amlarc', value: 'true', effect } as Taint,
  { key: 'ml.azure.com/amlarc-workload', value: 'true', effect } as Taint,
  { key: 'ml.azure.com/compute', value: 'gpu-cluster', effect } as Taint,
  { key: 'ml.azure.com/workspace', value: 'ws-vision', effect } as Taint,
]);
const tolerationsOf = (policy = testPolicy()) => (mutate(policy, fixture('pytorchjob-master-gpu')).pod.spec?.tolerations ?? []) as Toleration[];
const untolerated = (tolerations: Toleration[]) => AML_TAINTS.filter((t) => !tolerations.some((tol) => tolerates(tol, t))).map((t) => `${t.key}:${t.effect}`);

describe('aml-tolerations and the effects of AML taints', () => {
  it('tolerates every AML taint with every effect AML documents, by default', () => {
    assert.deepEqual(untolerated(tolerationsOf()), []);
  });

  it('tolerates the pod’s own keys with only the listed effects, one toleration each', () => {
    const got = tolerationsOf(policyWith((d) => (d.amlTaints = { effects: ['NoSchedule', 'NoExecute'] }))).filter((t) => t.key === 'ml.azure.com/compute');
    assert.deepEqual(got, [
      { key: 'ml.azure.com/compute', operator: 'Equal', value: 'gpu-cluster', effect: 'NoSchedule' },
      { key: 'ml.azure.com/compute', operator: 'Equal', value: 'gpu-cluster', effect: 'NoExecute' },
    ]);
  });

  it('reads the deprecated single effect as a one-item list', () => {
    const got = tolerationsOf(policyWith((d) => (d.amlTaints = { effect: 'NoExecute' }))).filter((t) => t.key === 'ml.azure.com/workspace');
    assert.deepEqual(got, [{ key: 'ml.azure.com/workspace', operator: 'Equal', value: 'ws-vision', effect: 'NoExecute' }]);
  });
});
