import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { AML, amlCli, createNamespace, installBase, installServer, startServer, uninstall, type AmlServer } from './harness/aml.js';
import { httpsGet, httpsPostJson } from './harness/controlPlane.js';
import { amlPod, core, createNode, eventsFor, POLICY_FILE } from './harness/objects.js';
import { freePort, waitFor } from './harness/processes.js';
import { cluster } from './harness/suite.js';

/** What the server reads from the cluster: the policy ConfigMap, and nodes and pods through informers. */
const NS = 'e2e-sources';

describe('cluster sources: a real watch on the policy ConfigMap, informers, audit', () => {
  let server: AmlServer;
  let policyYaml: string;
  /** The e2e policy with identity-claims at `warn`: bob's pods are allowed, with a warning. */
  let lenientYaml: string;

  const setPolicy = (yaml: string) =>
    cluster().kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: AML.policyConfigMap, namespace: AML.namespace },
        data: { 'policy.yaml': yaml },
      }),
    });
  /** What bob gets for an AML pod through the API server (dry-run: nothing is stored). */
  const bobTries = async () => {
    const r = await cluster().kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], {
      user: 'bob',
      input: JSON.stringify(amlPod('bob-try', NS, { instanceType: 'gpu-1' })),
    });
    if (r.code === 0) return /Warning: \[identity-claims\]/.test(r.err) ? 'allowed with an identity-claims warning' : `allowed: ${r.err}`;
    return /denied the request: \[identity-claims\]/.test(r.err) ? 'denied by identity-claims' : `failed: ${r.err}`;
  };

  const readyz = async (srv: AmlServer) => {
    const r = await httpsGet(`${srv.url}/readyz`, { ca: await srv.ca() });
    return { status: r.status, pending: r.status === 503 ? (JSON.parse(r.body) as { pending: string[] }).pending : [] };
  };
  const metric = async (srv: AmlServer, line: string) =>
    Number(
      (await httpsGet(`${srv.url}/metrics`, { ca: await srv.ca() })).body
        .split('\n')
        .find((l) => l.startsWith(line))
        ?.split(' ')
        .pop() ?? 0,
    );

  before(async () => {
    const plane = cluster();
    policyYaml = await readFile(POLICY_FILE, 'utf8');
    const lenient = parse(policyYaml);
    lenient.rules['identity-claims'] = { enforcementAction: 'warn' };
    lenientYaml = stringify(lenient);
    await installBase(plane);
    // Started before its ConfigMap exists (the first test creates it).
    server = await installServer(plane, {
      name: 'aml-sources',
      args: ['--policy-configmap', `${AML.namespace}/${AML.policyConfigMap}`],
      podName: 'aml-admission-7d9f-x2',
      ready: false,
      initArgs: ['--exclude-namespace', 'e2e-audit'],
    });
    await createNamespace(plane, NS);
  });
  after(async () => {
    await uninstall(cluster());
    await server?.stop();
    // The policy ConfigMap the tests re-created: later files create their own.
    await cluster().kubectl(['delete', '--ignore-not-found', '-n', AML.namespace, `configmap/${AML.policyConfigMap}`]);
  });

  it('serve --policy-configmap is not ready until the ConfigMap exists, then serves its policy and says so in an Event', async () => {
    const plane = cluster();
    await waitFor('the server to answer /readyz', async () => (await readyz(server)).status === 503);
    // The informers sync by themselves; the ConfigMap is what stays missing.
    await waitFor('only the ConfigMap pending', async () => (await readyz(server)).pending.join() === 'policy-configmap');
    // No policy to judge by yet: the webhooks answer 503 instead of judging by the built-in example
    // policy, and the API server applies each webhook's failurePolicy (validation fails closed).
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1' } };
    assert.deepEqual(await httpsPostJson(`${server.url}/validate`, await server.ca(), review), {
      error: { code: 'Unavailable', message: `not ready: the policy in ConfigMap ${AML.namespace}/${AML.policyConfigMap} is not loaded yet` },
    });
    assert.match(
      await bobTries(),
      /failed: .*failed calling webhook "validate\.aml-admission\.ml\.azure\.com": .*the server is currently unable to handle the request/s,
    );

    await setPolicy(policyYaml);

    await waitFor('ready', async () => (await readyz(server)).status === 200);
    assert.equal(await bobTries(), 'denied by identity-claims', "the ConfigMap's policy is in force");
    const loaded = await waitFor(
      'a PolicyLoaded Event',
      async () =>
        (await core(plane).listNamespacedEvent({ namespace: AML.namespace, fieldSelector: `involvedObject.name=${AML.policyConfigMap},reason=PolicyLoaded` }))
          .items[0],
    );
    assert.equal(loaded.type, 'Normal');
    assert.equal(loaded.reportingInstance, 'aml-admission-7d9f-x2', 'the replica is named by POD_NAME');
  });

  it('serve --policy-configmap applies an edit, refuses an invalid edit with a Warning Event, and keeps the last good policy when the ConfigMap is deleted', async () => {
    const plane = cluster();
    await setPolicy(lenientYaml);
    await waitFor('the edit to take effect', async () => (await bobTries()) === 'allowed with an identity-claims warning');

    await setPolicy(policyYaml.replace('defaultInstanceType: cpu-small', 'defaultInstanceType: no-such-type'));
    const refused = await waitFor('a Warning Event for the invalid edit', async () =>
      (await eventsFor(plane, AML.namespace, 'ConfigMap', AML.policyConfigMap)).find((e) => e.type === 'Warning' && e.reason === 'InvalidPolicy'),
    );
    assert.match(refused.message, /last good policy stays in force: \/computes\/gpu-compute\/defaultInstanceType: instance type "no-such-type" is not defined/);
    assert.equal(await bobTries(), 'allowed with an identity-claims warning', 'the last good policy stays');
    assert.equal((await readyz(server)).status, 200, 'still ready: a good policy is in force');
    assert.equal(await metric(server, 'aml_admission_policy_reloads_total{source="configmap",result="failure"}'), 1);

    await plane.kubectlOk(['delete', '-n', AML.namespace, `configmap/${AML.policyConfigMap}`]);
    await waitFor('the server to see the delete', async () =>
      (await server.logs()).some((l) => l.msg === 'policy ConfigMap deleted; keeping the last good policy'),
    );
    assert.equal(await bobTries(), 'allowed with an identity-claims warning', 'deleting the ConfigMap keeps the last good policy');

    await setPolicy(policyYaml);
    await waitFor('the re-created ConfigMap to take effect', async () => (await bobTries()) === 'denied by identity-claims');
  });

  const unusable: { name: string; given: Record<string, string>; want: RegExp }[] = [
    {
      name: 'an invalid policy',
      given: { 'policy.yaml': 'apiVersion: aml-admission.azure.com/v1alpha1\nkind: AdmissionPolicy\ncomputes: 5\n' },
      want: /\/computes/,
    },
    { name: 'no policy key', given: { 'other.yaml': 'x: 1\n' }, want: /the ConfigMap has no data key "policy\.yaml"/ },
    { name: 'text that is not YAML', given: { 'policy.yaml': 'computes: [\n' }, want: /not valid YAML at line \d+, column \d+: / },
  ];
  for (const [i, { name, given, want }] of unusable.entries()) {
    it(`serve --policy-configmap stays not ready, with a Warning Event, when the first ConfigMap it sees holds ${name}`, async () => {
      const plane = cluster();
      const cm = `e2e-unusable-${i}`;
      await plane.kubectlOk(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: cm, namespace: AML.namespace }, data: given }),
      });
      // As the admin: the admission ServiceAccount may read only aml-admission-policy.
      const srv = await startServer(plane, {
        name: `aml-unusable-${i}`,
        port: await freePort(),
        certsDir: server.certsDir,
        args: ['--policy-configmap', `${AML.namespace}/${cm}`, '--components', 'admission'],
        kubeconfig: plane.kubeconfigPath('admin'),
        ready: false,
      });
      try {
        const warning = await waitFor('an InvalidPolicy Event', async () =>
          (await eventsFor(plane, AML.namespace, 'ConfigMap', cm)).find((e) => e.reason === 'InvalidPolicy'),
        );
        assert.equal(warning.type, 'Warning');
        assert.match(warning.message, want);
        // The caches sync by themselves (the PVC informer may still be listing); the policy stays missing.
        await waitFor('only the ConfigMap pending', async () => (await readyz(srv)).pending.join() === 'policy-configmap');
        assert.equal((await readyz(srv)).status, 503);
      } finally {
        await srv.stop();
      }
    });
  }

  it('feeds the extender from node and pod informers: a new node, the GPUs a bound pod takes, a deleted node', async () => {
    const plane = cluster();
    // The pod the scheduler would send: as the API server stores it (mutated), from a dry-run.
    const pod = JSON.parse(
      await plane.kubectlOk(['create', '--dry-run=server', '-o', 'json', '-f', '-'], {
        user: 'alice',
        input: JSON.stringify(amlPod('wants-2', NS, { gpus: 2, schedulerName: 'azureml-scheduler' })),
      }),
    ) as V1Pod;
    const filter = async () => httpsPostJson(`${server.url}/scheduler/filter`, await server.ca(), { Pod: pod, NodeNames: ['src-gpu-1'] });

    assert.deepEqual((await filter()).FailedAndUnresolvableNodes, { 'src-gpu-1': "node is not in the extender's node cache" });

    await createNode(plane, 'src-gpu-1', { labels: { agentpool: 'gpupool' }, taints: [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }], gpus: 2 });
    await waitFor('the node to reach the cache', async () => (await filter()).NodeNames?.[0] === 'src-gpu-1');

    await plane.kubectlOk(['create', '-f', '-'], {
      user: 'alice',
      input: JSON.stringify({ ...amlPod('holds-2', NS, { gpus: 2 }), spec: { ...amlPod('x', NS, { gpus: 2 }).spec, nodeName: 'src-gpu-1' } }),
    });
    await waitFor(
      "the bound pod to use the node's GPUs",
      async () => (await filter()).FailedNodes?.['src-gpu-1'] === 'fewer than 2 nvidia.com/gpu free on the node',
    );

    await core(plane).deleteNamespacedPod({ namespace: NS, name: 'holds-2', gracePeriodSeconds: 0 });
    await waitFor('the deleted pod to free them', async () => (await filter()).NodeNames?.[0] === 'src-gpu-1');

    await core(plane).deleteNode({ name: 'src-gpu-1' });
    await waitFor(
      'the deleted node to leave the cache',
      async () => (await filter()).FailedAndUnresolvableNodes?.['src-gpu-1'] === "node is not in the extender's node cache",
    );
  });

  it('keeps the extender not ready until both informers have listed, while its ServiceAccount may not list pods', async () => {
    const plane = cluster();
    await plane.kubectlOk(['create', 'serviceaccount', '-n', AML.namespace, 'no-pods']);
    await plane.kubectlOk(['create', 'clusterrole', 'e2e-nodes-only', '--verb=get,list,watch', '--resource=nodes']);
    await plane.kubectlOk(['create', 'clusterrolebinding', 'e2e-no-pods-nodes', '--clusterrole=e2e-nodes-only', `--serviceaccount=${AML.namespace}:no-pods`]);
    const kubeconfig = await plane.serviceAccountKubeconfig(AML.namespace, 'no-pods');
    const srv = await startServer(plane, {
      name: 'aml-no-pods',
      port: await freePort(),
      certsDir: server.certsDir,
      args: ['--components', 'extender'],
      kubeconfig,
      ready: false,
    });
    try {
      await waitFor('the pod informer to fail on RBAC', async () =>
        (await srv.logs()).find((l) => l.msg === 'informer failed; retrying' && l.informer === 'pods' && /forbidden/.test(String(l.error))),
      );
      assert.deepEqual(await readyz(srv), { status: 503, pending: ['informers'] });

      await plane.kubectlOk([
        'create',
        'clusterrolebinding',
        'e2e-no-pods-granted',
        `--clusterrole=${AML.admissionSa}`,
        `--serviceaccount=${AML.namespace}:no-pods`,
      ]);

      await waitFor('ready once both caches synced', async () => (await readyz(srv)).status === 200, { timeoutMs: 60_000 });
    } finally {
      await srv.stop();
    }
  });

  it("audit exits 5 (cluster) with the API server's reason when it may not list pods, rather than reporting no violations", async () => {
    const run = await amlCli(['audit', '--kubeconfig', cluster().kubeconfigPath('mallory'), '-A', '--policy', POLICY_FILE]);

    assert.equal(run.code, 5);
    assert.match(
      run.out + run.err,
      /pods is forbidden: User "mallory@example\.com" cannot list resource "pods" in API group "" at the cluster scope \[HTTP 403\]/,
    );
  });

  it('audit judges the pods of a live namespace and exits 1 on a deny-level violation', async () => {
    const plane = cluster();
    // A namespace the webhooks skip (init --exclude-namespace), so pods that break the policy exist.
    const ns = await createNamespace(plane, 'e2e-audit');
    await plane.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(amlPod('wrong-namespace', ns, { instanceType: 'gpu-1' })) });
    await plane.kubectlOk(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: ns },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      }),
    });

    // No --policy: audit judges by the policy the webhooks enforce, the live ConfigMap.
    await setPolicy(policyYaml);
    const run = await amlCli(['audit', '--kubeconfig', plane.kubeconfigPath('admin'), '-n', ns, '-o', 'json']);

    assert.equal(run.code, 1, run.err);
    const report = JSON.parse(run.out) as { pods: { pod: string; status: string; compute?: string }[] };
    assert.deepEqual(report.pods.map((p) => [p.pod, p.status]).sort(), [
      [`${ns}/web`, 'ok'],
      [`${ns}/wrong-namespace`, 'deny'],
    ]);
  });
});
