import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeClients, type KubeClients } from '../../src/kube/client.js';
import { runInit, type InitOptions } from '../../src/kube/init.js';
import { createCA, issueServingCertificate } from '../../src/tls/certs.js';
import { FakeApiServer, type KubeObject } from '../helpers/fakeApiServer.js';
import { b64, FAST_RETRY, unb64 } from './support.js';

const NS = 'azureml';
const SERVICE = 'azureml-connector-admission';
const SECRET = 'azureml-connector-admission-tls';
const CONFIG = 'azureml-connector-admission';
const OPTS: InitOptions = {
  namespace: NS,
  service: SERVICE,
  secretName: SECRET,
  caSecretName: `${SERVICE}-ca`,
  templatesDir: 'webhook-config',
  retry: FAST_RETRY,
};
const WEBHOOK_RESOURCES = ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'] as const;

/**
 * init against the fake API server, for what a real one cannot do on demand: a concurrent writer
 * between our read and our write (409), transient 5xx and 429 answers, and proving that no request
 * was sent. What init does on a healthy cluster (create, idempotence, renewal, --webhook-url, the
 * names it is given, RBAC refusals) is tested on the real API server in test/e2e/registration.e2e.ts.
 */
describe('init against an API server', () => {
  let fake: FakeApiServer;
  let clients: KubeClients;

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    clients = kubeClients(fake.kubeConfig());
  });
  afterEach(() => fake.close());

  const secret = (): KubeObject => fake.get('secrets', NS, SECRET)!;
  const webhooks = (): KubeObject[] => WEBHOOK_RESOURCES.map((r) => fake.get(r, '', CONFIG)!);

  // Fake: the other writer is injected between init's read and its create.
  it('reuses the Secret another init created between its read and its create (409 AlreadyExists)', async () => {
    const ca = createCA();
    fake.apply('secrets', {
      metadata: { name: OPTS.caSecretName, namespace: NS },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(ca.certPem), 'tls.key': b64(ca.keyPem) },
    });
    const theirs = { ...issueServingCertificate(ca, { service: SERVICE, namespace: NS }), caPem: ca.certPem };
    fake.before({ verb: 'create', resource: 'secrets' }, () =>
      fake.apply('secrets', {
        metadata: { name: SECRET, namespace: NS },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(theirs.certPem), 'tls.key': b64(theirs.keyPem), 'ca.crt': b64(theirs.caPem) },
      }),
    );

    const report = await runInit(clients, OPTS);

    assert.equal(report.secret.action, 'unchanged');
    assert.equal(unb64(secret().data['tls.crt']), theirs.certPem);
    for (const config of webhooks()) assert.equal(config.webhooks[0].clientConfig.caBundle, b64(theirs.caPem));
    assert.equal(fake.requestsFor('get', 'secrets').length, 3, 'the CA, then the serving Secret twice: read again after the conflict');
  });

  // Fake: the other writer is injected between init's read and its update.
  it('reads again and updates a webhook configuration that another writer changed under it (409 Conflict)', async () => {
    await runInit(clients, OPTS);
    const drifted = fake.get('mutatingwebhookconfigurations', '', CONFIG)!;
    drifted.webhooks[0].clientConfig.caBundle = b64('stale');
    fake.apply('mutatingwebhookconfigurations', drifted);
    fake.before({ verb: 'update', resource: 'mutatingwebhookconfigurations' }, () => {
      const other = fake.get('mutatingwebhookconfigurations', '', CONFIG)!;
      other.metadata.labels = { ...other.metadata.labels, 'example.com/touched': 'yes' };
      fake.apply('mutatingwebhookconfigurations', other);
    });

    const report = await runInit(clients, OPTS);

    assert.equal(report.webhooks[0]!.action, 'updated');
    assert.equal(fake.requestsFor('update', 'mutatingwebhookconfigurations').length, 2, 'the first update met a 409');
    const config = fake.get('mutatingwebhookconfigurations', '', CONFIG)!;
    assert.equal(config.webhooks[0].clientConfig.caBundle, secret().data['ca.crt']);
    assert.equal(config.metadata.labels['example.com/touched'], 'yes', "the other writer's label survives");
  });

  // Fake: a real API server does not answer 503 or 429 on demand.
  it('retries transient API errors (503, 429) with backoff until they pass', async () => {
    fake.failNext({ verb: 'create', resource: 'secrets' }, 503, 2);
    fake.failNext({ verb: 'get', resource: 'validatingwebhookconfigurations' }, 429, 1);

    const report = await runInit(clients, OPTS);

    assert.deepEqual([report.ca.action, report.secret.action], ['created', 'created']);
    assert.equal(fake.requestsFor('create', 'secrets').length, 4, 'two 503s, then the CA and the serving Secret');
    assert.equal(fake.requestsFor('get', 'validatingwebhookconfigurations').length, 2);
    assert.ok(webhooks().every(Boolean));
  });

  // Fake: persistent 500s.
  it('gives up after the configured attempts with the step and the last error', async () => {
    fake.failNext({ verb: 'get', resource: 'secrets' }, 500, 100);

    await assert.rejects(runInit(clients, OPTS), /^KubeError: read Secret azureml\/azureml-connector-admission-ca: injected failure \[HTTP 500\]$/m);
    assert.equal(fake.requestsFor('get', 'secrets').length, FAST_RETRY.attempts);
  });

  // Fake: it records every request, so "nothing was sent" can be checked.
  it('fails before touching the cluster when a webhook template is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aml-webhook-config-'));
    try {
      await writeFile(
        join(dir, 'mutating.yaml'),
        'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {}\nwebhooks: []\n',
      );
      await assert.rejects(runInit(clients, { ...OPTS, templatesDir: dir }), /mutating\.yaml \(document 1\): metadata\.name is required/);
      assert.deepEqual(fake.requests, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
