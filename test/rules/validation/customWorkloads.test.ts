import assert from 'node:assert/strict';
import type { AdmissionRequest } from '../../../src/admission/request.js';
import type { ValidationVerdict } from '../../../src/admission/verdict.js';
import { decide } from '../../../src/admission/webhook.js';
import { valuesAt, WorkloadKinds } from '../../../src/k8s/workloads.js';
import { NONE_REGISTERED, registeredResources } from '../../../src/kube/registration.js';
import { renderWebhookConfig, WebhookKind, type WebhookConfiguration } from '../../../src/kube/webhookConfigs.js';
import { loadPolicyObject } from '../../../src/policy/loader.js';
import { PolicySnapshot } from '../../../src/policy/snapshot.js';
import { admissionWebhooks } from '../../../src/rules/webhooks.js';
import { amlTolerations, GPU_TOLERATIONS, pod, podRequest, POLICY_YAML } from './helpers.js';
import { policyFrom } from '../../helpers/admission.js';

const KUBERAY = 'ray-system/kuberay-operator';
const RAY = {
  group: 'ray.io',
  kind: 'RayCluster',
  resource: 'rayclusters',
  creator: KUBERAY,
  templates: ['spec.headGroupSpec.template', 'spec.workerGroupSpecs[*].template'],
};

/** The fixture policy with kuberay trusted and RayCluster as a workload kind. */
const rayPolicy = () =>
  policyFrom(POLICY_YAML, (doc) => {
    doc.trustedControllers = { serviceAccounts: ['kube-system/replicaset-controller', KUBERAY] };
    doc.workloads = [RAY];
  });

const gpuPod = (meta: object = {}) => {
  const p = pod({
    compute: 'gpu-compute',
    instanceType: 'gpu-1',
    gpus: '1',
    nodeSelector: { agentpool: 'gpupool' },
    tolerations: [...GPU_TOLERATIONS, ...amlTolerations('gpu-compute')],
  });
  return { ...p, metadata: { ...p.metadata, ...meta } };
};
const template = () => {
  const p = gpuPod();
  return { metadata: { labels: p.metadata!.labels }, spec: p.spec };
};
const rayCluster = (workers: unknown[]) => ({
  apiVersion: 'ray.io/v1',
  kind: 'RayCluster',
  metadata: { name: 'ray', namespace: 'azureml' },
  spec: { headGroupSpec: { template: template() }, workerGroupSpecs: workers },
});

function validatingWebhook(snapshot: PolicySnapshot) {
  return admissionWebhooks(() => snapshot)[1]!;
}

function reviewRay(snapshot: PolicySnapshot, object: unknown, username: string): ValidationVerdict {
  const request: AdmissionRequest = {
    ...podRequest(object, { username, groups: ['system:authenticated'] }),
    kind: { group: 'ray.io', version: 'v1', kind: 'RayCluster' },
    resource: { group: 'ray.io', version: 'v1', resource: 'rayclusters' },
  };
  return decide(validatingWebhook(snapshot), request).verdict as ValidationVerdict;
}

describe('policy workload kinds (policy.workloads)', () => {
  it('finds the templates at every path: list items by index, map values by key, a missing field as none', () => {
    const spec = { a: [{ t: 1 }, { t: 2 }], m: { x: { t: 3 }, y: { t: 4 } } };
    assert.deepEqual(
      valuesAt(spec, 'spec.a[*].t').map((v) => [v.at, v.keys, v.value]),
      [
        ['spec.a[0].t', ['0'], 1],
        ['spec.a[1].t', ['1'], 2],
      ],
    );
    assert.deepEqual(
      valuesAt(spec, 'spec.m.*.t').map((v) => [v.at, v.value]),
      [
        ['spec.m.x.t', 3],
        ['spec.m.y.t', 4],
      ],
    );
    assert.deepEqual(valuesAt(spec, 'spec.nothing[*].t'), []);
    assert.deepEqual(valuesAt({ a: 'not a list' }, 'spec.a[*]'), []);
  });

  it('gives every template its concrete path and the creator the policy names', () => {
    const kinds = new WorkloadKinds([RAY]);
    const sites = kinds.sites('ray.io/v1', 'RayCluster', 'ray', rayCluster([{ template: template() }, { template: template() }]).spec)!;
    assert.deepEqual(
      sites.map((s) => [s.at, s.creator.username, s.naming]),
      [
        ['spec.headGroupSpec.template', 'system:serviceaccount:ray-system:kuberay-operator', { generateName: 'ray-' }],
        ['spec.workerGroupSpecs[0].template', 'system:serviceaccount:ray-system:kuberay-operator', { generateName: 'ray-' }],
        ['spec.workerGroupSpecs[1].template', 'system:serviceaccount:ray-system:kuberay-operator', { generateName: 'ray-' }],
      ],
    );
    assert.equal(new WorkloadKinds([]).sites('ray.io/v1', 'RayCluster', 'ray', {}), undefined, 'unknown without the policy');
  });

  it('judges a RayCluster with its submitter, every template, a denial naming the path', () => {
    const snapshot = new PolicySnapshot(rayPolicy());
    const bad = { template: { ...template(), spec: { ...template().spec, nodeSelector: { agentpool: 'cpupool' } } } };
    const v = reviewRay(snapshot, rayCluster([{ template: template() }, bad]), 'alice@contoso.com');
    assert.ok(v.kind === 'denied', JSON.stringify(v));
    assert.match(v.message, /^spec\.workerGroupSpecs\[1\]\.template: \[node-pool-targeting\]/);
    assert.doesNotMatch(v.message, /workerGroupSpecs\[0\]|headGroupSpec/);

    const mallory = reviewRay(snapshot, rayCluster([{ template: template() }]), 'mallory@contoso.com');
    assert.ok(mallory.kind === 'denied');
    assert.match(mallory.message, /^spec\.headGroupSpec\.template: \[identity-claims\] mallory@contoso\.com is not allowed/);
    assert.equal(reviewRay(snapshot, rayCluster([{ template: template() }]), 'alice@contoso.com').kind, 'allowed');
  });

  it('leaves a RayCluster alone when the policy does not name the kind (out of scope)', () => {
    const snapshot = new PolicySnapshot(policyFrom(POLICY_YAML));
    assert.equal(reviewRay(snapshot, rayCluster([]), 'mallory@contoso.com').kind, 'allowed');
  });

  describe("spares the operator's pods identity claims only while the webhook registration names the kind", () => {
    const ownedPod = gpuPod({ ownerReferences: [{ apiVersion: 'ray.io/v1', kind: 'RayCluster', name: 'ray', uid: 'u-1', controller: true }] });
    const byKuberay = podRequest(ownedPod, { username: 'system:serviceaccount:ray-system:kuberay-operator', groups: ['system:authenticated'] });
    const registration = (rules: object[]) =>
      registeredResources({ webhooks: [{ name: 'v', rules, clientConfig: {}, sideEffects: 'None', admissionReviewVersions: ['v1'] }] });
    const cases = [
      {
        name: 'registered: the RayCluster was judged, its pods are not judged on identity',
        registered: registration([{ apiGroups: ['ray.io'], resources: ['rayclusters'] }]),
        want: 'allowed',
      },
      { name: 'registered by a wildcard rule', registered: registration([{ apiGroups: ['ray.io'], resources: ['*'] }]), want: 'allowed' },
      {
        name: 'not registered (init has not run since the kind was added): judged as the operator, refused',
        registered: registration([{ apiGroups: [''], resources: ['pods'] }]),
        want: 'denied',
      },
      { name: 'no configuration seen yet: refused', registered: NONE_REGISTERED, want: 'denied' },
    ] as const;
    for (const t of cases) {
      it(t.name, () => {
        const snapshot = new PolicySnapshot(rayPolicy(), undefined, t.registered);
        assert.equal(decide(validatingWebhook(snapshot), byKuberay).verdict.kind, t.want);
      });
    }
    it('a pod naming a RayCluster owner, created by an ordinary user: judged as that user', () => {
      const snapshot = new PolicySnapshot(rayPolicy());
      const v = decide(validatingWebhook(snapshot), podRequest(ownedPod, { username: 'mallory@contoso.com', groups: ['system:authenticated'] })).verdict;
      assert.equal(v.kind, 'denied');
    });
  });

  describe('the loader refuses a workload kind that cannot work', () => {
    const load = (edit: (doc: any) => void) => {
      const doc = JSON.parse(JSON.stringify(rayPolicy()));
      edit(doc);
      const r = loadPolicyObject(doc);
      return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
    };
    it('a built-in kind', () => {
      assert.deepEqual(
        load((d) => (d.workloads = [{ ...RAY, group: 'batch', kind: 'Job', resource: 'jobs' }])),
        ['/workloads/0: batch/Job (jobs) is a built-in workload kind: its templates are known (docs/policy.md#workloads)'],
      );
    });
    it('a creator that is not a trusted controller', () => {
      assert.deepEqual(
        load((d) => (d.trustedControllers.serviceAccounts = ['kube-system/replicaset-controller'])),
        [
          "/workloads/0/creator: ray-system/kuberay-operator is not in trustedControllers.serviceAccounts: the pods it creates would be judged on its identity, not the submitter's",
        ],
      );
    });
    it('a kind listed twice, and a path that does not start at spec', () => {
      assert.deepEqual(
        load((d) => (d.workloads = [RAY, RAY])),
        ['/workloads/1: ray.io/RayCluster is listed twice'],
      );
      const errors = load((d) => (d.workloads = [{ ...RAY, templates: ['metadata.template'] }]));
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^\/workloads\/0\/templates\/0: .*a path from spec to a pod template/);
    });
  });

  it('init registers each policy kind with the validating webhook, and only there', () => {
    const template = (kind: WebhookKind): WebhookConfiguration => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind,
      metadata: { name: 'x' },
      webhooks: [
        {
          name: 'w',
          clientConfig: { service: { name: 's', namespace: 'azureml', path: '/p' } },
          rules: [],
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    });
    const opts = { namespace: 'azureml', service: 's', caBundle: 'Y2E=', workloads: [{ group: 'ray.io', resource: 'rayclusters' }] };
    assert.deepEqual(renderWebhookConfig(template(WebhookKind.Validating), opts).webhooks![0]!.rules, [
      { operations: ['CREATE', 'UPDATE'], apiGroups: ['ray.io'], apiVersions: ['*'], resources: ['rayclusters'], scope: 'Namespaced' },
    ]);
    assert.deepEqual(renderWebhookConfig(template(WebhookKind.Mutating), opts).webhooks![0]!.rules, []);
  });
});
