import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { AML, amlCli, createNamespace, installBase, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { amlPod, POLICY_FILE } from './harness/objects.js';
import { waitFor } from './harness/processes.js';
import { cluster } from './harness/suite.js';

/**
 * A workload kind the policy adds (policy.workloads): a RayCluster-shaped CRD on the real API
 * server. init registers it with the validating webhook from the policy ConfigMap; its submitter
 * is judged; the pods its operator creates are trusted only while the registration names the kind.
 */
const NS = 'e2e-workload-kinds';
const KUBERAY = 'system:serviceaccount:ray-system:kuberay-operator';
const DENIED_BY = 'admission webhook "validate.aml-admission.ml.azure.com" denied the request';

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'rayclusters.ray.io' },
  spec: {
    group: 'ray.io',
    scope: 'Namespaced',
    names: { plural: 'rayclusters', singular: 'raycluster', kind: 'RayCluster', listKind: 'RayClusterList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

const template = () => {
  const p = amlPod('x', NS, { instanceType: 'gpu-1' });
  return { metadata: { labels: p.metadata!.labels }, spec: p.spec };
};
const rayCluster = (name: string) => ({
  apiVersion: 'ray.io/v1',
  kind: 'RayCluster',
  metadata: { name, namespace: NS },
  spec: { headGroupSpec: { template: template() }, workerGroupSpecs: [{ groupName: 'gpu', template: template() }] },
});

async function policyYaml(inNamespace = true): Promise<string> {
  const doc = parse(await readFile(POLICY_FILE, 'utf8'));
  if (inNamespace) doc.computes['gpu-compute'].namespaces.push(NS);
  doc.trustedControllers = { serviceAccounts: ['kube-system/replicaset-controller', 'ray-system/kuberay-operator'] };
  doc.workloads = [
    {
      group: 'ray.io',
      kind: 'RayCluster',
      resource: 'rayclusters',
      creator: 'ray-system/kuberay-operator',
      templates: ['spec.headGroupSpec.template', 'spec.workerGroupSpecs[*].template'],
    },
  ];
  return stringify(doc);
}

describe('policy workload kinds on a real API server (a RayCluster CRD)', () => {
  let server: AmlServer & { init: { out: string } };
  let uid = '';
  const create = (object: object, as: { user?: 'alice' | 'bob'; impersonate?: string }) =>
    cluster().kubectl(['create', '-f', '-', ...(as.impersonate ? ['--as', as.impersonate] : [])], {
      ...(as.user ? { user: as.user } : {}),
      input: JSON.stringify(object),
    });
  const operatorPod = (name: string) => {
    const p = amlPod(name, NS, { instanceType: 'gpu-1' });
    return { ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion: 'ray.io/v1', kind: 'RayCluster', name: 'alice-ray', uid, controller: true }] } };
  };

  before(async () => {
    const plane = cluster();
    await plane.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(CRD) });
    await plane.kubectlOk(['wait', '--for=condition=Established', 'crd/rayclusters.ray.io', '--timeout=60s']);
    await createNamespace(plane, NS);
    // The operator may create pods in the namespace (RBAC); whether they are admitted is ours to say.
    await plane.kubectlOk(['create', 'rolebinding', 'kuberay', '-n', NS, '--clusterrole=edit', '--serviceaccount=ray-system:kuberay-operator']);
    await plane.kubectlOk(['create', 'rolebinding', 'ray-users', '-n', NS, '--clusterrole=edit', '--group=ml-engineers', '--group=data-analysts']);
    await plane.kubectlOk(['create', 'clusterrole', 'rayclusters-edit', '--verb=create,get,list,update,patch,delete', '--resource=rayclusters.ray.io']);
    await plane.kubectlOk([
      'create',
      'rolebinding',
      'rayclusters',
      '-n',
      NS,
      '--clusterrole=rayclusters-edit',
      '--group=ml-engineers',
      '--group=data-analysts',
    ]);
    await installBase(plane);
    await plane.kubectlOk(['create', 'configmap', AML.policyConfigMap, '-n', AML.namespace, '--from-literal', `policy.yaml=${await policyYaml()}`]);
    server = await installServer(plane, {
      name: 'aml-workload-kinds',
      args: ['--policy-configmap', `${AML.namespace}/${AML.policyConfigMap}`, '--components', 'admission'],
    });
  });
  after(async () => {
    const plane = cluster();
    await uninstall(plane);
    await server?.stop();
    await plane.kubectl(['delete', '--ignore-not-found', '-n', AML.namespace, `configmap/${AML.policyConfigMap}`]);
    await plane.kubectl(['delete', '--ignore-not-found', 'crd/rayclusters.ray.io', 'clusterrole/rayclusters-edit']);
  });

  it('init registers the policy kind with the validating webhook, and only there', async () => {
    const plane = cluster();
    const rules = (kind: string) =>
      plane
        .kubectlOk(['get', kind, AML.webhookConfig, '-o', 'json'])
        .then((out) => (JSON.parse(out).webhooks as any[]).flatMap((w) => w.rules.map((r: any) => `${r.apiGroups.join(',')}/${r.resources.join(',')}`)));
    assert.ok((await rules('validatingwebhookconfiguration')).includes('ray.io/rayclusters'));
    assert.ok(!(await rules('mutatingwebhookconfiguration')).some((r) => r.startsWith('ray.io/')));
  });

  it("denies bob's RayCluster at kubectl create, naming the template and the rule", async () => {
    const run = await create(rayCluster('bob-ray'), { user: 'bob' });
    assert.equal(run.code, 1);
    assert.match(run.err, new RegExp(`${DENIED_BY}: spec\\.headGroupSpec\\.template: \\[identity-claims\\] bob@contoso\\.com is not allowed`));
    assert.match(run.err, /spec\.workerGroupSpecs\[0\]\.template: \[identity-claims\]/);
  });

  it("admits alice's RayCluster, and the pods its operator creates for it (not judged on identity)", async () => {
    const plane = cluster();
    const run = await create(rayCluster('alice-ray'), { user: 'alice' });
    assert.equal(run.code, 0, run.err);
    uid = JSON.parse(await plane.kubectlOk(['get', '-n', NS, 'raycluster/alice-ray', '-o', 'json'])).metadata.uid;
    const pod = await create(operatorPod('alice-ray-head'), { impersonate: KUBERAY });
    assert.equal(pod.code, 0, pod.err);
    const [decision] = await server.decisions('alice-ray-head', 2);
    assert.ok(decision);
  });

  it('judges a pod bob creates with a forged RayCluster owner as bob', async () => {
    const run = await create(operatorPod('bob-forged'), { user: 'bob' });
    assert.equal(run.code, 1);
    assert.match(run.err, /\[identity-claims\] bob@contoso\.com is not allowed to create pods for compute gpu-compute/);
  });

  it("stops trusting the operator's pods once the registration no longer names the kind (init not re-run, or the rule removed)", async () => {
    const plane = cluster();
    const config = JSON.parse(await plane.kubectlOk(['get', 'validatingwebhookconfiguration', AML.webhookConfig, '-o', 'json']));
    const index = (config.webhooks[0].rules as any[]).findIndex((r) => r.apiGroups.includes('ray.io'));
    await plane.kubectlOk([
      'patch',
      'validatingwebhookconfiguration',
      AML.webhookConfig,
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: `/webhooks/0/rules/${index}` }]),
    ]);
    const run = await waitFor('the operator pod refused', async () => {
      const r = await create(operatorPod(`alice-ray-worker-${Date.now()}`), { impersonate: KUBERAY });
      return r.code !== 0 && r;
    });
    assert.match(run.err, new RegExp(`\\[identity-claims\\] ${KUBERAY} is not allowed to create pods for compute gpu-compute`));
  });

  it('audit lists the workloads of the policy kinds too, judging their templates (mutated first) by the live policy or a planned one', async () => {
    const plane = cluster();
    const audit = async (extra: string[]) => {
      const run = await amlCli(['audit', '--kubeconfig', plane.kubeconfigPath('admin'), '-n', NS, '-o', 'json', ...extra]);
      const report = JSON.parse(run.out);
      const rows = (report.pods as any[]).filter((p) => p.origin.startsWith('RayCluster/alice-ray'));
      return { code: run.code, rows: rows.map((p) => `${p.origin} ${p.status}`).sort(), messages: rows.map((p) => p.message ?? '') };
    };
    const live = await audit([]);
    assert.deepEqual(live.rows, ['RayCluster/alice-ray (0) ok', 'RayCluster/alice-ray ok'], 'head and worker template, by the ConfigMap policy');

    // A change one plans: gpu-compute no longer admits this namespace; the RayCluster would fail its next pod.
    const planned = join(plane.dir, 'workload-kinds-planned.yaml');
    await writeFile(planned, await policyYaml(false));
    const strict = await audit(['--policy', planned]);
    assert.equal(strict.code, 1);
    assert.deepEqual(strict.rows, ['RayCluster/alice-ray (0) deny', 'RayCluster/alice-ray deny']);
    for (const m of strict.messages) assert.match(m, new RegExp(`\\[identity-claims\\] namespace ${NS} may not use compute gpu-compute`));
  });
});
