import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, AppsV1Api, RbacAuthorizationV1Api, type V1Job } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { loadWebhookTemplates } from '../../src/kube/webhookConfigs.js';
import { CA_BUNDLE_ANNOTATION } from '../../src/kube/schedulerRoll.js';
import { ROOT } from './harness/assets.js';
import { AML, amlCli, createNamespace, installBase, restoreBase, uninstall } from './harness/aml.js';
import { amlPod, core } from './harness/objects.js';
import { run, waitFor, type RunResult } from './harness/processes.js';
import { cluster } from './harness/suite.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read as plain JSON */
type Obj = Record<string, any>;

const CHART = join(ROOT, 'charts/aml-admission');
const RELEASE = 'aml-admission';
/** Where AML pods are submitted: judged by the webhooks. */
const NS = 'e2e-helm';
/** A namespace the upgrade excludes (webhooks.excludeNamespaces). */
const EXCLUDED = 'e2e-helm-excluded';
const CERT_MANAGER = ['--set', 'certManager.enabled=true', '--set', 'serviceMonitor.enabled=true'];

/**
 * charts/aml-admission on the real control plane: every object passes the API server's own
 * validation, and `helm install`, `upgrade` and `uninstall` do what docs/deploy.md says. No
 * kubelet runs here, so no pod starts: the init Job's pod is run the way the kubelet would run
 * it (its arguments, its ServiceAccount, its ConfigMap as the mounted folder), and the webhooks,
 * registered by Service, cannot be reached; the validating webhook failing closed is what shows
 * it is registered. cert-manager's CRDs are installed, not its controller (nothing fakes it).
 */
describe('helm: the chart installed, upgraded and uninstalled on a real API server', () => {
  const plane = () => cluster();
  const helm = (args: readonly string[]): Promise<RunResult> =>
    run(plane().bin.helm, [...args, '--kubeconfig', plane().kubeconfigPath('admin')], {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(plane().dir, 'helm', 'cache'),
        HELM_CONFIG_HOME: join(plane().dir, 'helm', 'config'),
        HELM_DATA_HOME: join(plane().dir, 'helm', 'data'),
      },
    });
  const helmOk = async (args: readonly string[]): Promise<string> => {
    const r = await helm(args);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.err}${r.out}`);
    return r.out;
  };
  const template = (args: readonly string[] = []) => helmOk(['template', RELEASE, CHART, '--namespace', AML.namespace, '--include-crds', ...args]);
  const objects = (yaml: string): Obj[] =>
    parseAllDocuments(yaml)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null);
  /** The release's objects (its manifest), as the API server has them now: those that exist. */
  const existing = async (manifest: string): Promise<string[]> =>
    (await plane().kubectlOk(['get', '--ignore-not-found', '-o', 'name', '-f', '-'], { input: manifest })).trim().split('\n').filter(Boolean);
  const admission = () => plane().kubeConfig().makeApiClient(AdmissionregistrationV1Api);
  const webhookConfigs = async () => [
    await admission()
      .readMutatingWebhookConfiguration({ name: AML.webhookConfig })
      .catch(() => undefined),
    await admission()
      .readValidatingWebhookConfiguration({ name: AML.webhookConfig })
      .catch(() => undefined),
  ];
  const createPod = (name: string, namespace: string) =>
    plane().kubectl(['create', '-f', '-'], { user: 'alice', input: JSON.stringify(amlPod(name, namespace, { instanceType: 'gpu-1' })) });
  const REFUSED = /failed calling webhook "validate\.aml-admission\.ml\.azure\.com"/;

  /**
   * The release's init Job run as the kubelet would: its container's arguments, as its
   * ServiceAccount, with its ConfigMap volume written out as the folder it mounts.
   */
  const runInitJob = async (): Promise<{ job: string; result: RunResult }> => {
    const jobs = JSON.parse(await plane().kubectlOk(['get', 'jobs', '-n', AML.namespace, '-l', 'app.kubernetes.io/component=init', '-o', 'json'])) as {
      items: V1Job[];
    };
    assert.equal(jobs.items.length, 1, `one init Job, got ${jobs.items.map((j) => j.metadata?.name).join(', ')}`);
    const job = jobs.items[0]!;
    const pod = job.spec!.template.spec!;
    const [container] = pod.containers;
    const mounts = new Map<string, string>();
    for (const m of container!.volumeMounts ?? []) {
      const volume = pod.volumes!.find((v) => v.name === m.name)!;
      const cm = await core(plane()).readNamespacedConfigMap({ namespace: AML.namespace, name: volume.configMap!.name! });
      const dir = join(plane().dir, `${job.metadata!.name}-${m.name}`);
      await mkdir(dir, { recursive: true });
      for (const [key, text] of Object.entries(cm.data ?? {})) await writeFile(join(dir, key), text);
      mounts.set(m.mountPath, dir);
    }
    const args = container!.args!.map((a) => {
      const [flag, value] = a.split('=', 2) as [string, string | undefined];
      return value !== undefined && mounts.has(value) ? `${flag}=${mounts.get(value)}` : a;
    });
    assert.equal(args[0], 'init');
    const kubeconfig = await plane().serviceAccountKubeconfig(AML.namespace, pod.serviceAccountName!);
    return { job: job.metadata!.name!, result: await amlCli([...args, `--kubeconfig=${kubeconfig}`]) };
  };

  before(async () => {
    const p = plane();
    // The garbage collector deletes init's webhook configurations with their owner.
    await p.controllerManager();
    await installBase(p);
    // A cluster without aml-admission: no webhooks, and none of the chart's objects (earlier
    // files applied deploy/'s ServiceAccounts and RBAC, and init wrote its Secrets).
    await uninstall(p);
    await p.kubectlOk(['delete', '--ignore-not-found', '-f', '-'], { input: await template() });
    await p.kubectlOk(['delete', '--ignore-not-found', '-n', AML.namespace, `secret/${AML.secret}`, `secret/${AML.caSecret}`]);
    await createNamespace(p, NS);
    await createNamespace(p, EXCLUDED);
  });

  after(async () => {
    const p = plane();
    await helm(['uninstall', RELEASE, '--namespace', AML.namespace, '--ignore-not-found']);
    await uninstall(p);
    await p.kubectlOk(['delete', '--ignore-not-found', '-n', AML.namespace, `secret/${AML.secret}`, `secret/${AML.caSecret}`]);
    for (const crds of [p.bin['cert-manager-crds.yaml'], p.bin['prometheus-operator-crds.yaml']]) await p.kubectl(['delete', '--ignore-not-found', '-f', crds]);
    await restoreBase(p);
  });

  it('renders objects the API server accepts as they are (server-side dry-run), with cert-manager and the Prometheus Operator CRDs too', async () => {
    const p = plane();
    const dryRun = (yaml: string) => p.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: yaml });
    const plain = await dryRun(await template());
    assert.equal(plain.code, 0, plain.err);
    assert.equal(plain.out.trim().split('\n').length, objects(await template()).length, plain.out);

    // Server-side apply: the CRDs are too large for the last-applied annotation of a client-side apply.
    for (const crds of [p.bin['cert-manager-crds.yaml'], p.bin['prometheus-operator-crds.yaml']]) {
      await p.kubectlOk(['apply', '--server-side', '-f', crds]);
      await p.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
    }
    const rendered = await template(CERT_MANAGER);
    const withCertManager = await dryRun(rendered);
    assert.equal(withCertManager.code, 0, withCertManager.err);
    for (const kind of [
      'certificate.cert-manager.io',
      'issuer.cert-manager.io',
      'servicemonitor.monitoring.coreos.com',
      'validatingwebhookconfiguration.admissionregistration.k8s.io',
    ])
      assert.match(withCertManager.out, new RegExp(`^${kind.replace(/\./g, '\\.')}/\\S+ created \\(server dry run\\)$`, 'm'), kind);

    // And the CRD schemas are in force: a Certificate cert-manager would not understand is refused.
    const certificate = objects(rendered).find((o) => o.kind === 'Certificate')!;
    const broken = await dryRun(JSON.stringify({ ...certificate, spec: { ...certificate.spec, privateKey: { algorithm: 'DSA' } } }));
    assert.notEqual(broken.code, 0);
    assert.match(broken.err, /spec\.privateKey\.algorithm: Unsupported value: "DSA"/);
  });

  let manifest = '';
  it('helm install creates every object of the release, and no webhook before init has run', async () => {
    await helmOk(['install', RELEASE, CHART, '--namespace', AML.namespace]);

    manifest = await helmOk(['get', 'manifest', RELEASE, '--namespace', AML.namespace]);
    const want = objects(manifest);
    assert.ok(want.length > 20, `${want.length} objects`);
    assert.equal((await existing(manifest)).length, want.length);
    assert.match(await helmOk(['status', RELEASE, '--namespace', AML.namespace]), /STATUS: deployed/);
    assert.deepEqual(await webhookConfigs(), [undefined, undefined]);
  });

  it("registers webhook-config/'s webhooks when the init Job runs, owned by the chart's ClusterRole, trusting init's CA", async () => {
    const { job, result } = await runInitJob();

    assert.equal(job, 'azureml-connector-admission-init-1');
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /^MutatingWebhookConfiguration azureml-connector-admission: created$/m);
    assert.match(result.out, /^ValidatingWebhookConfiguration azureml-connector-admission: created$/m);
    const owner = await plane().kubeConfig().makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: AML.initSa });
    assert.equal(owner.metadata?.labels?.['app.kubernetes.io/managed-by'], 'Helm', 'the owner is the release');
    const ca = (await core(plane()).readNamespacedSecret({ namespace: AML.namespace, name: AML.secret })).data?.['ca.crt'];
    const templates = await loadWebhookTemplates(join(ROOT, 'webhook-config'));
    for (const [i, config] of (await webhookConfigs()).entries()) {
      assert.ok(config, `${templates[i]!.kind} is registered`);
      assert.deepEqual(
        config.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
        [['ClusterRole', AML.initSa, owner.metadata?.uid]],
      );
      const [w] = config.webhooks!;
      const [t] = templates[i]!.webhooks!;
      const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
      assert.deepEqual(plain(w!.rules), t!.rules);
      assert.deepEqual(plain(w!.matchConditions), t!.matchConditions);
      assert.deepEqual(plain(w!.clientConfig), { service: t!.clientConfig.service, caBundle: ca });
    }
    // The Service has no endpoints here: the validating webhook fails closed, as registered.
    const refused = await createPod('refused', NS);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, REFUSED);
  });

  it('helm upgrade with changed values takes effect: the Deployment at once, the webhooks when the new revision runs init', async () => {
    const apps = plane().kubeConfig().makeApiClient(AppsV1Api);
    const stamp = async () =>
      (await apps.readNamespacedDeployment({ namespace: AML.namespace, name: AML.schedulerDeployment })).spec?.template.metadata?.annotations?.[
        CA_BUNDLE_ANNOTATION
      ];
    const stamped = await stamp();
    assert.ok(stamped, "init's first run stamped the scheduler with the CA bundle");

    await helmOk([
      'upgrade',
      RELEASE,
      CHART,
      '--namespace',
      AML.namespace,
      '--set',
      'admission.replicas=3',
      '--set',
      'webhooks.validating.timeoutSeconds=7',
      '--set',
      `webhooks.excludeNamespaces={${EXCLUDED}}`,
    ]);

    assert.equal((await apps.readNamespacedDeployment({ namespace: AML.namespace, name: 'azureml-connector-admission' })).spec?.replicas, 3);
    assert.equal(await stamp(), stamped, "the upgrade keeps init's annotation (no needless scheduler roll)");
    await waitFor('the previous revision’s init Job to be deleted', async () => {
      const jobs = await plane().kubectlOk(['get', 'jobs', '-n', AML.namespace, '-o', 'name']);
      return jobs.trim() === 'job.batch/azureml-connector-admission-init-2';
    });
    const { job, result } = await runInitJob();
    assert.equal(job, 'azureml-connector-admission-init-2');
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /^MutatingWebhookConfiguration azureml-connector-admission: updated$/m);
    assert.match(result.out, /^ValidatingWebhookConfiguration azureml-connector-admission: updated$/m);
    const [mutating, validating] = await webhookConfigs();
    assert.equal(validating?.webhooks?.[0]?.timeoutSeconds, 7);
    assert.equal(mutating?.webhooks?.[0]?.timeoutSeconds, 5, 'the mutating webhook keeps its own');
    for (const config of [mutating, validating])
      assert.deepEqual(config?.webhooks?.[0]?.namespaceSelector?.matchExpressions?.[0]?.values, ['kube-system', AML.namespace, EXCLUDED]);

    const excluded = await createPod('excluded', EXCLUDED);
    assert.equal(excluded.code, 0, `${EXCLUDED} is no longer judged: ${excluded.err}`);
    assert.match((await createPod('still-refused', NS)).err, REFUSED);
  });

  it('helm uninstall removes every object, and with the init ClusterRole the webhooks init registered: pods are created again', async () => {
    manifest = await helmOk(['get', 'manifest', RELEASE, '--namespace', AML.namespace]);

    await helmOk(['uninstall', RELEASE, '--namespace', AML.namespace]);

    await waitFor('every object of the release to be gone', async () => (await existing(manifest)).length === 0, { timeoutMs: 60_000 });
    await waitFor('the garbage collector to delete the webhook configurations', async () => (await webhookConfigs()).every((c) => c === undefined), {
      timeoutMs: 60_000,
    });
    const created = await createPod('after-uninstall', NS);
    assert.equal(created.code, 0, `no webhook blocks pod creation: ${created.err}`);
  });

  it('with certManager.enabled, helm registers the webhooks itself for cainjector, and uninstall removes them first of all', async () => {
    await helmOk(['install', RELEASE, CHART, '--namespace', AML.namespace, ...CERT_MANAGER]);
    manifest = await helmOk(['get', 'manifest', RELEASE, '--namespace', AML.namespace]);

    assert.equal((await existing(manifest)).length, objects(manifest).length);
    const kinds = new Set(objects(manifest).map((o) => o.kind));
    for (const kind of ['Certificate', 'Issuer', 'ServiceMonitor', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
      assert.ok(kinds.has(kind), kind);
    assert.ok(!kinds.has('Job') && !kinds.has('CronJob'), 'no init Job');
    for (const config of await webhookConfigs()) {
      assert.equal(config?.metadata?.annotations?.['cert-manager.io/inject-ca-from'], `${AML.namespace}/azureml-connector-admission`);
      // No cainjector runs here, so no caBundle: the API server cannot verify the webhook yet.
      assert.equal(config?.webhooks?.[0]?.clientConfig.caBundle, undefined);
    }
    assert.match((await createPod('cert-manager-refused', NS)).err, REFUSED);

    await helmOk(['uninstall', RELEASE, '--namespace', AML.namespace]);

    assert.deepEqual(await webhookConfigs(), [undefined, undefined], 'gone when helm returns');
    await waitFor('every object of the release to be gone', async () => (await existing(manifest)).length === 0, { timeoutMs: 60_000 });
    assert.equal((await createPod('after-cert-manager', NS)).code, 0);
  });
});
