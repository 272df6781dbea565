import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, AppsV1Api, RbacAuthorizationV1Api, type V1Job, type V1PodSpec } from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadWebhookTemplates } from '../../src/kube/webhookConfigs.js';
import { CA_BUNDLE_ANNOTATION } from '../../src/kube/schedulerRoll.js';
import { ROOT } from './harness/assets.js';
import { httpsGet } from './harness/controlPlane.js';
import { AML, amlCli, createNamespace, installBase, restoreBase, uninstall } from './harness/aml.js';
import { amlPod, core } from './harness/objects.js';
import { freePort, run, waitFor, type Proc, type RunResult } from './harness/processes.js';
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
   * What the kubelet would give a container: each volume it mounts written to a folder (a
   * ConfigMap's or Secret's keys as files, an emptyDir empty), and its arguments with every
   * mount path moved to that folder. Runs as the pod's ServiceAccount, with a token from the
   * TokenRequest API as the kubelet projects one.
   */
  const asKubelet = async (owner: string, pod: V1PodSpec): Promise<{ args: string[]; kubeconfig: string }> => {
    const [container] = pod.containers;
    const mounts: [string, string][] = [];
    for (const m of container!.volumeMounts ?? []) {
      const volume = pod.volumes!.find((v) => v.name === m.name)!;
      const dir = join(plane().dir, `${owner}-${m.name}`);
      await mkdir(dir, { recursive: true });
      let files: Record<string, Buffer> = {};
      if (volume.configMap) {
        const cm = await core(plane()).readNamespacedConfigMap({ namespace: AML.namespace, name: volume.configMap.name! });
        files = Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
      } else if (volume.secret) {
        const secret = await core(plane()).readNamespacedSecret({ namespace: AML.namespace, name: volume.secret.secretName! });
        files = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      } else assert.ok(volume.emptyDir, `volume ${volume.name}: only ConfigMaps, Secrets and emptyDirs are mounted here`);
      const items = volume.configMap?.items ?? volume.secret?.items;
      for (const [key, data] of Object.entries(files)) {
        const path = items ? items.find((i) => i.key === key)?.path : key;
        if (path) await writeFile(join(dir, path), data);
      }
      mounts.push([m.mountPath, dir]);
    }
    const local = (value: string) => {
      const mount = mounts.find(([path]) => value === path || value.startsWith(`${path}/`));
      return mount ? mount[1] + value.slice(mount[0].length) : value;
    };
    const args = container!.args!.map((a) => {
      const at = a.indexOf('=');
      return at < 0 ? a : `${a.slice(0, at + 1)}${local(a.slice(at + 1))}`;
    });
    return { args, kubeconfig: await plane().serviceAccountKubeconfig(AML.namespace, pod.serviceAccountName!) };
  };

  /** The release's init Job, its pod run as the kubelet would run it. */
  const runInitJob = async (): Promise<{ job: string; result: RunResult }> => {
    const jobs = JSON.parse(await plane().kubectlOk(['get', 'jobs', '-n', AML.namespace, '-l', 'app.kubernetes.io/component=init', '-o', 'json'])) as {
      items: V1Job[];
    };
    assert.equal(jobs.items.length, 1, `one init Job, got ${jobs.items.map((j) => j.metadata?.name).join(', ')}`);
    const job = jobs.items[0]!;
    const { args, kubeconfig } = await asKubelet(job.metadata!.name!, job.spec!.template.spec!);
    assert.equal(args[0], 'init');
    return { job: job.metadata!.name!, result: await amlCli([...args, `--kubeconfig=${kubeconfig}`]) };
  };

  /** The admission Deployment's pod, run as the kubelet would, on loopback (its pod network). */
  let server: Proc | undefined;
  let serverUrl = '';
  const serverLogs = async (): Promise<Record<string, any>[]> =>
    (await readFile(server!.logFile, 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);

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
    await server?.stop();
    await helm(['uninstall', RELEASE, '--namespace', AML.namespace, '--ignore-not-found']);
    await uninstall(p);
    await p.kubectlOk(['delete', '--ignore-not-found', '-n', AML.namespace, `secret/${AML.secret}`, `secret/${AML.caSecret}`]);
    // The Events the server posted on the release's policy ConfigMap outlive it: later files look for their own.
    await p.kubectlOk(['delete', 'events', '-n', AML.namespace, `--field-selector=involvedObject.name=${AML.policyConfigMap}`]);
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

  it("runs the admission Deployment's pod ready: init's certificate, the chart's policy ConfigMap, and enough RBAC for every informer", async () => {
    const deployment = await plane()
      .kubeConfig()
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: AML.namespace, name: 'azureml-connector-admission' });
    const { args, kubeconfig } = await asKubelet('admission', deployment.spec!.template.spec!);
    assert.equal(args[0], 'serve');
    const port = await freePort();
    server = await plane().startProcess({
      name: 'helm-admission',
      command: process.execPath,
      cwd: ROOT,
      env: { POD_NAME: 'azureml-connector-admission-helm-0' },
      args: [join(ROOT, 'dist/src/main.js'), ...args, `--kubeconfig=${kubeconfig}`, '--host=127.0.0.1', `--port=${port}`, '--drain-delay=0s'],
    });
    serverUrl = `https://127.0.0.1:${port}`;
    const ca = Buffer.from((await core(plane()).readNamespacedSecret({ namespace: AML.namespace, name: AML.secret })).data!['ca.crt']!, 'base64').toString();

    const ready = await waitFor(
      'the admission server to be ready',
      async () => {
        const r = await httpsGet(`${serverUrl}/readyz`, { ca });
        return r.status === 200 && r;
      },
      { proc: server, timeoutMs: 60_000 },
    );
    assert.equal(ready.status, 200);
    assert.ok(
      (await serverLogs()).some((l) => l.msg === 'policy loaded from ConfigMap'),
      "the policy comes from the release's ConfigMap",
    );
  });

  it('helm upgrade with changed values takes effect: the Deployment at once, the webhooks when the new revision runs init', async () => {
    const apps = plane().kubeConfig().makeApiClient(AppsV1Api);
    const stamp = async () =>
      (await apps.readNamespacedDeployment({ namespace: AML.namespace, name: AML.schedulerDeployment })).spec?.template.metadata?.annotations?.[
        CA_BUNDLE_ANNOTATION
      ];
    const stamped = await stamp();
    assert.ok(stamped, "init's first run stamped the scheduler with the CA bundle");

    // A policy that also covers NS: applied live by the running server.
    const policy = parse(await readFile(join(ROOT, 'deploy/policy/policy.yaml'), 'utf8')) as Obj;
    policy.computes['example-compute'].namespaces.push(NS);
    const policyFile = join(plane().dir, 'helm-policy.yaml');
    await writeFile(policyFile, stringify(policy));

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
      '--set-file',
      `policy=${policyFile}`,
    ]);

    assert.equal((await apps.readNamespacedDeployment({ namespace: AML.namespace, name: 'azureml-connector-admission' })).spec?.replicas, 3);
    assert.equal(await stamp(), stamped, "the upgrade keeps init's annotation (no needless scheduler roll)");
    const policyMap = await core(plane()).readNamespacedConfigMap({ namespace: AML.namespace, name: AML.policyConfigMap });
    assert.deepEqual(parse(policyMap.data!['policy.yaml']!), policy, 'the ConfigMap holds the --set-file policy');
    const policyVersion = policyMap.metadata?.resourceVersion;
    await waitFor(
      'the running server to load the upgraded policy',
      async () => (await serverLogs()).some((l) => l.msg === 'policy loaded from ConfigMap' && l.resourceVersion === policyVersion),
      { proc: server },
    );
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
    await server?.stop();

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
