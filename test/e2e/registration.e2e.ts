import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  RbacAuthorizationV1Api,
  type V1MutatingWebhookConfiguration,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
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
  const caSecret = () => core(cluster()).readNamespacedSecret({ namespace: AML.namespace, name: AML.caSecret });
  const rbac = () => cluster().kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  /** `KIND NAME: ACTION (reason)` → ACTION. */
  const actionOf = (line: string) => line.slice(line.indexOf(': ') + 2).replace(/ \(.*$/, '');
  const initLines = (out: string): Record<string, string> =>
    Object.fromEntries(
      out
        .trim()
        .split('\n')
        .filter((l) => l.includes(': '))
        .map((l) => [l.slice(0, l.indexOf(': ')), actionOf(l)]),
    );
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
    await plane.kubectlOk(['delete', '--ignore-not-found', '-n', AML.namespace, `secret/${AML.secret}`, `secret/${AML.caSecret}`]).catch(() => undefined);
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
        `Secret ${AML.namespace}/${AML.caSecret} (CA): created (the Secret did not exist)`,
        `Secret ${AML.namespace}/${AML.secret}: created (the Secret did not exist)`,
        `certificates written to ${certsDir} (ca.crt, tls.crt, tls.key)`,
        `MutatingWebhookConfiguration ${AML.webhookConfig}: created (https://127.0.0.1:${port}/mutate)`,
        `ValidatingWebhookConfiguration ${AML.webhookConfig}: created (https://127.0.0.1:${port}/validate)`,
        `Deployment ${AML.namespace}/${AML.schedulerDeployment}: not found`,
        '',
      ].join('\n'),
    );
    const s = await secret();
    assert.equal(s.type, 'kubernetes.io/tls');
    const cert = new X509Certificate(unb64(s.data?.['tls.crt']));
    const ca = new X509Certificate(unb64(s.data?.['ca.crt']));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
    assert.equal(unb64((await caSecret()).data?.['tls.crt']), unb64(s.data?.['ca.crt']), "ca.crt is the CA Secret's certificate");
    assert.equal(s.data?.['ca.key'], undefined, 'the serving Secret never holds the CA key');
    const owner = await rbac().readClusterRole({ name: AML.initSa });
    for (const config of await configs())
      assert.deepEqual(
        config.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
        [['ClusterRole', AML.initSa, owner.metadata?.uid]],
        'owned by the install',
      );
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
        .map(actionOf),
      ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'not found'],
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

  it('renews a serving certificate within 30 days of expiry under the same CA: the webhooks and the scheduler need no change', async () => {
    const plane = cluster();
    // A Secret whose certificate init issued for 20 days (--days applies to what it issues).
    await plane.kubectlOk(['delete', '-n', AML.namespace, `secret/${AML.secret}`]);
    assert.match((await initByUrl(plane, { port, certsDir, extra: ['--days', '20'] })).out, /: created/);
    await waitFor(
      'the server to reload the 20-day certificate',
      async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length >= 1,
    );
    const before = await configs();

    const run = await initByUrl(plane, { port, certsDir });

    assert.equal(run.code, 0, run.err);
    assert.match(run.out, new RegExp(`^Secret ${AML.namespace}/${AML.secret}: renewed \\(the certificate expires \\S+, within 30 days\\)$`, 'm'));
    assert.deepEqual(initLines(run.out), {
      [`Secret ${AML.namespace}/${AML.caSecret} (CA)`]: 'unchanged',
      [`Secret ${AML.namespace}/${AML.secret}`]: 'renewed',
      [`MutatingWebhookConfiguration ${AML.webhookConfig}`]: 'unchanged',
      [`ValidatingWebhookConfiguration ${AML.webhookConfig}`]: 'unchanged',
      [`Deployment ${AML.namespace}/${AML.schedulerDeployment}`]: 'not found',
    });
    const s = await secret();
    const bundle = certsIn(unb64(s.data?.['ca.crt']));
    assert.equal(bundle.length, 1, 'the one long-lived CA');
    assert.ok(new X509Certificate(unb64(s.data?.['tls.crt'])).checkIssued(bundle[0]!));
    assert.deepEqual(
      (await configs()).map((c) => c.metadata?.resourceVersion),
      before.map((c) => c.metadata?.resourceVersion),
    );
    await waitFor(
      'the server to reload the renewed certificate',
      async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length >= 2,
    );
    assert.deepEqual((await podThroughWebhooks('after-renewal')).spec?.nodeSelector, { agentpool: 'gpupool' });
  });

  it('replaces a CA that would expire before a new serving certificate, trusts old and new meanwhile, and rolls the scheduler once per change', async () => {
    const plane = cluster();
    const apps = plane.kubeConfig().makeApiClient(AppsV1Api);
    // A stand-in for deploy/'s scheduler Deployment: what init changes is its pod template.
    await apps.createNamespacedDeployment({
      namespace: AML.namespace,
      body: {
        metadata: { name: AML.schedulerDeployment },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'e2e-scheduler' } },
          template: { metadata: { labels: { app: 'e2e-scheduler' } }, spec: { containers: [{ name: 'kube-scheduler', image: 'kube-scheduler' }] } },
        },
      },
    });
    const stamp = async () =>
      (await apps.readNamespacedDeployment({ namespace: AML.namespace, name: AML.schedulerDeployment })).spec?.template.metadata?.annotations?.[
        'aml-admission.azure.com/ca-bundle-sha256'
      ];
    const fingerprints = async () => certsIn(unb64((await secret()).data?.['ca.crt'])).map((c) => c.fingerprint256);
    try {
      const [original] = await fingerprints();
      // A CA good for 390 days: less than a 365-day certificate plus the 30 days of margin.
      await plane.kubectlOk(['delete', '-n', AML.namespace, `secret/${AML.caSecret}`]);
      const lost = await initByUrl(plane, { port, certsDir, extra: ['--ca-days', '390'] });
      assert.equal(lost.code, 0, lost.err);
      assert.match(lost.out, /^Secret \S+ \(CA\): created/m);
      assert.match(lost.out, /: renewed \(the certificate is not signed by the current CA\)$/m);
      const [short, previous] = await fingerprints();
      assert.equal(previous, original, 'the API server and scheduler trust the old CA while pods still serve its certificate');
      assert.equal(initLines(lost.out)[`Deployment ${AML.namespace}/${AML.schedulerDeployment}`], 'rolled');
      const firstStamp = await stamp();
      assert.ok(firstStamp);

      const due = await initByUrl(plane, { port, certsDir });
      assert.equal(due.code, 0, due.err);
      assert.match(due.out, /^Secret \S+ \(CA\): renewed \(the CA expires \S+, before a certificate issued now would\)$/m);
      assert.deepEqual((await fingerprints())[1], short, 'the new CA, then the one it replaces');
      assert.equal(initLines(due.out)[`ValidatingWebhookConfiguration ${AML.webhookConfig}`], 'updated');
      assert.equal(initLines(due.out)[`Deployment ${AML.namespace}/${AML.schedulerDeployment}`], 'rolled');
      assert.notEqual(await stamp(), firstStamp);

      const settled = await initByUrl(plane, { port, certsDir });
      assert.deepEqual(Object.values(initLines(settled.out)), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
      await waitFor('the server to reload', async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length >= 4);
      assert.deepEqual((await podThroughWebhooks('after-ca-change')).spec?.nodeSelector, { agentpool: 'gpupool' });
    } finally {
      await apps.deleteNamespacedDeployment({ namespace: AML.namespace, name: AML.schedulerDeployment });
    }
  });

  it('reissues the certificate when --webhook-url names a host it does not cover, and points the webhooks there', async () => {
    const plane = cluster();
    const reloads = async () => (await server!.logs()).filter((l) => l.msg === 'serving certificate reloaded').length;
    const before = await reloads();
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
    assert.match(run.out, /: renewed \(the certificate does not match its key or the names it must cover\)/);
    assert.ok(new X509Certificate(unb64((await secret()).data?.['tls.crt'])).checkIP('127.0.0.2'));
    assert.deepEqual(
      (await configs()).map((c) => c.webhooks?.[0]?.clientConfig.url),
      [`https://127.0.0.2:${port}/aml/mutate`, `https://127.0.0.2:${port}/aml/validate`],
    );

    // Back to the server's address; the certificate covers it too, so the Secret stays.
    const back = await initByUrl(plane, { port, certsDir });
    assert.match(back.out, /: unchanged\n/);
    await waitFor('the server to reload', async () => (await reloads()) > before);
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

    assert.equal(run.code, 5);
    assert.equal(
      run.err.trim(),
      `aml-admission: read Secret ${AML.namespace}/${AML.caSecret}: secrets "${AML.caSecret}" is forbidden: User "system:serviceaccount:${AML.namespace}:no-rbac" cannot get resource "secrets" in API group "" in the namespace "${AML.namespace}" [HTTP 403] (RBAC: grant the service account this permission; deploy/ has the Role and ClusterRole init needs)`,
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

    assert.equal(run.code, 5);
    assert.match(
      run.err,
      /^aml-admission: read ClusterRole azureml-connector-admission-init: clusterroles\.rbac\.authorization\.k8s\.io "azureml-connector-admission-init" is forbidden: User "system:serviceaccount:azureml:half-rbac" cannot get resource "clusterroles" in API group "rbac\.authorization\.k8s\.io" at the cluster scope \[HTTP 403\] \(RBAC: /,
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

  const registered = async () => (await cluster().kubectlOk(['get', 'mutatingwebhookconfiguration,validatingwebhookconfiguration', '-o', 'name'])).trim();

  it('is removed with the install: deleting the owner ClusterRole (kubectl delete -k deploy/ does) lets the garbage collector delete both configurations', async () => {
    const plane = cluster();
    await plane.controllerManager(); // the garbage collector
    assert.equal((await initByUrl(plane, { port, certsDir })).code, 0);
    assert.notEqual(await registered(), '');
    try {
      await plane.kubectlOk(['delete', 'clusterrole', AML.initSa]);
      await waitFor('the garbage collector to delete the webhook configurations', async () => (await registered()) === '', { timeoutMs: 60_000 });
    } finally {
      await plane.kubectlOk(['apply', '-f', join(ROOT, 'deploy/init/rbac.yaml')]);
    }
  });

  it('uninstall deletes both webhook configurations, validating first, then the Secrets when asked, and is safe to re-run', async () => {
    const plane = cluster();
    assert.equal((await initByUrl(plane, { port, certsDir })).code, 0);
    const admin = ['--kubeconfig', plane.kubeconfigPath('admin')];

    const first = await amlCli(['uninstall', ...admin]);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, `ValidatingWebhookConfiguration ${AML.webhookConfig}: deleted\nMutatingWebhookConfiguration ${AML.webhookConfig}: deleted\n`);
    assert.equal(await registered(), '');

    const again = await amlCli(['uninstall', ...admin, '--secrets']);
    assert.equal(again.code, 0, again.err);
    assert.equal(
      again.out,
      [
        `ValidatingWebhookConfiguration ${AML.webhookConfig}: not found`,
        `MutatingWebhookConfiguration ${AML.webhookConfig}: not found`,
        `Secret ${AML.namespace}/${AML.secret}: deleted`,
        `Secret ${AML.namespace}/${AML.caSecret}: deleted`,
        '',
      ].join('\n'),
    );
  });
});
