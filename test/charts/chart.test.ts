import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadWebhookTemplates, renderWebhookConfig } from '../../src/kube/webhookConfigs.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { loadPolicy } from '../../src/policy/loader.js';
import { locateAsset } from '../e2e/harness/assets.js';
import { kustomize, kustomizeWith } from '../deploy/render.js';
import { crdValidators, validate, validateCustom, type Obj } from '../deploy/schema.js';

/**
 * charts/aml-admission with `helm template` (offline): it installs what deploy/ installs, its
 * webhook configurations are webhook-config/'s, and every object validates. helm comes from
 * scripts/e2e-assets.sh (`npm run e2e:assets`); the e2e suite installs the chart for real
 * (test/e2e/helm.e2e.ts).
 */
const HELM = locateAsset('helm');
const CHART = 'charts/aml-admission';

function helm(args: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(HELM!, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `helm template` with `--set`/`--set-string`/`-f` arguments; the objects it renders, CRDs included. */
function template(args: readonly string[] = [], namespace = 'azureml'): Obj[] {
  const r = helm(['template', 'aml-admission', CHART, '--namespace', namespace, '--include-crds', ...args]);
  assert.equal(r.code, 0, r.err);
  return parseAllDocuments(r.out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** `helm template` that must fail; returns what helm said. */
function refused(args: readonly string[]): string {
  const r = helm(['template', 'aml-admission', CHART, ...args]);
  assert.notEqual(r.code, 0, `helm template ${args.join(' ')} rendered`);
  return r.err;
}

const id = (o: Obj): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `${kind} ${name ?? ''} is rendered`);
  return found;
};
const HELM_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];

/** The webhook configurations init registers from webhook-config/ for this namespace, less the caBundle it adds. */
async function initsConfigs(namespace: string, excludeNamespaces?: string[]): Promise<Obj[]> {
  return (await loadWebhookTemplates('webhook-config')).map((t) => {
    const c = renderWebhookConfig(t, {
      namespace,
      service: 'azureml-connector-admission',
      caBundle: '',
      ...(excludeNamespaces ? { excludeNamespaces } : {}),
    }) as Obj;
    for (const w of c.webhooks) delete w.clientConfig.caBundle;
    return c;
  });
}
/** A chart-rendered webhook configuration without what Helm adds (its labels, cert-manager's annotation). */
function withoutHelm(config: Obj): Obj {
  const c = structuredClone(config);
  for (const l of HELM_LABELS) delete c.metadata.labels[l];
  delete c.metadata.labels['app.kubernetes.io/part-of'];
  delete c.metadata.annotations;
  return c;
}
/** The webhook configurations the init Job is handed (its ConfigMap). */
const handedToInit = (objs: Obj[]): Obj[] =>
  Object.values(find(objs, 'ConfigMap', 'azureml-connector-admission-webhook-config').data as Record<string, string>).map((y) => parse(y) as Obj);

/** Objects by kind and name, less what the chart and kustomize differ in on purpose (docs/deploy.md, "Helm"). */
const normal = (objs: Obj[], helmRendered: boolean): Record<string, Obj> => {
  const out: Record<string, Obj> = {};
  for (const original of objs) {
    const o = structuredClone(original);
    // `helm install -n NS --create-namespace` makes the namespace; Helm does not own it.
    if (o.kind === 'Namespace') continue;
    // The ConfigMap init is handed (checked against webhook-config/ below).
    if (o.metadata.name === 'azureml-connector-admission-webhook-config') continue;
    for (const l of HELM_LABELS) delete o.metadata.labels?.[l];
    // A Job per revision (a Job's pod template cannot change); a fixed scheduler ConfigMap
    // name with a checksum that rolls the scheduler (kustomize: a hash-suffixed name).
    if (o.kind === 'Job') o.metadata.name = o.metadata.name.replace(/-1$/, '');
    if (o.kind === 'ConfigMap' && o.metadata.name.startsWith('azureml-connector-scheduler-config')) {
      o.metadata.name = 'azureml-connector-scheduler-config';
      o.data['scheduler-config.yaml'] = parse(o.data['scheduler-config.yaml']);
    }
    if (o.kind === 'Deployment' && o.metadata.name === 'azureml-connector-scheduler') {
      const pod = o.spec.template;
      if (helmRendered) delete pod.metadata.annotations['checksum/config'];
      if (pod.metadata.annotations && Object.keys(pod.metadata.annotations).length === 0) delete pod.metadata.annotations;
      pod.spec.volumes.find((v: Obj) => v.name === 'config').configMap.name = 'azureml-connector-scheduler-config';
      // IfNotPresent is what Kubernetes defaults a tagged image to.
      delete pod.spec.containers[0].imagePullPolicy;
    }
    // init is handed the chart's webhook configurations and names what deploy/ leaves to its defaults.
    const initPods = o.kind === 'Job' ? [o.spec.template] : o.kind === 'CronJob' ? [o.spec.jobTemplate.spec.template] : [];
    for (const pod of initPods) {
      const init = pod.spec.containers[0];
      init.args = init.args.filter((a: string) => !/^--(ca-secret|owner-clusterrole|scheduler-deployment|webhook-config|policy-configmap)=/.test(a));
      delete init.volumeMounts;
      delete pod.spec.volumes;
    }
    out[id(o)] = o;
  }
  return out;
};

if (!HELM) {
  describe('charts/aml-admission', () => {
    it('is checked with helm, which is not built here: run `npm run e2e:assets` (scripts/e2e-assets.sh builds it)');
  });
} else {
  const CERT_MANAGER_CRDS = locateAsset('cert-manager-crds.yaml');
  const PROMETHEUS_CRDS = locateAsset('prometheus-operator-crds.yaml');
  const defaults = template();
  const certManager = template(['--set', 'certManager.enabled=true', '--set', 'serviceMonitor.enabled=true']);

  describe('charts/aml-admission: helm lint', () => {
    for (const [name, args] of [
      ['default values', []],
      ['cert-manager and a ServiceMonitor', ['--set', 'certManager.enabled=true', '--set', 'serviceMonitor.enabled=true']],
    ] as const) {
      it(`is clean with --strict (${name})`, () => {
        const r = helm(['lint', CHART, '--strict', ...args]);
        assert.equal(r.code, 0, r.out + r.err);
        assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
        assert.doesNotMatch(r.out, /\[(WARNING|ERROR)\]/);
      });
    }
  });

  describe('charts/aml-admission packaged', () => {
    it('bundles the files it links (helm package): the packaged chart renders as the folder does', () => {
      const dir = mkdtempSync(join(tmpdir(), 'aml-chart-'));
      try {
        const packaged = helm(['package', CHART, '--destination', dir]);
        assert.equal(packaged.code, 0, packaged.err);
        const [tgz] = readdirSync(dir);
        const r = helm(['template', 'aml-admission', join(dir, tgz!), '--namespace', 'azureml', '--include-crds']);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(
          parseAllDocuments(r.out).map((d) => d.toJS() as unknown),
          parseAllDocuments(helm(['template', 'aml-admission', CHART, '--namespace', 'azureml', '--include-crds']).out).map((d) => d.toJS() as unknown),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('charts/aml-admission rendered with default values', () => {
    for (const obj of defaults) it(`${id(obj)} validates against the Kubernetes schema`, () => validate(obj));

    it('installs what deploy/ installs, object for object and field for field, but for the differences Helm needs', () => {
      const chart = normal(defaults, true);
      const kustomized = normal(kustomize('deploy'), false);
      assert.deepEqual(Object.keys(chart).sort(), Object.keys(kustomized).sort());
      for (const name of Object.keys(kustomized)) assert.deepEqual(chart[name], kustomized[name], name);
    });

    it("hands init the chart's defaults for the names deploy/ leaves to init's defaults", () => {
      const args: string[] = find(defaults, 'Job').spec.template.spec.containers[0].args;
      for (const a of [
        '--ca-secret=azureml-connector-admission-ca',
        '--owner-clusterrole=azureml-connector-admission-init',
        '--scheduler-deployment=azureml-connector-scheduler',
        '--webhook-config=/etc/aml-admission/webhook-config',
        '--policy-configmap=azureml/aml-admission-policy',
      ])
        assert.ok(args.includes(a), a);
      // The owner is the init ClusterRole the chart renders: `helm uninstall` deletes it, and the
      // garbage collector the webhook configurations with it.
      find(defaults, 'ClusterRole', 'azureml-connector-admission-init');
      const pod = find(defaults, 'Job').spec.template.spec;
      assert.equal(pod.volumes[0].configMap.name, 'azureml-connector-admission-webhook-config');
      assert.equal(pod.containers[0].volumeMounts[0].mountPath, '/etc/aml-admission/webhook-config');
    });

    it("hands init webhook-config/'s configurations as init would register them itself (rules, matchConditions and all)", async () => {
      assert.deepEqual(handedToInit(defaults).map(withoutHelm), await initsConfigs('azureml'));
      for (const c of handedToInit(defaults))
        assert.equal(c.metadata.labels['app.kubernetes.io/managed-by'], undefined, 'init registers them: Helm does not manage them');
    });

    it('holds the built-in default policy, and renders no cert-manager object or ServiceMonitor', () => {
      const loaded = loadPolicy(find(defaults, 'ConfigMap', 'aml-admission-policy').data['policy.yaml']);
      assert.ok(loaded.ok);
      assert.deepEqual(loaded.policy, builtinPolicy());
      assert.deepEqual(
        defaults.filter((o) => !o.apiVersion.includes('k8s.io') && o.apiVersion.includes('.')),
        [],
      );
    });
  });

  describe('charts/aml-admission with certManager.enabled and serviceMonitor.enabled', () => {
    const crds = CERT_MANAGER_CRDS && PROMETHEUS_CRDS ? new Map([...crdValidators(CERT_MANAGER_CRDS), ...crdValidators(PROMETHEUS_CRDS)]) : undefined;
    for (const obj of certManager) {
      const custom = /cert-manager\.io|monitoring\.coreos\.com/.test(obj.apiVersion);
      if (custom && !crds) it(`${id(obj)} validates against its CRD's schema: needs the CRDs, run \`npm run e2e:assets\``);
      else
        it(`${id(obj)} validates against ${custom ? "its CRD's schema" : 'the Kubernetes schema'}`, () =>
          custom ? validateCustom(crds!, obj) : validate(obj));
    }

    it('installs what deploy/ with components/cert-manager installs, object for object and field for field', () => {
      const chart = normal(template(['--set', 'certManager.enabled=true']), true);
      const kustomized = normal(kustomizeWith(['deploy/components/cert-manager']), false);
      assert.deepEqual(Object.keys(chart).sort(), Object.keys(kustomized).sort());
      for (const name of Object.keys(kustomized)) assert.deepEqual(chart[name], kustomized[name], name);
    });

    it('replaces the init Job, its CronJob, ServiceAccount, RBAC and ConfigMap by cert-manager objects', () => {
      const names = (objs: Obj[]) => new Set(objs.map(id));
      const only = (a: Obj[], b: Obj[]) => [...names(a)].filter((n) => !names(b).has(n)).sort();
      assert.deepEqual(only(defaults, certManager), [
        'ClusterRole azureml-connector-admission-init',
        'ClusterRoleBinding azureml-connector-admission-init',
        'ConfigMap azureml/azureml-connector-admission-webhook-config',
        'CronJob azureml/azureml-connector-admission-renew',
        'Job azureml/azureml-connector-admission-init-1',
        'Role azureml/azureml-connector-admission-init',
        'RoleBinding azureml/azureml-connector-admission-init',
        'ServiceAccount azureml/azureml-connector-admission-init',
      ]);
      assert.deepEqual(only(certManager, defaults), [
        'Certificate azureml/azureml-connector-admission',
        'Certificate azureml/azureml-connector-admission-ca',
        'Issuer azureml/azureml-connector-admission-ca',
        'Issuer azureml/azureml-connector-admission-selfsigned',
        'MutatingWebhookConfiguration azureml-connector-admission',
        'ServiceMonitor azureml/azureml-connector-admission',
        'ValidatingWebhookConfiguration azureml-connector-admission',
      ]);
    });

    it("registers webhook-config/'s configurations itself, with the CA cainjector takes from the serving Certificate", async () => {
      const configs = certManager.filter((o) => o.kind.endsWith('WebhookConfiguration'));
      assert.deepEqual(configs.map(withoutHelm), await initsConfigs('azureml'));
      for (const c of configs) assert.deepEqual(c.metadata.annotations, { 'cert-manager.io/inject-ca-from': 'azureml/azureml-connector-admission' });
    });

    it('issues the serving certificate into the Secret the pods mount, for the Service name the API server calls, from its own CA', () => {
      const cert = find(certManager, 'Certificate', 'azureml-connector-admission');
      const pod = find(certManager, 'Deployment', 'azureml-connector-admission').spec.template.spec;
      assert.equal(cert.spec.secretName, pod.volumes.find((v: Obj) => v.name === 'tls').secret.secretName);
      const scheduler = find(certManager, 'Deployment', 'azureml-connector-scheduler').spec.template.spec;
      assert.equal(cert.spec.secretName, scheduler.volumes.find((v: Obj) => v.name === 'extender-ca').secret.secretName, 'the scheduler trusts its ca.crt');
      assert.ok(cert.spec.dnsNames.includes('azureml-connector-admission.azureml.svc'));
      const issuer = find(certManager, 'Issuer', cert.spec.issuerRef.name);
      const ca = find(certManager, 'Certificate', 'azureml-connector-admission-ca');
      assert.equal(issuer.spec.ca.secretName, ca.spec.secretName);
      assert.equal(ca.spec.isCA, true);
      assert.equal(ca.spec.privateKey.rotationPolicy, 'Never', 'a renewed CA still verifies the certificates it issued');
      assert.ok(find(certManager, 'Issuer', ca.spec.issuerRef.name).spec.selfSigned);
    });

    it("registers the policy's own workload kinds with the validating webhook, as init does from the ConfigMap", async () => {
      const policy = parse(readFileSync('deploy/policy/policy.yaml', 'utf8')) as Obj;
      policy.trustedControllers = {
        ...policy.trustedControllers,
        serviceAccounts: [...(policy.trustedControllers?.serviceAccounts ?? []), 'ray-system/kuberay-operator'],
      };
      policy.workloads = [
        { group: 'ray.io', kind: 'RayCluster', resource: 'rayclusters', creator: 'ray-system/kuberay-operator', templates: ['spec.headGroupSpec.template'] },
      ];
      assert.ok(loadPolicy(stringify(policy)).ok, 'a valid policy');
      const workloads = [{ group: 'ray.io', resource: 'rayclusters' }];
      const want = (await loadWebhookTemplates('webhook-config')).map((t) => {
        const c = renderWebhookConfig(t, { namespace: 'azureml', service: 'azureml-connector-admission', caBundle: '', workloads }) as Obj;
        for (const w of c.webhooks) delete w.clientConfig.caBundle;
        return c;
      });
      for (const args of [
        ['--set-json', `policy=${JSON.stringify(policy)}`],
        ['--set-string', `policy=${stringify(policy)}`],
      ]) {
        const configs = template(['--set', 'certManager.enabled=true', ...args]).filter((o) => o.kind.endsWith('WebhookConfiguration'));
        assert.deepEqual(configs.map(withoutHelm), want, args[0]);
      }
      // With init, init adds them: the configurations it is handed have webhook-config/'s rules only.
      assert.deepEqual(handedToInit(template(['--set-json', `policy=${JSON.stringify(policy)}`])).map(withoutHelm), await initsConfigs('azureml'));
    });

    it("issues from an Issuer or ClusterIssuer of one's own instead, with no CA of the chart's", () => {
      const objs = template([
        '--set',
        'certManager.enabled=true',
        '--set',
        'certManager.issuerRef.kind=ClusterIssuer',
        '--set',
        'certManager.issuerRef.name=corp-ca',
      ]);
      assert.deepEqual(objs.filter((o) => o.apiVersion === 'cert-manager.io/v1').map(id), ['Certificate azureml/azureml-connector-admission']);
      assert.deepEqual(find(objs, 'Certificate').spec.issuerRef, { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'corp-ca' });
    });

    it("scrapes /metrics on the admission Service's https port, verifying it with the serving CA", () => {
      const monitor = find(certManager, 'ServiceMonitor');
      const service = find(certManager, 'Service', 'azureml-connector-admission');
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels[k], v, k);
      const [endpoint] = monitor.spec.endpoints;
      assert.equal(endpoint.port, service.spec.ports[0].name);
      assert.equal(endpoint.scheme, 'https');
      assert.equal(endpoint.path, '/metrics');
      assert.deepEqual(endpoint.tlsConfig.ca.secret, { name: 'azureml-connector-admission-tls', key: 'ca.crt' });
      assert.equal(endpoint.tlsConfig.serverName, 'azureml-connector-admission.azureml.svc', 'a name the certificate has');
    });
  });

  describe('charts/aml-admission values', () => {
    it('namespace: puts every namespaced object there (but the kube-system auth reader) and names it wherever deploy/ names azureml', async () => {
      const objs = template(['--set', 'namespace=ml-system'], 'default');
      const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
      for (const o of objs.filter((o) => !clusterScoped.has(o.kind)))
        assert.equal(o.metadata.namespace, o.metadata.name.endsWith('-auth-reader') ? 'kube-system' : 'ml-system', id(o));
      assert.doesNotMatch(stringify(objs), /azureml\//, 'no azureml/ reference left');
      for (const o of objs.filter((o) => o.kind.endsWith('Binding'))) for (const s of o.subjects) assert.equal(s.namespace, 'ml-system', id(o));
      assert.deepEqual(handedToInit(objs).map(withoutHelm), await initsConfigs('ml-system'));
      const scheduler = parse(find(objs, 'ConfigMap', 'azureml-connector-scheduler-config').data['scheduler-config.yaml']) as Obj;
      assert.equal(scheduler.extenders[0].urlPrefix, 'https://azureml-connector-admission.ml-system.svc:443');
      assert.equal(scheduler.leaderElection.resourceNamespace, 'ml-system');
      assert.ok(
        find(objs, 'Deployment', 'azureml-connector-admission').spec.template.spec.containers[0].args.includes(
          '--policy-configmap=ml-system/aml-admission-policy',
        ),
      );
      const init = find(objs, 'Job').spec.template.spec.containers[0].args;
      assert.ok(init.includes('--namespace=ml-system'));
      assert.ok(init.includes('--policy-configmap=ml-system/aml-admission-policy'), 'init reads the policy the server enforces');
    });

    it('defaults the namespace to the release namespace', () => {
      assert.ok(template([], 'ml-ops').every((o) => o.metadata.namespace === undefined || ['ml-ops', 'kube-system'].includes(o.metadata.namespace)));
    });

    it('images: the admission image and tag (default: the appVersion), the kube-scheduler image and tag', () => {
      const objs = template([
        '--set',
        'image.repository=contoso.azurecr.io/aml-admission',
        '--set',
        'image.tag=0.2.0',
        '--set',
        'scheduler.image.tag=v1.33.1',
        '--set',
        'imagePullSecrets[0].name=acr',
      ]);
      for (const o of objs.filter((o) => ['Deployment', 'Job', 'CronJob'].includes(o.kind))) {
        const pod = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
        const want = o.metadata.name === 'azureml-connector-scheduler' ? 'registry.k8s.io/kube-scheduler:v1.33.1' : 'contoso.azurecr.io/aml-admission:0.2.0';
        assert.equal(pod.containers[0].image, want, id(o));
        assert.deepEqual(pod.imagePullSecrets, [{ name: 'acr' }], id(o));
      }
      const chart = parse(readFileSync(`${CHART}/Chart.yaml`, 'utf8')) as Obj;
      assert.equal(find(defaults, 'Deployment', 'azureml-connector-admission').spec.template.spec.containers[0].image, `aml-admission:${chart.appVersion}`);
    });

    it('replicas, resources and priorityClassName of the admission server and the scheduler', () => {
      const objs = template([
        '--set',
        'admission.replicas=3',
        '--set',
        'admission.resources.limits.memory=1Gi',
        '--set',
        'admission.priorityClassName=',
        '--set',
        'scheduler.replicas=1',
        '--set',
        'scheduler.priorityClassName=system-cluster-critical',
        '--set',
        'init.resources.limits.cpu=1',
      ]);
      const admission = find(objs, 'Deployment', 'azureml-connector-admission').spec;
      const scheduler = find(objs, 'Deployment', 'azureml-connector-scheduler').spec;
      assert.equal(admission.replicas, 3);
      assert.equal(admission.template.spec.containers[0].resources.limits.memory, '1Gi');
      assert.equal(admission.template.spec.containers[0].resources.requests.cpu, '100m', 'the other defaults stay');
      assert.equal(admission.template.spec.priorityClassName, undefined);
      assert.equal(scheduler.replicas, 1);
      assert.equal(scheduler.template.spec.priorityClassName, 'system-cluster-critical');
      assert.equal(find(objs, 'Job').spec.template.spec.containers[0].resources.limits.cpu, 1);
    });

    it("events and backgroundAuditInterval become serve's flags, and only when set (the server's defaults otherwise)", () => {
      const args = (extra: string[]) => find(template(extra), 'Deployment', 'azureml-connector-admission').spec.template.spec.containers[0].args as string[];
      const set = args(['--set', 'admission.events=deny\\,warn\\,audit', '--set', 'admission.backgroundAuditInterval=10m']);
      assert.ok(set.includes('--events=deny,warn,audit'), set.join(' '));
      assert.ok(set.includes('--background-audit-interval=10m'), set.join(' '));
      assert.ok(!args([]).some((a) => a.startsWith('--events') || a.startsWith('--background-audit-interval')));
    });

    it('webhooks: failurePolicy, timeoutSeconds, matchConditions and namespace expressions per webhook, and excluded namespaces for both', async () => {
      const values = {
        webhooks: {
          excludeNamespaces: ['gpu-operator'],
          mutating: { timeoutSeconds: 3, namespaceSelectorExpressions: [{ key: 'team', operator: 'Exists' }] },
          validating: {
            failurePolicy: 'Ignore',
            matchConditions: [{ name: 'not-the-operator', expression: "request.userInfo.username != 'system:serviceaccount:kubeflow:training-operator'" }],
          },
        },
      };
      const objs = template(['--set-json', `webhooks=${JSON.stringify(values.webhooks)}`]);
      const [mutating, validating] = await initsConfigs('azureml', ['gpu-operator']);
      const m = mutating!.webhooks[0];
      m.timeoutSeconds = 3;
      m.namespaceSelector.matchExpressions.push({ key: 'team', operator: 'Exists' });
      const v = validating!.webhooks[0];
      v.failurePolicy = 'Ignore';
      v.matchConditions.push(values.webhooks.validating.matchConditions[0]);
      assert.deepEqual(handedToInit(objs).map(withoutHelm), [mutating, validating]);
    });

    it('policy: a map or YAML text, into the policy ConfigMap', () => {
      const policy = parse(readFileSync('deploy/policy/policy.yaml', 'utf8')) as Obj;
      policy.computes['example-compute'].namespaces = ['team-a'];
      for (const args of [
        ['--set-json', `policy=${JSON.stringify(policy)}`],
        ['--set-string', `policy=${stringify(policy)}`],
      ]) {
        const text = find(template(args), 'ConfigMap', 'aml-admission-policy').data['policy.yaml'];
        assert.deepEqual(parse(text), policy, args[0]);
        const loaded = loadPolicy(text);
        assert.ok(loaded.ok, JSON.stringify(loaded));
        assert.deepEqual(loaded.policy.computes['example-compute']?.namespaces, ['team-a']);
      }
    });
  });

  describe('charts/aml-admission values.schema.json', () => {
    const cases: { name: string; given: string[]; error: RegExp }[] = [
      {
        name: 'a failure policy the API server does not know',
        given: ['--set', 'webhooks.validating.failurePolicy=Never'],
        error: /failurePolicy.*'Fail', 'Ignore'/,
      },
      { name: 'a timeout above the API server maximum of 30 s', given: ['--set', 'webhooks.mutating.timeoutSeconds=31'], error: /timeoutSeconds/ },
      { name: 'a misspelt key', given: ['--set', 'admission.replica=3'], error: /additional properties 'replica'/ },
      { name: 'replicas that are not a number', given: ['--set-string', 'admission.replicas=two'], error: /replicas/ },
      { name: 'a namespace that is not a DNS label', given: ['--set', 'namespace=ML_System'], error: /namespace/ },
      { name: 'an excluded namespace that is not a DNS label', given: ['--set', 'webhooks.excludeNamespaces[0]=Bad Name'], error: /excludeNamespaces/ },
      { name: 'a matchCondition without an expression', given: ['--set', 'webhooks.validating.matchConditions[0].name=x'], error: /expression/ },
      {
        name: 'a namespace expression with an unknown operator',
        given: ['--set-json', 'webhooks.mutating.namespaceSelectorExpressions=[{"key":"a","operator":"Is"}]'],
        error: /operator/,
      },
      { name: 'a kube-scheduler tag that is not a release', given: ['--set', 'scheduler.image.tag=latest'], error: /tag/ },
      { name: 'an issuerRef without a name', given: ['--set', 'certManager.issuerRef.kind=ClusterIssuer'], error: /issuerRef.*name/ },
      {
        name: 'an issuer kind cert-manager does not have',
        given: ['--set', 'certManager.issuerRef.kind=Vault', '--set', 'certManager.issuerRef.name=x'],
        error: /kind/,
      },
      { name: 'a certificate duration that is not a duration', given: ['--set', 'certManager.duration=1y'], error: /duration/ },
      { name: 'a policy that is a list', given: ['--set-json', 'policy=[1]'], error: /policy/ },
      { name: 'enabled that is not a boolean', given: ['--set-string', 'serviceMonitor.enabled=yes'], error: /enabled/ },
      { name: 'an Events outcome serve does not know', given: ['--set', 'admission.events=deny\\,fail'], error: /events/ },
      {
        name: 'a background audit interval that is not a duration',
        given: ['--set', 'admission.backgroundAuditInterval=hourly'],
        error: /backgroundAuditInterval/,
      },
    ];
    for (const { name, given, error } of cases) {
      it(`refuses ${name}`, () => {
        const err = refused(given);
        assert.match(err, /values don't meet the specifications of the schema/);
        assert.match(err, error);
      });
    }
  });
}
