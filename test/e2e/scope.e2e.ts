import assert from 'node:assert/strict';
import { createNamespace, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { amlPod, POLICY_FILE, readPod } from './harness/objects.js';
import { cluster } from './harness/suite.js';

const NS = 'e2e-scope';
const json = (o: unknown) => JSON.stringify(o);
const plainPod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx' }], ...spec },
});

/**
 * The blast radius, on the real API server: its matchConditions keep the fail-closed validating
 * webhook (and the mutating one) off the pods no rule can deny or change, so an outage of ours
 * stops only what it must.
 */
describe('webhook scope: matchConditions on a real API server', () => {
  let server: AmlServer | undefined;

  before(async () => {
    const plane = cluster();
    server = await installServer(plane, { name: 'aml-scope', args: ['--policy', POLICY_FILE, '--components', 'admission'] });
    await createNamespace(plane, NS);
  });
  after(async () => {
    await uninstall(cluster());
    await server?.stop();
  });

  it('accepts the conditions, and calls neither webhook for an ordinary pod or an unrelated update, but both for an AML pod', async () => {
    const plane = cluster();
    await plane.kubectlOk(['create', '-f', '-'], { user: 'alice', input: json(plainPod('plain')) });
    await plane.kubectlOk(['label', '-n', NS, 'pod/plain', 'version=2'], { user: 'alice' });
    await plane.kubectlOk(['create', '-f', '-'], { user: 'alice', input: json(amlPod('aml', NS, { instanceType: 'gpu-1' })) });

    // The API server calls webhooks in order, so the AML pod's lines come after any the plain pod caused.
    assert.deepEqual(
      (await server!.decisions('aml', 2)).map((l) => l.endpoint),
      ['/mutate', '/validate'],
    );
    assert.deepEqual(
      (await server!.audit()).filter((l) => l.name === 'plain'),
      [],
      'the plain pod reached neither webhook',
    );
    assert.deepEqual((await readPod(plane, NS, 'aml')).spec?.nodeSelector, { agentpool: 'gpupool' });
  });

  it('with the server down, still admits ordinary pods and refuses what the rules judge: AML pods and pods that target nodes', async () => {
    const plane = cluster();
    await server!.stop();
    server = undefined;

    await plane.kubectlOk(['create', '-f', '-'], { user: 'bob', input: json(plainPod('still-fine')) });
    await plane.kubectlOk(['label', '-n', NS, 'pod/still-fine', 'version=2'], { user: 'bob' });
    for (const [name, pod] of [
      ['aml-down', amlPod('aml-down', NS, { instanceType: 'gpu-1' })],
      ['targets-a-pool', plainPod('targets-a-pool', { nodeSelector: { agentpool: 'reservedpool' } })],
    ] as const) {
      const r = await plane.kubectl(['create', '-f', '-'], { user: 'bob', input: json(pod) });
      assert.notEqual(r.code, 0, `${name} is refused`);
      assert.match(r.err, /failed calling webhook "validate\.aml-admission\.ml\.azure\.com"/, name);
    }
  });
});
