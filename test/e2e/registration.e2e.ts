import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, type V1MutatingWebhookConfiguration, type V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { AML, createNamespace, initByUrl, startServer, uninstall, type AmlServer } from './harness/aml.js';
import { amlPod, core, POLICY_FILE, readPod } from './harness/objects.js';
import { freePort } from './harness/processes.js';
import { cluster } from './harness/suite.js';

const NS = 'e2e-registration';

describe('registration: aml-admission init against a real API server', () => {
  let port: number;
  let certsDir: string;
  let server: AmlServer | undefined;

  const configs = async (): Promise<[V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration]> => {
    const api = cluster().kubeConfig().makeApiClient(AdmissionregistrationV1Api);
    return [await api.readMutatingWebhookConfiguration({ name: AML.webhookConfig }), await api.readValidatingWebhookConfiguration({ name: AML.webhookConfig })];
  };
  const secret = () => core(cluster()).readNamespacedSecret({ namespace: AML.namespace, name: AML.secret });
  const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

  before(async () => {
    const plane = cluster();
    // From nothing: no webhook configurations and no certificate Secret (an earlier file may have installed).
    await uninstall(plane);
    await plane.kubectlOk(['delete', '--ignore-not-found', '-n', AML.namespace, `secret/${AML.secret}`]).catch(() => undefined);
    port = await freePort();
    certsDir = join(plane.dir, 'registration-certs');
    await mkdir(certsDir, { recursive: true });
  });
  after(async () => {
    await uninstall(cluster());
    await server?.stop();
  });

  it('creates the certificate Secret and registers both webhooks by URL, trusting its CA (as the init Job\'s ServiceAccount)', async () => {
    const run = await initByUrl(cluster(), { port, certsDir });

    assert.equal(run.code, 0, run.err);
    assert.equal(
      run.out,
      [
        `Secret ${AML.namespace}/${AML.secret}: created (the Secret did not exist)`,
        `certificates written to ${certsDir} (ca.crt, tls.crt, tls.key)`,
        `MutatingWebhookConfiguration ${AML.webhookConfig}: created (https://127.0.0.1:${port}/mutate)`,
        `ValidatingWebhookConfiguration ${AML.webhookConfig}: created (https://127.0.0.1:${port}/validate)`,
        '',
      ].join('\n'),
    );
    const s = await secret();
    assert.equal(s.type, 'kubernetes.io/tls');
    const cert = new X509Certificate(unb64(s.data?.['tls.crt']));
    const ca = new X509Certificate(unb64(s.data?.['ca.crt']));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
    assert.ok(cert.checkIP('127.0.0.1'), 'the certificate names the URL host');
    assert.ok(cert.checkHost(`azureml-connector-admission.${AML.namespace}.svc`), 'and the Service');
    for (const config of await configs()) {
      for (const w of config.webhooks ?? []) {
        assert.deepEqual({ ...w.clientConfig }, { url: `https://127.0.0.1:${port}${w.name.startsWith('mutate') ? '/mutate' : '/validate'}`, caBundle: s.data?.['ca.crt'] });
      }
    }
    for (const f of ['ca.crt', 'tls.crt', 'tls.key']) assert.equal(await readFile(join(certsDir, f), 'utf8'), unb64(s.data?.[f]), `${f} written for serve`);
  });

  it('changes nothing when run again: every object unchanged, no resourceVersion moved', async () => {
    const before = [(await secret()).metadata?.resourceVersion, ...(await configs()).map((c) => c.metadata?.resourceVersion)];

    const run = await initByUrl(cluster(), { port, certsDir });

    assert.equal(run.code, 0, run.err);
    assert.deepEqual(run.out.trim().split('\n').filter((l) => !l.startsWith('certificates')).map((l) => l.split(': ')[1]!.split(' ')[0]), ['unchanged', 'unchanged', 'unchanged']);
    assert.deepEqual([(await secret()).metadata?.resourceVersion, ...(await configs()).map((c) => c.metadata?.resourceVersion)], before);
  });

  it('lets the API server reach serve, with the certificate init wrote, at that URL: a pod is mutated and validated', async () => {
    const plane = cluster();
    server = await startServer(plane, { name: 'aml-registration', port, certsDir, args: ['--policy', POLICY_FILE, '--components', 'admission'] });
    await createNamespace(plane, NS);

    await plane.kubectlOk(['create', '-f', '-'], { user: 'alice', input: JSON.stringify(amlPod('registered', NS, { instanceType: 'gpu-1' })) });

    assert.deepEqual((await readPod(plane, NS, 'registered')).spec?.nodeSelector, { agentpool: 'gpupool' });
    assert.deepEqual((await server.decisions('registered', 2)).map((l) => l.endpoint), ['/mutate', '/validate']);
  });
});
