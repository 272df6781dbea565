import assert from 'node:assert/strict';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { createNamespace, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { amlPod, podExists, POLICY_FILE } from './harness/objects.js';
import { waitFor } from './harness/processes.js';
import { cluster } from './harness/suite.js';

const NS = 'e2e-events';
const json = (o: unknown) => JSON.stringify(o);

async function eventsOn(kind: string, name: string): Promise<CoreV1Event[]> {
  const core = cluster().kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return list.items;
}

const eventOn = (kind: string, name: string) =>
  waitFor(`an Event on ${kind} ${NS}/${name}`, async () => (await eventsOn(kind, name)).find((e) => e.reason === 'PolicyViolationDenied'), {
    timeoutMs: 30_000,
    intervalMs: 250,
  });

describe('admission Events through a real API server (serve --events, default deny,warn)', () => {
  let server: AmlServer;

  before(async () => {
    const plane = cluster();
    // As the admission ServiceAccount, with deploy/admission/rbac.yaml's grants: create events in any namespace.
    server = await installServer(plane, { name: 'aml-admission-events', args: ['--policy', POLICY_FILE, '--components', 'admission'], podName: 'admission-0' });
    await createNamespace(plane, NS);
  });
  after(async () => {
    await uninstall(cluster());
    await server?.stop();
  });

  it('A denied pod create posts a Warning Event on the pod, in its namespace, naming the rule', async () => {
    const run = await cluster().kubectl(['create', '-f', '-'], { user: 'bob', input: json(amlPod('bob-denied', NS, { instanceType: 'gpu-1' })) });
    assert.equal(run.code, 1, run.err);
    assert.equal(await podExists(cluster(), NS, 'bob-denied'), false);

    const event = await eventOn('Pod', 'bob-denied');
    assert.equal(event.type, 'Warning');
    assert.equal(event.metadata?.namespace, NS);
    assert.match(event.message ?? '', /^Pod bob-denied: CREATE denied by rules identity-claims: \[identity-claims\] .*bob@contoso.com is not allowed/);
    assert.equal(event.source?.component, 'aml-admission');
    assert.equal(event.reportingComponent, 'aml-admission');
    assert.equal(event.reportingInstance, 'admission-0');
  });

  it("A denied pod of a workload posts the Event on the workload (the pod's controller owner), the pod as related", async () => {
    const pod = amlPod('web-abc12', NS, { instanceType: 'gpu-1' });
    pod.metadata!.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7', uid: '3f7a2a55-0b8e-4f7e-9f57-6a4a4d8a1c01', controller: true },
    ];
    const run = await cluster().kubectl(['create', '-f', '-'], { user: 'bob', input: json(pod) });
    assert.equal(run.code, 1, run.err);

    const event = await eventOn('ReplicaSet', 'web-5d8f7');
    assert.equal(event.involvedObject.uid, '3f7a2a55-0b8e-4f7e-9f57-6a4a4d8a1c01', 'the uid kubectl describe selects events by');
    assert.equal(event.related?.kind, 'Pod');
    assert.equal(event.related?.name, 'web-abc12');
    assert.deepEqual(await eventsOn('Pod', 'web-abc12'), [], 'one Event, on the owner');
  });

  it('A denied server-side dry run posts no Event', async () => {
    const dry = await cluster().kubectl(['create', '--dry-run=server', '-f', '-'], {
      user: 'bob',
      input: json(amlPod('bob-dry-run', NS, { instanceType: 'gpu-1' })),
    });
    assert.equal(dry.code, 1, dry.err);
    // Events go out in the order of the reviews: once a later denial's Event is there, the dry run's would be too.
    await cluster().kubectl(['create', '-f', '-'], { user: 'bob', input: json(amlPod('bob-after-dry-run', NS, { instanceType: 'gpu-1' })) });
    await eventOn('Pod', 'bob-after-dry-run');
    assert.deepEqual(await eventsOn('Pod', 'bob-dry-run'), []);
  });
});
