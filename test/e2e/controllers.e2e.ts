import assert from 'node:assert/strict';
import { AppsV1Api, BatchV1Api, type V1Pod, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { createNamespace, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { core, eventsFor, podExists, POLICY_FILE } from './harness/objects.js';
import { waitFor } from './harness/processes.js';
import { cluster } from './harness/suite.js';

/**
 * Workloads whose pods the real controller manager creates. The validating webhook judges the
 * workload when its submitter creates it, with the submitter's identity; the pods (and Jobs, and
 * ReplicaSets) the trusted controllers then create for it are judged on every rule but identity.
 * Each test reads the requester the webhook saw from the server's audit log.
 */
const NS = 'e2e-controllers';
const REPLICASET_CONTROLLER = 'system:serviceaccount:kube-system:replicaset-controller';
const JOB_CONTROLLER = 'system:serviceaccount:kube-system:job-controller';
const DENIED_BY = 'admission webhook "validate.aml-admission.ml.azure.com" denied the request';

const template = (app: string): V1PodTemplateSpec => ({
  metadata: { labels: { app, 'ml.azure.com/compute': 'gpu-compute', 'ml.azure.com/instance-type': 'gpu-1' } },
  spec: {
    restartPolicy: app.startsWith('job') ? 'Never' : 'Always',
    containers: [{ name: 'trainer', image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04' }],
  },
});
const cronJob = (name: string) => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: NS },
  spec: { schedule: '* * * * *', jobTemplate: { spec: { backoffLimit: 0, template: template(`job-${name}`) } } },
});

describe('real controllers: workloads judged as their submitter, their pods admitted from trusted controllers', () => {
  let server: AmlServer;
  const podsOf = async (selector: string): Promise<V1Pod[]> => (await core(cluster()).listNamespacedPod({ namespace: NS, labelSelector: selector })).items;
  const create = (user: 'alice' | 'bob', object: object) => cluster().kubectl(['create', '-f', '-'], { user, input: JSON.stringify(object) });

  before(async () => {
    const plane = cluster();
    await plane.controllerManager();
    server = await installServer(plane, { name: 'aml-controllers', args: ['--policy', POLICY_FILE, '--components', 'admission'] });
    await createNamespace(plane, NS);
    // Submitted first: the CronJob controller starts its Job at the next full minute, while the other tests run.
    const created = await create('alice', cronJob('nightly'));
    assert.equal(created.code, 0, created.err);
  });
  after(async () => {
    const plane = cluster();
    // Stop the controllers' pod creation before the webhooks go away.
    await plane.kubectl(['delete', '-n', NS, 'cronjob/nightly', 'deployment/trainer', '--ignore-not-found', '--wait=false']);
    await uninstall(plane);
    await server?.stop();
  });

  it(`gives alice's Deployment its pods: she is judged at submission, the ReplicaSet controller (${REPLICASET_CONTROLLER}) is trusted with them`, async () => {
    const plane = cluster();
    const created = await create('alice', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'trainer', namespace: NS },
      spec: { replicas: 1, selector: { matchLabels: { app: 'trainer' } }, template: template('trainer') },
    });
    assert.equal(created.code, 0, created.err);

    const rs = await waitFor(
      "the Deployment's ReplicaSet",
      async () => (await plane.kubeConfig().makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=trainer' })).items[0],
    );
    const [pod] = await waitFor('its pod', async () => {
      const pods = await podsOf('app=trainer');
      return pods.length > 0 && pods;
    });
    assert.deepEqual(pod!.spec?.nodeSelector, { agentpool: 'gpupool' }, 'mutated like any pod');
    const audit = await server.audit();
    const decision = (name: string) => audit.filter((l) => l.endpoint === '/validate' && l.name === name).map((l) => `${l.decision} ${l.username}`);
    assert.deepEqual(decision('trainer'), ['allowed alice@contoso.com'], 'the Deployment, as alice');
    assert.deepEqual(
      decision(rs.metadata!.name!),
      ['allowed system:serviceaccount:kube-system:deployment-controller'],
      'its ReplicaSet, from a trusted controller',
    );
    assert.deepEqual(decision(pod!.metadata!.name!), [`allowed ${REPLICASET_CONTROLLER}`], 'its pod, from a trusted controller');
    assert.deepEqual(await eventsFor(plane, NS, 'ReplicaSet', rs.metadata!.name!).then((es) => es.filter((e) => e.reason === 'FailedCreate')), []);
  });

  it("denies bob's Job when he submits it, naming the template and the rule; no pod is ever created", async () => {
    const run = await create('bob', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'job-bob', namespace: NS },
      spec: { backoffLimit: 0, template: template('job-bob') },
    });
    assert.equal(run.code, 1);
    assert.equal(
      run.err.trim(),
      `Error from server (Forbidden): error when creating "STDIN": ${DENIED_BY}: spec.template: [identity-claims] bob@contoso.com is not allowed to create pods for compute gpu-compute`,
    );
    assert.deepEqual(await podsOf('app=job-bob'), []);
  });

  it("denies bob's CronJob at submission too", async () => {
    const run = await create('bob', cronJob('bob-nightly'));
    assert.equal(run.code, 1);
    assert.match(run.err, /denied the request: spec\.jobTemplate\.spec\.template: \[identity-claims\] bob@contoso\.com is not allowed/);
  });

  it('judges a pod bob creates with a forged owner reference as bob', async () => {
    const run = await create('bob', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'forged',
        namespace: NS,
        labels: template('forged').metadata!.labels,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'nightly-1', uid: '5d1f7a0e-0000-4000-8000-000000000001', controller: true }],
      },
      spec: template('forged').spec,
    });
    assert.equal(run.code, 1);
    assert.match(run.err, /denied the request: \[identity-claims\] bob@contoso\.com is not allowed/);
    assert.equal(await podExists(cluster(), NS, 'forged'), false);
  });

  it(`gives the Job that alice's CronJob starts its pods: the CronJob and Job controllers are trusted along the chain`, async function () {
    this.timeout(150_000); // the CronJob fires at the next full minute
    const plane = cluster();
    const batch = plane.kubeConfig().makeApiClient(BatchV1Api);
    const job = await waitFor(
      "the CronJob's Job",
      async () =>
        (await batch.listNamespacedJob({ namespace: NS })).items.find((j) =>
          j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === 'nightly'),
        ),
      { timeoutMs: 100_000, intervalMs: 1000 },
    );
    const [pod] = await waitFor('its pod', async () => {
      const pods = (await podsOf('app=job-nightly')).filter((p) => p.metadata?.ownerReferences?.some((o) => o.name === job.metadata!.name));
      return pods.length > 0 && pods;
    });
    assert.deepEqual(pod!.spec?.nodeSelector, { agentpool: 'gpupool' });
    const [validated] = (await server.decisions(pod!.metadata!.name!, 1)).filter((l) => l.endpoint === '/validate');
    assert.deepEqual([validated?.decision, validated?.username], ['allowed', JOB_CONTROLLER]);
  });
});
