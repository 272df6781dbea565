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

/**
 * AML's own objects on the real API server: InstanceTypes (the CRD of deploy/crds, and the
 * server's watch on them) and PVCs labelled ml.azure.com/pvc (the server's PVC informer).
 */
const NS = 'e2e-instancetypes';
const CRD = 'instancetypes.amlarc.azureml.com';
const GROUP = { group: 'amlarc.azureml.com', version: 'v1alpha1', plural: 'instancetypes' };
const instanceType = (name: string, spec: unknown) => ({ apiVersion: 'amlarc.azureml.com/v1alpha1', kind: 'InstanceType', metadata: { name }, spec });

describe("AML's objects: InstanceTypes (the CRD and the server's watch) and labelled PVCs", () => {
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

  it('deleting the CRD takes its instance types along: a pod naming one is then denied by policy-input', async () => {
    const plane = cluster();
    await plane.kubectlOk(['delete', `crd/${CRD}`]);
    const pods = cluster().kubeConfig('alice').makeApiClient(CoreV1Api);
    const denied = await waitFor('the server to drop the types', async () =>
      pods.createNamespacedPod({ namespace: NS, body: amlPod('after-crd', NS, { instanceType: 'e2e-gpu-2x' }), dryRun: 'All' }).then(
        () => undefined,
        (err: { body?: string }) => String(err.body),
      ),
    );
    assert.match(denied, /\[policy-input\] instance type e2e-gpu-2x is not defined for compute gpu-compute/);
  });

  it('a labelled PVC of the namespace is mounted into its AML pods at its mount path, with its gid', async () => {
    await cluster()
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedPersistentVolumeClaim({
        namespace: NS,
        body: {
          metadata: {
            name: 'nfs-pvc',
            labels: { 'ml.azure.com/pvc': 'true' },
            annotations: { 'ml.azure.com/mountpath': '/mnt/nfs', 'ml.azure.com/gid': '3000' },
          },
          spec: { accessModes: ['ReadWriteMany'], storageClassName: '', resources: { requests: { storage: '1Gi' } } },
        },
      });
    const pods = cluster().kubeConfig('alice').makeApiClient(CoreV1Api);
    const pod = await waitFor('the claim to reach the server', async () => {
      const p = await pods.createNamespacedPod({ namespace: NS, body: amlPod('with-pvc', NS), dryRun: 'All' });
      return p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === 'nfs-pvc') && p;
    });
    assert.deepEqual(JSON.parse(JSON.stringify(pod.spec?.containers[0]?.volumeMounts?.find((m) => m.name === 'pvc-nfs-pvc'))), {
      name: 'pvc-nfs-pvc',
      mountPath: '/mnt/nfs',
    });
    assert.deepEqual(pod.spec?.securityContext?.supplementalGroups, [3000]);
  });
});
