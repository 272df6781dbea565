import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { loadWebhookTemplates, renderWebhookConfig, type WebhookConfiguration } from '../../src/kube/webhookConfigs.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { loadPolicy } from '../../src/policy/loader.js';
import { validate, type Obj } from './schema.js';

// Rendered once when the file loads (kubectl kustomize is offline and quick): the tests below are one per object.
const rendered: Obj[] = parseAllDocuments(execFileSync('kubectl', ['kustomize', 'deploy/'], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);
const id = (o: Obj): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const find = (kind: string, name: string): Obj => {
  const found = rendered.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name} is rendered`);
  return found;
};
const arg = (container: Obj, flag: string): string | undefined => (container.args as string[]).find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);

const admission = find('Deployment', 'azureml-connector-admission');
const admissionPod = admission.spec.template;
const server = admissionPod.spec.containers[0];
const service = find('Service', 'azureml-connector-admission');
const initJob = find('Job', 'azureml-connector-admission-init');
const initContainer = initJob.spec.template.spec.containers[0];

/** Every pod template: Deployments, Jobs, CronJobs. */
const podTemplates: { owner: string; spec: Obj }[] = rendered.flatMap((o) => {
  if (o.kind === 'Deployment' || o.kind === 'Job') return [{ owner: id(o), spec: o.spec.template.spec }];
  if (o.kind === 'CronJob') return [{ owner: id(o), spec: o.spec.jobTemplate.spec.template.spec }];
  return [];
});

describe('deploy/ rendered by kubectl kustomize', () => {
  it('renders the objects SPEC §8 lists', () => {
    const kinds = new Set(rendered.map((o) => o.kind));
    for (const kind of ['Namespace', 'ServiceAccount', 'ClusterRole', 'Role', 'Deployment', 'PodDisruptionBudget', 'Service', 'Job', 'ConfigMap'])
      assert.ok(kinds.has(kind), kind);
    assert.equal(rendered.filter((o) => o.kind === 'Deployment').length, 2, 'the admission server and the scheduler');
  });

  for (const obj of rendered) {
    it(`${id(obj)} validates against the Kubernetes schema`, () => validate(obj));
  }

  it('puts every namespaced object in a namespace of its own choosing (azureml, or kube-system for the auth reader)', () => {
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
    for (const o of rendered.filter((o) => !clusterScoped.has(o.kind))) {
      assert.ok(['azureml', 'kube-system'].includes(o.metadata.namespace), `${id(o)} has namespace ${o.metadata.namespace}`);
    }
  });

  it('runs every container as non-root, read-only, without privilege escalation or capabilities, under RuntimeDefault seccomp, with resources', () => {
    for (const { owner, spec } of podTemplates) {
      assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', owner);
      assert.equal(spec.securityContext?.runAsNonRoot, true, owner);
      assert.ok(spec.securityContext?.runAsUser > 0, `${owner} names a non-root uid`);
      for (const c of spec.containers) {
        const at = `${owner} container ${c.name}`;
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, at);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, at);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], at);
        for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r], `${at} sets ${kind}.${r}`);
      }
    }
  });

  it('runs at least two admission replicas, never fewer during a rollout, spread over nodes', () => {
    assert.ok(admission.spec.replicas >= 2);
    assert.equal(admission.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.ok(admissionPod.spec.topologySpreadConstraints.some((t: Obj) => t.topologyKey === 'kubernetes.io/hostname'));
    assert.ok(admissionPod.spec.terminationGracePeriodSeconds > 30, 'longer than the default drain delay plus drain timeout');
    assert.equal(admissionPod.spec.priorityClassName, 'system-cluster-critical', 'evicted last: the validating webhook fails closed');
  });

  it('probes /readyz and /healthz over HTTPS on the serving port', () => {
    const port = server.ports.find((p: Obj) => p.name === 'https');
    assert.equal(port?.containerPort, 8443);
    assert.deepEqual(server.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(server.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  });

  it("passes init's CA bundle to serve for the CA expiry metric, from the Secret it mounts", () => {
    const mount = server.volumeMounts.find((m: Obj) => m.name === 'tls');
    const secret = admissionPod.spec.volumes.find((v: Obj) => v.name === 'tls')?.secret?.secretName;
    assert.equal(secret, 'azureml-connector-admission-tls');
    assert.ok(server.args.includes(`--tls-ca=${mount.mountPath}/ca.crt`), server.args.join(' '));
  });

  it('keeps one admission replica through voluntary disruptions', () => {
    const pdb = find('PodDisruptionBudget', 'azureml-connector-admission');
    assert.deepEqual(pdb.spec.selector.matchLabels, admission.spec.selector.matchLabels);
    assert.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < admission.spec.replicas, 'a drain can still proceed one pod at a time');
  });

  it('routes the Service port 443 to the admission pods serving port, and only to them', () => {
    assert.deepEqual(service.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    const labels = admissionPod.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(labels[k], v);
    const scheduler = find('Deployment', 'azureml-connector-scheduler').spec.template.metadata.labels;
    assert.ok(
      Object.entries(service.spec.selector).some(([k, v]) => scheduler[k] !== v),
      'the scheduler pods are not selected',
    );
  });

  it('agrees on names: init writes the Secret the server mounts, for the Service it fronts; the server watches the rendered policy ConfigMap', () => {
    const secret = arg(initContainer, '--secret');
    assert.equal(admissionPod.spec.volumes.find((v: Obj) => v.name === 'tls')?.secret?.secretName, secret);
    assert.equal(arg(initContainer, '--service'), service.metadata.name);
    assert.equal(arg(initContainer, '--namespace'), service.metadata.namespace);
    const [ns, name] = (arg(server, '--policy-configmap') ?? '').split('/');
    const policy = find('ConfigMap', name!);
    assert.equal(policy.metadata.namespace, ns);
    const loaded = loadPolicy(policy.data['policy.yaml']);
    assert.ok(loaded.ok, 'the policy ConfigMap holds a valid policy');
    assert.deepEqual(loaded.policy, builtinPolicy(), 'and it is the built-in default');
  });

  it('mounts only ConfigMaps it renders, and only the Secret init writes', () => {
    const configMaps = new Set(rendered.filter((o) => o.kind === 'ConfigMap').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    const secret = arg(initContainer, '--secret');
    for (const { owner, spec } of podTemplates) {
      for (const v of spec.volumes ?? []) {
        if (v.configMap) assert.ok(configMaps.has(`azureml/${v.configMap.name}`), `${owner} mounts ConfigMap ${v.configMap.name}`);
        if (v.secret) assert.equal(v.secret.secretName, secret, `${owner} mounts Secret ${v.secret.secretName}`);
      }
    }
    assert.ok(configMaps.has('azureml/aml-admission-policy'));
    assert.ok(
      [...configMaps].some((c) => c.startsWith('azureml/azureml-connector-scheduler-config-')),
      "the scheduler's configuration, hash-suffixed",
    );
  });

  it('runs every pod under a ServiceAccount it renders', () => {
    const accounts = new Set(rendered.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
    for (const { owner, spec } of podTemplates) assert.ok(accounts.has(spec.serviceAccountName), `${owner} uses ${spec.serviceAccountName}`);
  });

  /** What a ServiceAccount may do through the rendered bindings, as `scope group/resource verb [names]`. */
  function grants(account: string): string[] {
    const out: string[] = [];
    for (const b of rendered.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      if (!b.subjects.some((s: Obj) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === 'azureml')) continue;
      const role = rendered.find(
        (o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name && (o.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace),
      );
      if (!role) {
        out.push(`${b.metadata.namespace ?? 'cluster'} ${b.roleRef.kind}/${b.roleRef.name}`);
        continue;
      }
      for (const r of role.rules) {
        for (const g of r.apiGroups)
          for (const res of r.resources)
            for (const v of r.verbs)
              out.push(`${b.metadata.namespace ?? 'cluster'} ${g}/${res} ${v}${r.resourceNames ? ` [${r.resourceNames.join(',')}]` : ''}`);
      }
    }
    return out.sort();
  }

  const rbac: { name: string; given: string; want: string[] }[] = [
    {
      name: "the admission server reads nodes, pods, PVCs, AML's InstanceTypes, its one policy ConfigMap and its one validating webhook configuration, and creates Events (in any namespace: on the workloads it judges) and its PolicyReports",
      given: 'azureml-connector-admission',
      want: [
        'azureml /configmaps get [aml-admission-policy]',
        'azureml /configmaps list [aml-admission-policy]',
        'azureml /configmaps watch [aml-admission-policy]',
        'cluster /events create',
        'cluster /nodes get',
        'cluster /nodes list',
        'cluster /nodes watch',
        'cluster /persistentvolumeclaims get',
        'cluster /persistentvolumeclaims list',
        'cluster /persistentvolumeclaims watch',
        'cluster /pods get',
        'cluster /pods list',
        'cluster /pods watch',
        'cluster admissionregistration.k8s.io/validatingwebhookconfigurations get [azureml-connector-admission]',
        'cluster admissionregistration.k8s.io/validatingwebhookconfigurations list [azureml-connector-admission]',
        'cluster admissionregistration.k8s.io/validatingwebhookconfigurations watch [azureml-connector-admission]',
        'cluster amlarc.azureml.com/instancetypes get',
        'cluster amlarc.azureml.com/instancetypes list',
        'cluster amlarc.azureml.com/instancetypes watch',
        'cluster wgpolicyk8s.io/policyreports create',
        'cluster wgpolicyk8s.io/policyreports delete',
        'cluster wgpolicyk8s.io/policyreports get',
        'cluster wgpolicyk8s.io/policyreports update',
      ],
    },
    {
      name: 'init reads and updates only its two Secrets, its two webhook configurations and the scheduler Deployment, and reads its owner ClusterRole and the policy ConfigMap (create cannot be limited by name)',
      given: 'azureml-connector-admission-init',
      want: [
        'azureml /configmaps get [aml-admission-policy]',
        'azureml /secrets create',
        'azureml /secrets get [azureml-connector-admission-tls,azureml-connector-admission-ca]',
        'azureml /secrets update [azureml-connector-admission-tls,azureml-connector-admission-ca]',
        'azureml apps/deployments get [azureml-connector-scheduler]',
        'azureml apps/deployments patch [azureml-connector-scheduler]',
        'cluster admissionregistration.k8s.io/mutatingwebhookconfigurations create',
        'cluster admissionregistration.k8s.io/mutatingwebhookconfigurations get [azureml-connector-admission]',
        'cluster admissionregistration.k8s.io/mutatingwebhookconfigurations update [azureml-connector-admission]',
        'cluster admissionregistration.k8s.io/validatingwebhookconfigurations create',
        'cluster admissionregistration.k8s.io/validatingwebhookconfigurations get [azureml-connector-admission]',
        'cluster admissionregistration.k8s.io/validatingwebhookconfigurations update [azureml-connector-admission]',
        'cluster rbac.authorization.k8s.io/clusterroles get [azureml-connector-admission-init]',
      ],
    },
    {
      name: 'the scheduler has the built-in scheduler roles, the authentication reader, and its own Lease',
      given: 'azureml-connector-scheduler',
      want: [
        'azureml coordination.k8s.io/leases create',
        'azureml coordination.k8s.io/leases get [azureml-connector-scheduler]',
        'azureml coordination.k8s.io/leases update [azureml-connector-scheduler]',
        'cluster ClusterRole/system:kube-scheduler',
        'cluster ClusterRole/system:volume-scheduler',
        'kube-system Role/extension-apiserver-authentication-reader',
      ],
    },
  ];
  for (const { name, given, want } of rbac) {
    it(`grants least privilege: ${name}`, () => assert.deepEqual(grants(given), want));
  }
});

describe('webhook-config/ as init applies it', () => {
  let configs: WebhookConfiguration[];
  before(async () => {
    const templates = await loadWebhookTemplates('webhook-config');
    configs = templates.map((t) =>
      renderWebhookConfig(t, {
        namespace: service.metadata.namespace,
        service: service.metadata.name,
        caBundle: Buffer.from('-----BEGIN CERTIFICATE-----').toString('base64'),
      }),
    );
  });
  const of = (kind: string): Obj => configs.find((c) => c.kind === kind) as Obj;

  it('validates against the Kubernetes schema, as templates and as rendered', async () => {
    for (const t of await loadWebhookTemplates('webhook-config')) validate(t as Obj);
    for (const c of configs) validate(c as Obj);
  });

  const cases: { name: string; given: string; want: { path: string; failurePolicy: string; operations: string[]; reinvocationPolicy?: string } }[] = [
    {
      name: 'mutates pods on CREATE, fails open, and is called again when a later webhook changes the pod',
      given: 'MutatingWebhookConfiguration',
      want: { path: '/mutate', failurePolicy: 'Ignore', operations: ['CREATE'], reinvocationPolicy: 'IfNeeded' },
    },
    {
      name: 'validates pods on CREATE and UPDATE, and fails closed',
      given: 'ValidatingWebhookConfiguration',
      want: { path: '/validate', failurePolicy: 'Fail', operations: ['CREATE', 'UPDATE'] },
    },
  ];
  for (const { name, given, want } of cases) {
    it(`${given} ${name}`, () => {
      const [w] = of(given).webhooks;
      assert.deepEqual(w.clientConfig.service, {
        name: service.metadata.name,
        namespace: service.metadata.namespace,
        path: want.path,
        port: service.spec.ports[0].port,
      });
      assert.equal(w.failurePolicy, want.failurePolicy);
      // The pod rule first; the validating webhook's workload rules are held to src/rules/webhooks.ts by test/rules/webhooks.test.ts.
      assert.deepEqual(w.rules[0], { operations: want.operations, apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' });
      assert.equal(w.reinvocationPolicy, want.reinvocationPolicy);
      assert.deepEqual(w.admissionReviewVersions, ['v1', 'v1beta1']);
      assert.equal(w.sideEffects, 'None');
      assert.equal(w.matchPolicy, 'Equivalent');
      assert.ok(w.timeoutSeconds >= 1 && w.timeoutSeconds <= 10, 'short, within the API server maximum of 30');
      const excluded = w.namespaceSelector.matchExpressions.find((e: Obj) => e.key === 'kubernetes.io/metadata.name');
      assert.equal(excluded.operator, 'NotIn');
      assert.deepEqual([...excluded.values].sort(), ['azureml', 'kube-system'], 'never kube-system, never its own namespace');
    });
  }
});
