import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { amlCli, createNamespace, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { ROOT } from './harness/assets.js';
import { amlPod, POLICY_FILE } from './harness/objects.js';
import { waitFor } from './harness/processes.js';
import { cluster } from './harness/suite.js';
import { INSTANCE_TYPE_CASES } from '../fixtures/instancetypes/cases.js';
import { readInstanceTypeObject } from '../../src/policy/instanceTypeObjects.js';

/** AML's InstanceType objects on the real API server: the CRD of deploy/crds, and the server's watch on them. */
const NS = 'e2e-instancetypes';
const CRD = 'instancetypes.amlarc.azureml.com';
const GROUP = { group: 'amlarc.azureml.com', version: 'v1alpha1', plural: 'instancetypes' };
const instanceType = (name: string, spec: unknown) => ({ apiVersion: 'amlarc.azureml.com/v1alpha1', kind: 'InstanceType', metadata: { name }, spec });

describe("AML's InstanceType objects: the CRD and the server's watch", () => {
  let server: AmlServer;
  const objects = () => cluster().kubeConfig().makeApiClient(CustomObjectsApi);

  before(async () => {
    const plane = cluster();
    await plane.kubectlOk(['delete', '--ignore-not-found', `crd/${CRD}`]);
    // Started before the CRD exists, as in a cluster where the AML extension comes later.
    server = await installServer(plane, { name: 'aml-instancetypes', args: ['--policy', POLICY_FILE, '--components', 'admission'] });
    await createNamespace(plane, NS);
  });
  after(async () => {
    const plane = cluster();
    await uninstall(plane);
    await server?.stop();
    await plane.kubectlOk(['delete', '--ignore-not-found', '--wait=false', `crd/${CRD}`]);
  });

  it('serve is ready without the CRD and says so once', async () => {
    const absent = (await server.logs()).filter((l) => /InstanceType CRD is not installed/.test(l.msg));
    assert.equal(absent.length, 1, JSON.stringify(absent));
  });

  it("the API server judges InstanceTypes as dry-run does offline, by AML's rules", async () => {
    const plane = cluster();
    await plane.kubectlOk(['apply', '-f', join(ROOT, 'deploy/crds/instancetypes.yaml')]);
    await plane.kubectlOk(['wait', '--for=condition=Established', '--timeout=30s', `crd/${CRD}`]);
    const verdicts = await Promise.all(
      INSTANCE_TYPE_CASES.map(async (t, i) => {
        const body = instanceType(`case-${i}`, t.spec);
        const online = await objects()
          .createClusterCustomObject({ ...GROUP, body, dryRun: 'All' })
          .then(
            () => 'accepted',
            (err: { code?: number; body?: string }) => (err.code === 422 ? 'refused' : `failed: ${err.code} ${err.body}`),
          );
        return [t.name, online, readInstanceTypeObject(body).ok ? 'accepted' : 'refused'];
      }),
    );
    assert.deepEqual(
      verdicts.filter(([, online, offline]) => online !== offline),
      [],
      'cases where the API server and dry-run disagree: [case, API server, offline]',
    );
  });

  it('a pod naming an InstanceType object gets its nodeSelector and resources, once the server sees the object', async () => {
    await objects().createClusterCustomObject({
      ...GROUP,
      body: instanceType('e2e-gpu-2x', {
        nodeSelector: { agentpool: 'gpupool' },
        resources: { requests: { cpu: '6', memory: '48Gi' }, limits: { cpu: '8', memory: '64Gi', 'nvidia.com/gpu': 2 } },
      }),
    });
    // As alice (ml-engineers, whom the compute's identity claims admit); until the server has the
    // type, policy-input denies the pod as naming an unknown type.
    const pods = cluster().kubeConfig('alice').makeApiClient(CoreV1Api);
    const pod = await waitFor('the type to reach the server', () =>
      pods.createNamespacedPod({ namespace: NS, body: amlPod('train', NS, { instanceType: 'e2e-gpu-2x' }) }),
    );
    assert.deepEqual({ ...pod.spec?.nodeSelector }, { agentpool: 'gpupool' });
    assert.deepEqual(JSON.parse(JSON.stringify(pod.spec?.containers[0]?.resources)), {
      requests: { cpu: '6', memory: '48Gi', 'nvidia.com/gpu': '2' },
      limits: { cpu: '8', memory: '64Gi', 'nvidia.com/gpu': '2' },
    });
    assert.ok((await server.logs()).some((l) => /InstanceType CRD found/.test(l.msg)));
  });

  it("audit judges the cluster's pods with the cluster's instance types", async () => {
    const run = await amlCli(['audit', '--kubeconfig', cluster().kubeconfigPath('admin'), '-n', NS, '--policy', POLICY_FILE, '-o', 'json']);
    assert.equal(run.code, 0, run.out + run.err);
    const report = JSON.parse(run.out) as { pods: { pod: string; status: string }[] };
    assert.deepEqual(
      report.pods.map((p) => [p.pod, p.status]),
      [[`${NS}/train`, 'ok']],
    );
  });
});
