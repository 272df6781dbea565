import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeClients, type KubeClients } from '../../src/kube/client.js';
import { runInit, type InitOptions } from '../../src/kube/init.js';
import { parseWebhookUrl } from '../../src/kube/webhookConfigs.js';
import { createServingCertificate } from '../../src/tls/certs.js';
import { FakeApiServer, type KubeObject, type Verb } from '../helpers/fakeApiServer.js';
import { b64, certsIn, DAY_MS, FAST_RETRY, unb64 } from './support.js';

const NS = 'azureml';
const SERVICE = 'azureml-connector-admission';
const SECRET = 'azureml-connector-admission-tls';
const CONFIG = 'azureml-connector-admission';
const OPTS: InitOptions = { namespace: NS, service: SERVICE, secretName: SECRET, templatesDir: 'webhook-config', retry: FAST_RETRY };
const WEBHOOK_RESOURCES = ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'] as const;

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
  const writes = (): string[] => fake.requests.filter((r) => r.verb === 'create' || r.verb === 'update').map((r) => `${r.verb} ${r.resource}`);

  it('creates the certificate Secret and both webhook configurations trusting its CA, on an empty cluster', async () => {
    const report = await runInit(clients, OPTS);

    assert.equal(report.secret.action, 'created');
    assert.deepEqual(report.webhooks.map((w) => `${w.kind}:${w.action}`), ['MutatingWebhookConfiguration:created', 'ValidatingWebhookConfiguration:created']);
    const s = secret();
    assert.equal(s.type, 'kubernetes.io/tls');
    const cert = new X509Certificate(unb64(s.data['tls.crt']));
    const [ca] = certsIn(unb64(s.data['ca.crt']));
    assert.ok(cert.checkIssued(ca!) && cert.verify(ca!.publicKey), 'tls.crt is signed by ca.crt');
    assert.ok(cert.checkHost(`${SERVICE}.${NS}.svc`), 'the certificate names the Service');
    for (const config of webhooks()) {
      for (const w of config.webhooks) {
        assert.equal(w.clientConfig.caBundle, s.data['ca.crt'], `${config.kind} trusts the Secret's CA`);
        assert.equal(w.clientConfig.service.namespace, NS);
        assert.equal(w.clientConfig.service.name, SERVICE);
      }
    }
  });

  it('changes nothing when run again on a cluster it already set up', async () => {
    await runInit(clients, OPTS);
    const before = { secret: secret().metadata.resourceVersion, webhooks: webhooks().map((w) => w.metadata.resourceVersion) };
    fake.requests.length = 0;

    const report = await runInit(clients, OPTS);

    assert.equal(report.secret.action, 'unchanged');
    assert.deepEqual(report.webhooks.map((w) => w.action), ['unchanged', 'unchanged']);
    assert.deepEqual(writes(), []);
    assert.deepEqual({ secret: secret().metadata.resourceVersion, webhooks: webhooks().map((w) => w.metadata.resourceVersion) }, before);
  });

  it('renews a certificate that expires within 30 days and trusts the old and new CA while pods roll over', async () => {
    const issued = new Date(Date.now() - 350 * DAY_MS); // a 365-day certificate with 15 days left
    await runInit(clients, { ...OPTS, now: issued });
    const oldCa = certsIn(unb64(secret().data['ca.crt']))[0]!;

    const report = await runInit(clients, OPTS);

    assert.equal(report.secret.action, 'renewed');
    assert.match(report.secret.reason ?? '', /expires .* within 30 days/);
    assert.deepEqual(report.webhooks.map((w) => w.action), ['updated', 'updated']);
    const s = secret();
    const cert = new X509Certificate(unb64(s.data['tls.crt']));
    assert.ok(new Date(cert.validTo).getTime() - Date.now() > 300 * DAY_MS, 'the new certificate is good for most of a year');
    const bundle = certsIn(unb64(s.data['ca.crt']));
    assert.equal(bundle.length, 2);
    assert.ok(cert.checkIssued(bundle[0]!), 'the new CA comes first and issued the new certificate');
    assert.equal(bundle[1]!.fingerprint256, oldCa.fingerprint256, 'the old CA is still trusted');
    for (const config of webhooks()) assert.equal(config.webhooks[0].clientConfig.caBundle, s.data['ca.crt']);
    assert.equal((await runInit(clients, OPTS)).secret.action, 'unchanged', 'a renewed Secret is reused by the next run');
  });

  it('registers by URL for a server outside the cluster: reissues a certificate that lacks the URL host, and writes it to the certs folder', async () => {
    await runInit(clients, OPTS);
    const byService = unb64(secret().data['tls.crt']);
    const dir = await mkdtemp(join(tmpdir(), 'aml-init-certs-'));
    try {
      const report = await runInit(clients, { ...OPTS, url: parseWebhookUrl('https://dev-box.example.com:9443'), certsDir: dir });

      assert.equal(report.secret.action, 'renewed');
      assert.match(report.secret.reason ?? '', /names it must cover/);
      const s = secret();
      const cert = new X509Certificate(unb64(s.data['tls.crt']));
      assert.notEqual(cert.toString(), new X509Certificate(byService).toString());
      assert.ok(cert.checkHost('dev-box.example.com') && cert.checkHost(`${SERVICE}.${NS}.svc`), 'the new certificate names the URL host and the Service');
      assert.deepEqual(report.webhooks.map((w) => w.url), ['https://dev-box.example.com:9443/mutate', 'https://dev-box.example.com:9443/validate']);
      for (const config of webhooks()) assert.deepEqual(Object.keys(config.webhooks[0].clientConfig).sort(), ['caBundle', 'url']);
      assert.equal(await readFile(join(dir, 'tls.crt'), 'utf8'), unb64(s.data['tls.crt']));
      assert.equal(await readFile(join(dir, 'tls.key'), 'utf8'), unb64(s.data['tls.key']));
      assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), unb64(s.data['ca.crt']));

      const again = await runInit(clients, { ...OPTS, url: parseWebhookUrl('https://dev-box.example.com:9443'), certsDir: dir });
      assert.deepEqual([again.secret.action, ...again.webhooks.map((w) => w.action)], ['unchanged', 'unchanged', 'unchanged']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reuses the Secret another init created between its read and its create (409 AlreadyExists)', async () => {
    const theirs = createServingCertificate({ service: SERVICE, namespace: NS });
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
    assert.equal(fake.requestsFor('get', 'secrets').length, 2, 'read again after the conflict');
  });

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

  it('retries transient API errors (503, 429) with backoff until they pass', async () => {
    fake.failNext({ verb: 'create', resource: 'secrets' }, 503, 2);
    fake.failNext({ verb: 'get', resource: 'validatingwebhookconfigurations' }, 429, 1);

    const report = await runInit(clients, OPTS);

    assert.equal(report.secret.action, 'created');
    assert.equal(fake.requestsFor('create', 'secrets').length, 3);
    assert.equal(fake.requestsFor('get', 'validatingwebhookconfigurations').length, 2);
    assert.ok(webhooks().every(Boolean));
  });

  it('gives up after the configured attempts with the step and the last error', async () => {
    fake.failNext({ verb: 'get', resource: 'secrets' }, 500, 100);

    await assert.rejects(runInit(clients, OPTS), /^KubeError: read Secret azureml\/azureml-connector-admission-tls: injected failure \[HTTP 500\]$/m);
    assert.equal(fake.requestsFor('get', 'secrets').length, FAST_RETRY.attempts);
  });

  const forbidden: { name: string; given: { verb: Verb; resource: string }; want: RegExp }[] = [
    { name: 'reading Secrets', given: { verb: 'get', resource: 'secrets' }, want: /read Secret azureml\/azureml-connector-admission-tls: secrets "azureml-connector-admission-tls" is forbidden: .* \[HTTP 403\] \(RBAC/ },
    { name: 'creating Secrets', given: { verb: 'create', resource: 'secrets' }, want: /create Secret .*cannot create resource "secrets".*\[HTTP 403\] \(RBAC/ },
    { name: 'creating webhook configurations', given: { verb: 'create', resource: 'mutatingwebhookconfigurations' }, want: /create MutatingWebhookConfiguration azureml-connector-admission: .*forbidden.*\(RBAC/ },
    { name: 'reading webhook configurations', given: { verb: 'get', resource: 'validatingwebhookconfigurations' }, want: /read ValidatingWebhookConfiguration .*forbidden.*\(RBAC/ },
  ];
  for (const { name, given, want } of forbidden) {
    it(`fails at once with the RBAC reason when the service account is forbidden from ${name}`, async () => {
      fake.forbid(given.verb, given.resource);
      await assert.rejects(runInit(clients, OPTS), want);
      assert.equal(fake.requestsFor(given.verb, given.resource).length, 1, 'a 403 is not retried');
    });
  }

  it('fails before touching the cluster when a webhook template is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aml-webhook-config-'));
    try {
      await writeFile(join(dir, 'mutating.yaml'), 'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {}\nwebhooks: []\n');
      await assert.rejects(runInit(clients, { ...OPTS, templatesDir: dir }), /mutating\.yaml \(document 1\): metadata\.name is required/);
      assert.deepEqual(fake.requests, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
