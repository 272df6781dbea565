import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, type V1MutatingWebhookConfiguration, type V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { certsIn } from '../kube/support.js';
import { ROOT } from './harness/assets.js';
import { AML, amlCli, createNamespace, initByUrl, startServer, uninstall, type AmlServer } from './harness/aml.js';
import { amlPod, core, POLICY_FILE, readPod } from './harness/objects.js';
import { waitFor } from './harness/processes.js';
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
  /** A pod of gpu-compute by alice: created (and mutated) only if the API server reaches and trusts the server. */
  const podThroughWebhooks = async (name: string) => {
    await cluster().kubectlOk(['create', '-f', '-'], { user: 'alice', input: JSON.stringify(amlPod(name, NS, { instanceType: 'gpu-1' })) });
    return readPod(cluster(), NS, name);
  };

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

  it("creates the certificate Secret and registers both webhooks by URL, trusting its CA (as the init Job's ServiceAccount)", async () => {
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
        assert.deepEqual(
          { ...w.clientConfig },
          { url: `https://127.0.0.1:${port}${w.name.startsWith('mutate') ? '/mutate' : '/validate'}`, caBundle: s.data?.['ca.crt'] },
        );
      }
    }
    for (const f of ['ca.crt', 'tls.crt', 'tls.key']) assert.equal(await readFile(join(certsDir, f), 'utf8'), unb64(s.data?.[f]), `${f} written for serve`);
  });

  it('changes nothing when run again: every object unchanged, no resourceVersion moved', async () => {
    const before = [(await secret()).metadata?.resourceVersion, ...(await configs()).map((c) => c.metadata?.resourceVersion)];

    const run = await initByUrl(cluster(), { port, certsDir });

    assert.equal(run.code, 0, run.err);
    assert.deepEqual(
      run.out
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('certificates'))
        .map((l) => l.split(': ')[1]!.split(' ')[0]),
      ['unchanged', 'unchanged', 'unchanged'],
    );
    assert.deepEqual([(await secret()).metadata?.resourceVersion, ...(await configs()).map((c) => c.metadata?.resourceVersion)], before);
  });

  it("accepts what AKS's Admissions Enforcer adds and a reordered selector as no drift, and keeps the additions when it does update", async () => {
    const plane = cluster();
    const patch = (ops: object[]) => plane.kubectlOk(['patch', 'validatingwebhookconfiguration', AML.webhookConfig, '--type=json', '-p', JSON.stringify(ops)]);
    const [, validating] = await configs();
    const byName = validating.webhooks![0]!.namespaceSelector!.matchExpressions![0]!;
    // What AKS does to every webhook, plus the same exclusion list in another order.
    await patch([
      { op: 'replace', path: '/webhooks/0/namespaceSelector/matchExpressions/0/values', value: [...byName.values!].reverse() },
      { op: 'add', path: '/webhooks/0/namespaceSelector/matchExpressions/-', value: { key: 'control-plane', operator: 'NotIn', values: ['true'] } },
      {
        op: 'add',
        path: '/webhooks/0/namespaceSelector/matchExpressions/-',
        value: { key: 'kubernetes.azure.com/managedby', operator: 'NotIn', values: ['aks'] },
      },
    ]);
    const patched = (await configs())[1].metadata?.resourceVersion;

    const again = await initByUrl(plane, { port, certsDir });
    assert.match(again.out, /ValidatingWebhookConfiguration azureml-connector-admission: unchanged/);
    assert.equal((await configs())[1].metadata?.resourceVersion, patched, 'init wrote nothing');

    await patch([{ op: 'replace', path: '/webhooks/0/timeoutSeconds', value: 9 }]);
    const drift = await initByUrl(plane, { port, certsDir });
    assert.match(drift.out, /ValidatingWebhookConfiguration azureml-connector-admission: updated/);
    const restored = (await configs())[1].webhooks![0]!;
    assert.equal(restored.timeoutSeconds, 5, 'real drift is undone');
    assert.deepEqual(
      restored.namespaceSelector!.matchExpressions!.map((e) => e.key),
      ['kubernetes.io/metadata.name', 'control-plane', 'kubernetes.azure.com/managedby'],
      "AKS's exclusions are kept",
    );
  });

  it('lets the API server reach serve, with the certificate init wrote, at that URL: a pod is mutated and validated', async () => {
    const plane = cluster();
    server = await startServer(plane, { name: 'aml-registration', port, certsDir, args: ['--policy', POLICY_FILE, '--components', 'admission'] });
    await createNamespace(plane, NS);

    assert.deepEqual((await podThroughWebhooks('registered')).spec?.nodeSelector, { agentpool: 'gpupool' });
    assert.deepEqual(
      (await server.decisions('registered', 2)).map((l) => l.endpoint),
      ['/mutate', '/validate'],
    );
  });

  it('renews a certificate within 30 days of expiry, trusting the old CA too, and the API server keeps reaching the reloaded server', async () => {
    const plane = cluster();
    // A Secret whose certificate init issued for 20 days (--days applies to what it issues).
    await plane.kubectlOk(['delete', '-n', AML.namespace, `secret/${AML.secret}`]);
    assert.match((await initByUrl(plane, { port, certsDir, extra: ['--days', '20'] })).out, /: created/);
    await waitFor(
      'the server to reload the 20-day certificate',
      async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length >= 1,
    );
    const oldCa = certsIn(unb64((await secret()).data?.['ca.crt']))[0]!;

    const run = await initByUrl(plane, { port, certsDir });

    assert.equal(run.code, 0, run.err);
    assert.match(run.out, new RegExp(`^Secret ${AML.namespace}/${AML.secret}: renewed \\(the certificate expires \\S+, within 30 days\\)$`, 'm'));
    assert.match(run.out, /MutatingWebhookConfiguration azureml-connector-admission: updated/);
    const s = await secret();
    const bundle = certsIn(unb64(s.data?.['ca.crt']));
    assert.equal(bundle.length, 2, 'the new CA, then the old one');
    assert.ok(new X509Certificate(unb64(s.data?.['tls.crt'])).checkIssued(bundle[0]!));
    assert.equal(bundle[1]!.fingerprint256, oldCa.fingerprint256);
    for (const config of await configs()) assert.equal(config.webhooks?.[0]?.clientConfig.caBundle, s.data?.['ca.crt']);
    await waitFor(
      'the server to reload the renewed certificate',
      async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length >= 2,
    );
    assert.deepEqual((await podThroughWebhooks('after-renewal')).spec?.nodeSelector, { agentpool: 'gpupool' });
  });

  it('reissues the certificate when --webhook-url names a host it does not cover, and points the webhooks there', async () => {
    const plane = cluster();
    const run = await amlCli([
      'init',
      '--kubeconfig',
      await plane.serviceAccountKubeconfig(AML.namespace, AML.initSa),
      '--webhook-config',
      join(ROOT, 'webhook-config'),
      '--webhook-url',
      `https://127.0.0.2:${port}/aml`,
      '--certs-dir',
      certsDir,
    ]);

    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /: renewed \(the certificate does not match its key, its CA or the names it must cover\)/);
    assert.ok(new X509Certificate(unb64((await secret()).data?.['tls.crt'])).checkIP('127.0.0.2'));
    assert.deepEqual(
      (await configs()).map((c) => c.webhooks?.[0]?.clientConfig.url),
      [`https://127.0.0.2:${port}/aml/mutate`, `https://127.0.0.2:${port}/aml/validate`],
    );

    // Back to the server's address; the certificate covers it too, so the Secret stays.
    const back = await initByUrl(plane, { port, certsDir });
    assert.match(back.out, /: unchanged\n/);
    await waitFor('the server to reload', async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length >= 3);
    assert.deepEqual((await podThroughWebhooks('back-at-127-0-0-1')).spec?.nodeSelector, { agentpool: 'gpupool' });
  });

  it("fails at once with the API server's RBAC reason, as a ServiceAccount without the init RBAC", async () => {
    const plane = cluster();
    await plane.kubectlOk(['create', 'serviceaccount', '-n', AML.namespace, 'no-rbac']);
    const run = await amlCli([
      'init',
      '--kubeconfig',
      await plane.serviceAccountKubeconfig(AML.namespace, 'no-rbac'),
      '--webhook-config',
      join(ROOT, 'webhook-config'),
      '--webhook-url',
      `https://127.0.0.1:${port}`,
    ]);

    assert.equal(run.code, 1);
    assert.equal(
      run.err.trim(),
      `aml-admission: read Secret ${AML.namespace}/${AML.secret}: secrets "${AML.secret}" is forbidden: User "system:serviceaccount:${AML.namespace}:no-rbac" cannot get resource "secrets" in API group "" in the namespace "${AML.namespace}" [HTTP 403] (RBAC: grant the service account this permission; deploy/ has the Role and ClusterRole init needs)`,
      'one attempt: a 403 is not retried',
    );
    assert.equal(run.out, '');
  });

  it('fails on the webhook configurations with the RBAC reason when only the namespaced part of the init RBAC is bound', async () => {
    const plane = cluster();
    await plane.kubectlOk(['create', 'serviceaccount', '-n', AML.namespace, 'half-rbac']);
    await plane.kubectlOk([
      'create',
      'rolebinding',
      '-n',
      AML.namespace,
      'half-rbac',
      '--role=azureml-connector-admission-init',
      `--serviceaccount=${AML.namespace}:half-rbac`,
    ]);
    const run = await amlCli([
      'init',
      '--kubeconfig',
      await plane.serviceAccountKubeconfig(AML.namespace, 'half-rbac'),
      '--webhook-config',
      join(ROOT, 'webhook-config'),
      '--webhook-url',
      `https://127.0.0.1:${port}`,
    ]);

    assert.equal(run.code, 1);
    assert.match(
      run.err,
      /^aml-admission: read MutatingWebhookConfiguration azureml-connector-admission: mutatingwebhookconfigurations\.admissionregistration\.k8s\.io "azureml-connector-admission" is forbidden: User "system:serviceaccount:azureml:half-rbac" cannot get resource "mutatingwebhookconfigurations" in API group "admissionregistration\.k8s\.io" at the cluster scope \[HTTP 403\] \(RBAC: /,
    );
  });

  it('registers the webhooks by Service with the namespace, Service and Secret names it is given', async () => {
    const plane = cluster();
    await createNamespace(plane, 'ml-system');
    const run = await amlCli([
      'init',
      '--kubeconfig',
      plane.kubeconfigPath('admin'),
      '--webhook-config',
      join(ROOT, 'webhook-config'),
      '--namespace',
      'ml-system',
      '--service',
      'hooks',
      '--secret',
      'hooks-tls',
    ]);
    try {
      assert.equal(run.code, 0, run.err);
      assert.ok(await core(plane).readNamespacedSecret({ namespace: 'ml-system', name: 'hooks-tls' }));
      for (const config of await configs()) {
        const w = config.webhooks![0]!;
        assert.deepEqual(
          { ...w.clientConfig.service },
          { name: 'hooks', namespace: 'ml-system', path: w.name.startsWith('mutate') ? '/mutate' : '/validate', port: 443 },
        );
        assert.equal(w.clientConfig.url, undefined, 'the URL of the earlier run is gone');
        assert.deepEqual(w.namespaceSelector?.matchExpressions?.find((e) => e.key === 'kubernetes.io/metadata.name')?.values, ['kube-system', 'ml-system']);
      }
    } finally {
      // A Service with no endpoints: the fail-closed validating webhook would refuse every pod.
      await uninstall(plane);
    }
  });
});
