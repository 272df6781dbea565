import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { auditObserver } from '../../src/observability/audit.js';
import { createLogger } from '../../src/observability/logger.js';
import { PolicyStore } from '../../src/policy/store.js';
import { podReview } from '../helpers/admission.js';
import { LogCapture, startTestServer, type TestServer } from '../helpers/server.js';
import { assertValidPod, fixture, mutate, TEST_POLICY_YAML, testPolicy } from '../rules/mutation/helpers.js';

function decodePatch(response: any): jsonpatch.Operation[] {
  assert.equal(response.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
}

describe('POST /mutate over HTTPS', () => {
  let s: TestServer;
  const audit = new LogCapture();
  before(async () => {
    const policy = new PolicyStore(testPolicy(), 'file');
    s = await startTestServer({ policy, observers: [auditObserver([createLogger({ level: 'info', destination: audit })])] });
  });
  after(async () => s.stop());

  for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
    it(`Answers a PyTorchJob master sent as ${apiVersion} with a base64 JSONPatch that gives the expected pod, and names the rules in auditAnnotations.`, async () => {
      const pod = fixture('pytorchjob-master-gpu');
      const res = await s.post('/mutate', podReview(pod, { apiVersion, uid: 'e911857d-c318-11e8-bbad-025000000001' }));
      assert.equal(res.status, 200);
      const body = res.json();
      assert.equal(body.apiVersion, apiVersion);
      assert.equal(body.response.uid, 'e911857d-c318-11e8-bbad-025000000001');
      assert.equal(body.response.allowed, true);
      const patched = jsonpatch.applyPatch(structuredClone(pod), decodePatch(body.response), true, false).newDocument;
      assert.deepEqual(patched, mutate(testPolicy(), pod).pod);
      assertValidPod(patched);
      assert.deepEqual(body.response.auditAnnotations, { 'mutated-by': 'instance-type,gpu-tolerations,aml-tolerations,volcano-scheduler' });
    });
  }

  it('Answers the already-mutated pod (reinvocation) with no patch at all.', async () => {
    const once = mutate(testPolicy(), fixture('mpijob-worker-gpu')).pod;
    const body = (await s.post('/mutate', podReview(once))).json();
    assert.equal(body.response.allowed, true);
    assert.equal(body.response.patch, undefined);
    assert.equal(body.response.patchType, undefined);
    assert.equal(body.response.auditAnnotations, undefined);
  });

  it('Answers a pod with an unknown compute and a broken blobfuse annotation with warnings naming the rules, and the audit line records them.', async () => {
    const pod = fixture('aml-command-job') as any;
    pod.metadata.labels['ml.azure.com/compute'] = 'gpu-cluster-typo';
    pod.metadata.annotations['ml.azure.com/blobfuse-mounts'] = '{"oops"';
    const body = (await s.post('/mutate', podReview(pod, { uid: 'a0c3f5e7-0000-4000-8000-00000000beef' }))).json();
    assert.equal(body.response.allowed, true);
    assert.equal(body.response.patch, undefined, 'nothing applies to a non-GPU pod of an unknown compute');
    assert.deepEqual(body.response.warnings, [
      '[instance-type] compute "gpu-cluster-typo" is not in the policy; not applied',
      '[aml-tolerations] compute "gpu-cluster-typo" is not in the policy; not applied',
      '[node-pool] compute "gpu-cluster-typo" is not in the policy; not applied',
      '[blobfuse-volumes] annotation ml.azure.com/blobfuse-mounts is not valid JSON; not applied',
    ]);
    const line = audit.lines.find((l) => l.uid === 'a0c3f5e7-0000-4000-8000-00000000beef');
    assert.ok(line, 'one audit line for the decision');
    assert.deepEqual(
      (line.outcomes as { ruleId: string; result: string }[]).filter((o) => o.result === 'skipped').map((o) => o.ruleId),
      ['instance-type', 'aml-tolerations', 'node-pool', 'blobfuse-volumes'],
    );
  });

  it('Writes the mutated rules and the patch paths (never values) on the audit line.', async () => {
    await s.post('/mutate', podReview(fixture('aml-command-job'), { uid: '5d3c1b2a-1111-4222-8333-444455556666' }));
    const line = audit.lines.find((l) => l.uid === '5d3c1b2a-1111-4222-8333-444455556666')!;
    assert.deepEqual(
      (line.outcomes as { ruleId: string; result: string }[]).filter((o) => o.result === 'mutated').map((o) => o.ruleId),
      ['instance-type', 'aml-tolerations', 'blobfuse-volumes'],
    );
    assert.ok((line.patch as { path: string }[]).some((p) => p.path === '/spec/volumes/-'));
    assert.doesNotMatch(JSON.stringify(line), /blob-datasets/, 'secret names and other values stay out of the audit line');
  });
});

describe('a server whose policy file is broken by an edit', () => {
  let dir: string;
  let s: TestServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-policy-reload-'));
    await writeFile(join(dir, 'policy.yaml'), TEST_POLICY_YAML);
    // Polled only when the test says so: an edit is judged whole, never half-written by a poll in between.
    s = await startTestServer({ policyFile: join(dir, 'policy.yaml'), reloadIntervalMs: 3_600_000 });
  });
  after(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('Keeps serving with the last good policy, then applies the next good edit.', async () => {
    const pod = fixture('tfjob-worker-cpu');
    const queueOf = async () => {
      const ops = decodePatch((await s.post('/mutate', podReview(pod))).json().response);
      const annotations = ops.find((o) => o.path === '/metadata/annotations') as { value: Record<string, string> };
      return annotations.value['scheduling.volcano.sh/queue-name'];
    };
    assert.equal(await queueOf(), 'vision', 'the file policy is in force from the start');

    await writeFile(join(dir, 'policy.yaml'), 'apiVersion: aml-admission.azure.com/v1alpha1\nkind: AdmissionPolicy\ncomputes: {}\n');
    await s.running.reload();
    const rejected = s.logs.lines.filter((l) => l.msg === 'policy file rejected; keeping the last good policy');
    assert.deepEqual(
      rejected.map((l) => l.errors),
      [[{ path: '/computes', message: 'must NOT have fewer than 1 properties' }]],
    );
    assert.equal(await queueOf(), 'vision', 'still the last good policy');
    assert.equal((await s.get('/readyz')).status, 200, 'still ready');

    await writeFile(join(dir, 'policy.yaml'), TEST_POLICY_YAML.replace('queue: vision', 'queue: vision-high'));
    await s.running.reload();
    assert.equal(await queueOf(), 'vision-high');
    assert.equal(s.logs.lines.filter((l) => l.msg === 'policy loaded from file').length, 2, 'the first load and the good edit');
  });
});
