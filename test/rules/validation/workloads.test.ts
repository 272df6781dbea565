import assert from 'node:assert/strict';
import type { AdmissionRequest } from '../../../src/admission/request.js';
import type { ValidationVerdict } from '../../../src/admission/verdict.js';
import { PolicySnapshot } from '../../../src/policy/snapshot.js';
import { admissionWebhooks } from '../../../src/rules/webhooks.js';
import { decide } from '../../../src/admission/webhook.js';
import { amlTolerations, GPU_TOLERATIONS, pod, podRequest, testPolicy } from './helpers.js';

const snapshot = new PolicySnapshot(testPolicy());
const [, validating] = admissionWebhooks(() => snapshot);
const sa = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

/** A GPU pod of gpu-compute that every rule but identity accepts. */
const gpuPod = () =>
  pod({
    compute: 'gpu-compute',
    instanceType: 'gpu-1',
    gpus: '1',
    nodeSelector: { agentpool: 'gpupool' },
    tolerations: [...GPU_TOLERATIONS, ...amlTolerations('gpu-compute')],
  });
/** The same as a workload's pod template. */
const template = () => {
  const p = gpuPod();
  return { metadata: { labels: p.metadata!.labels }, spec: p.spec };
};

function workload(apiVersion: string, kind: string, spec: object, meta: object = {}) {
  return { apiVersion, kind, metadata: { name: 'train', namespace: 'azureml', ...meta }, spec };
}

function review(object: { apiVersion: string; kind: string }, username: string, extra: Partial<AdmissionRequest> = {}): ValidationVerdict {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const request: AdmissionRequest = {
    ...podRequest(object, { username, groups: ['system:authenticated'] }),
    kind: { group: group!, version: version!, kind: object.kind },
    resource: { group: group!, version: version!, resource: `${object.kind.toLowerCase()}s` },
    ...extra,
  };
  return decide(validating!, request).verdict as ValidationVerdict;
}

const deployment = (meta: object = {}) => workload('apps/v1', 'Deployment', { replicas: 2, template: template() }, meta);
const pytorchJob = workload('kubeflow.org/v1', 'PyTorchJob', {
  pytorchReplicaSpecs: { Master: { replicas: 1, template: template() }, Worker: { replicas: 4, template: template() } },
});
const volcanoJob = workload('batch.volcano.sh/v1alpha1', 'Job', { tasks: [{ name: 'worker', replicas: 2, template: template() }] });
const controlledBy = (apiVersion: string, kind: string) => ({ ownerReferences: [{ apiVersion, kind, name: 'train-6d4f', uid: 'u-1', controller: true }] });

describe('the validating webhook judges workloads with their submitter', () => {
  it('denies a Deployment whose pods an unauthorised submitter may not create, naming the template and the rule', () => {
    const v = review(deployment(), 'mallory@contoso.com');
    assert.equal(v.kind, 'denied');
    assert.equal(v.kind === 'denied' && v.code, 403);
    assert.equal(
      v.kind === 'denied' && v.message,
      'spec.template: [identity-claims] mallory@contoso.com is not allowed to create pods for compute gpu-compute',
    );
  });

  it('allows the same Deployment from an authorised submitter', () => {
    assert.equal(review(deployment(), 'alice@contoso.com').kind, 'allowed');
  });

  it('judges every replica type of a Kubeflow job and every task of a Volcano job', () => {
    const v = review(pytorchJob, 'mallory@contoso.com');
    assert.ok(v.kind === 'denied');
    assert.match(
      v.message,
      /^spec\.pytorchReplicaSpecs\.Master\.template: \[identity-claims\] .*; spec\.pytorchReplicaSpecs\.Worker\.template: \[identity-claims\] /,
    );
    const vj = review(volcanoJob, 'mallory@contoso.com');
    assert.ok(vj.kind === 'denied');
    assert.match(vj.message, /^spec\.tasks\[0\]\.template: \[identity-claims\]/);
  });

  it('judges a template as the pod the mutating webhook will have changed (no false deny for what it adds)', () => {
    const bare = workload('batch/v1', 'Job', {
      template: { metadata: { labels: { 'ml.azure.com/compute': 'gpu-compute' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const v = review(bare, 'alice@contoso.com');
    assert.equal(v.kind, 'allowed', v.kind === 'denied' ? v.message : '');
  });

  it('refuses a template without a spec as malformed input (422)', () => {
    const v = review(workload('batch/v1', 'Job', { template: { metadata: {} } }), 'alice@contoso.com');
    assert.ok(v.kind === 'denied');
    assert.equal(v.code, 422);
    assert.equal(v.message, 'spec.template: [policy-input] has a pod template without spec');
  });

  it('on UPDATE, lets an unchanged template through that was admitted before (e.g. under an older policy)', () => {
    const old = deployment();
    const v = review(deployment({ labels: { tier: 'gold' } }), 'mallory@contoso.com', { operation: 'UPDATE', oldObject: old });
    assert.equal(v.kind, 'allowed');
  });

  it('spares a ReplicaSet the Deployment controller creates for its Deployment identity claims: the Deployment’s submitter was judged', () => {
    const rs = workload('apps/v1', 'ReplicaSet', { template: template() }, controlledBy('apps/v1', 'Deployment'));
    assert.equal(review(rs, sa('kube-system', 'deployment-controller')).kind, 'allowed');
  });
});

describe('identity claims on pods that controllers create', () => {
  const amlPod = (meta: object = {}) => {
    const p = gpuPod();
    return { ...p, metadata: { ...p.metadata, ...meta } };
  };
  const cases: { name: string; given: { meta?: object; username: string }; want: 'allowed' | 'denied' }[] = [
    {
      name: 'a trusted controller creating the pod for its controlling owner of a judged kind: not judged on identity',
      given: { meta: controlledBy('apps/v1', 'ReplicaSet'), username: sa('kube-system', 'replicaset-controller') },
      want: 'allowed',
    },
    {
      name: 'the controller manager’s own user (without --use-service-account-credentials)',
      given: { meta: controlledBy('batch/v1', 'Job'), username: 'system:kube-controller-manager' },
      want: 'allowed',
    },
    {
      name: 'an ordinary user forging the owner reference: judged as that user',
      given: { meta: controlledBy('apps/v1', 'ReplicaSet'), username: 'mallory@contoso.com' },
      want: 'denied',
    },
    {
      name: 'a trusted controller creating a pod without an owner: judged as itself',
      given: { username: sa('kube-system', 'replicaset-controller') },
      want: 'denied',
    },
    {
      name: 'a trusted controller whose owner is a kind the webhook does not judge: judged as itself',
      given: { meta: controlledBy('example.com/v1', 'Trainer'), username: sa('kube-system', 'job-controller') },
      want: 'denied',
    },
    {
      name: 'an owner that is not the controller: judged as the requester',
      given: {
        meta: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'u', controller: false }] },
        username: sa('kube-system', 'replicaset-controller'),
      },
      want: 'denied',
    },
  ];
  for (const t of cases) {
    it(`${t.want === 'allowed' ? 'allows' : 'denies'} ${t.name}`, () => {
      const p = amlPod(t.given.meta);
      const v = decide(validating!, podRequest(p, { username: t.given.username, groups: ['system:authenticated'] })).verdict;
      assert.equal(v.kind, t.want, v.kind === 'denied' ? v.message : '');
    });
  }
});
