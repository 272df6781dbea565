import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { AML, createNamespace, initByUrl, installServer, startServer, uninstall, type AmlServer } from './harness/aml.js';
import { ROOT } from './harness/assets.js';
import { httpsGet, httpsPostJson } from './harness/controlPlane.js';
import { amlPod, createNode, POLICY_FILE, readPod, waitForEvent } from './harness/objects.js';
import { waitFor, type Proc } from './harness/processes.js';
import { cluster } from './harness/suite.js';

/**
 * kube-scheduler with the project's own KubeSchedulerConfiguration (deploy/scheduler/), run as
 * the scheduler's ServiceAccount with deploy/kube-scheduler/rbac.yaml. Three fields are changed
 * for a run outside the cluster, and only these: the extender's urlPrefix (the test server instead
 * of the Service), its tlsConfig.caFile (the ca.crt init wrote instead of the mounted Secret), and
 * clientConnection.kubeconfig (instead of the in-cluster account).
 */
const NS = 'e2e-scheduling';
const SCHEDULER = 'azureml-scheduler';
const GPU_TAINT = [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }];

async function schedulerConfig(server: AmlServer, kubeconfig: string, file: string): Promise<void> {
  const config = parse(await readFile(join(ROOT, 'deploy/scheduler/scheduler-config.yaml'), 'utf8'));
  config.clientConnection = { ...config.clientConnection, kubeconfig };
  const [extender] = config.extenders;
  extender.urlPrefix = server.url;
  extender.tlsConfig = { ...extender.tlsConfig, caFile: join(server.certsDir, 'ca.crt') };
  await writeFile(file, stringify(config));
}

describe('scheduling: kube-scheduler with deploy/scheduler and the extender', () => {
  let server: AmlServer;
  let scheduler: Proc;

  const boundNode = (name: string) =>
    waitFor(`pod ${name} to be bound`, async () => (await readPod(cluster(), NS, name)).spec?.nodeName, {
      proc: scheduler,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  const extenderCalls = async () => {
    const metrics = (await httpsGet(`${server.url}/metrics`, { ca: await server.ca() })).body;
    return metrics
      .split('\n')
      .filter((l) => l.startsWith('aml_admission_requests_total{endpoint="/scheduler/'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  before(async function () {
    this.timeout(180_000);
    const plane = cluster();
    // A certificate that init will renew on its next run (it renews within 30 days of expiry).
    server = await installServer(plane, { name: 'aml-scheduling', args: ['--policy', POLICY_FILE], initArgs: ['--days', '20'] });
    await createNamespace(plane, NS);
    await createNode(plane, 'sched-cpu-1', { labels: { agentpool: 'cpupool' } });
    await createNode(plane, 'sched-gpu-a', { labels: { agentpool: 'gpupool' }, taints: GPU_TAINT, gpus: 4 });
    await createNode(plane, 'sched-gpu-b', { labels: { agentpool: 'gpupool' }, taints: GPU_TAINT, gpus: 4 });
    // The only node with 8 GPUs reports NotReady but carries no not-ready taint (what a stale
    // node-lifecycle controller leaves): kube-scheduler's own filters pass it, the extender does not.
    await createNode(plane, 'sched-gpu-big-notready', { labels: { agentpool: 'gpupool' }, taints: GPU_TAINT, gpus: 8, ready: false });
    // Two GPUs of sched-gpu-a in use, by a pod bound there directly.
    await plane.kubectlOk(['create', '-f', '-'], {
      user: 'alice',
      input: JSON.stringify({ ...amlPod('running-2gpu', NS, { gpus: 2 }), spec: { ...amlPod('x', NS, { gpus: 2 }).spec, nodeName: 'sched-gpu-a' } }),
    });

    const kubeconfig = await plane.serviceAccountKubeconfig(AML.namespace, AML.schedulerSa);
    const configFile = join(plane.dir, 'scheduler-config.yaml');
    await schedulerConfig(server, kubeconfig, configFile);
    scheduler = await plane.startScheduler(configFile, kubeconfig, 'azureml-scheduler');
    await waitFor(
      'the scheduler to hold its Lease',
      async () => {
        const lease = await plane.kubectl(['get', 'lease', '-n', AML.namespace, 'azureml-connector-scheduler', '-o', 'jsonpath={.spec.holderIdentity}']);
        return lease.code === 0 && lease.out !== '' && lease.out;
      },
      { proc: scheduler, timeoutMs: 60_000, intervalMs: 500 },
    );
    // The extender's node cache must know the nodes (informers) before the first pod comes.
    await waitFor('the extender cache to know the nodes', async () => {
      const probe = { metadata: { name: 'probe', namespace: NS }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
      const r = await httpsPostJson(`${server.url}/scheduler/filter`, await server.ca(), { Pod: probe, NodeNames: ['sched-cpu-1'] });
      if (r.NodeNames?.[0] !== 'sched-cpu-1') throw new Error(JSON.stringify(r));
      return true;
    });
  });
  after(async () => {
    await scheduler?.stop();
    await uninstall(cluster());
    await server?.stop();
  });

  it('binds a GPU pod to the node the extender prefers (the partly used GPU node), after asking it', async () => {
    const plane = cluster();
    const callsBefore = await extenderCalls();
    await plane.kubectlOk(['create', '-f', '-'], {
      user: 'alice',
      input: JSON.stringify(amlPod('place-me', NS, { instanceType: 'gpu-1', schedulerName: SCHEDULER })),
    });

    const node = await boundNode('place-me');

    const stored = await readPod(plane, NS, 'place-me');
    const ranked = (await httpsPostJson(`${server.url}/scheduler/prioritize`, await server.ca(), {
      Pod: stored,
      NodeNames: ['sched-gpu-a', 'sched-gpu-b'],
    })) as { Host: string; Score: number }[];
    const best = ranked.reduce((a, b) => (b.Score > a.Score ? b : a));
    assert.equal(best.Host, 'sched-gpu-a', `the extender prefers the partly used node: ${JSON.stringify(ranked)}`);
    assert.equal(node, best.Host);
    assert.ok((await extenderCalls()) > callsBefore, 'kube-scheduler called the extender');
  });

  it("leaves a pod that no node can take Pending, with the extender's reason in its event", async () => {
    const plane = cluster();
    await plane.kubectlOk(['create', '-f', '-'], { user: 'alice', input: JSON.stringify(amlPod('too-big', NS, { gpus: 8, schedulerName: SCHEDULER })) });

    const event = await waitForEvent(plane, NS, 'Pod', 'too-big', (e) => e.reason === 'FailedScheduling');
    assert.match(event.message, /node is not Ready/, 'the extender rejected the one node that has 8 GPUs');
    assert.match(event.message, /Insufficient nvidia\.com\/gpu/, "kube-scheduler's own filter rejected the smaller ones");
    const pod: V1Pod = await readPod(plane, NS, 'too-big');
    assert.equal(pod.spec?.nodeName, undefined);
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason, 'Unschedulable');
  });

  // Pending until issue 14 (a long-lived CA; rotate only the serving certificate). Observed on
  // v1.34.4: init renews the 20-day certificate with a NEW CA; the restarted server serves a
  // certificate the scheduler's caFile (read once, at start) does not trust, so every extender call
  // fails ("Error scheduling pod; retrying" err="Post \"https://127.0.0.1:PORT/scheduler/filter\":
  // tls: failed to verify certificate: x509: certificate signed by unknown authority") and the pod
  // stays Pending (the extender is not ignorable). Remove `.skip` when issue 14 lands.
  it.skip('keeps binding GPU pods after init renews the certificate and the server restarts with it', async () => {
    const plane = cluster();
    const renewed = await initByUrl(plane, { port: server.port, certsDir: server.certsDir });
    assert.match(renewed.out, /: renewed \(the certificate expires .* within 30 days\)/, renewed.out);
    // A new server process, as a rolled pod would be: fresh connections, the renewed certificate.
    await server.stop();
    server = await startServer(plane, { name: 'aml-scheduling-renewed', port: server.port, certsDir: server.certsDir, args: ['--policy', POLICY_FILE] });

    await plane.kubectlOk(['create', '-f', '-'], {
      user: 'alice',
      input: JSON.stringify(amlPod('after-renewal', NS, { instanceType: 'gpu-1', schedulerName: SCHEDULER })),
    });

    assert.match(await boundNode('after-renewal'), /^sched-gpu-[ab]$/);
  });
});
