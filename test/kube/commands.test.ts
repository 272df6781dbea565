import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../../src/cli.js';
import { BUILTIN_POLICY_YAML } from '../../src/policy/builtin.js';
import { eventually, FakeApiServer, type KubeObject } from '../helpers/fakeApiServer.js';
import { ROOT, runCli } from '../commands/helpers.js';

/**
 * Cluster commands against the fake API server, for what a real one cannot show: the requests a
 * command sent (pages of a list), and the watches still open after a stop. On a real API server:
 * init in test/e2e/registration.e2e.ts, audit and serve's cluster sources in test/e2e/sources.e2e.ts.
 */
describe('cluster commands against an API server', () => {
  let fake: FakeApiServer;
  let dir: string;
  let kubeconfig: string;

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    dir = await mkdtemp(join(tmpdir(), 'aml-kube-cli-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, fake.kubeconfigYaml());
  });
  afterEach(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('audit over a cluster', () => {
    const pod = (namespace: string, name: string, compute?: string): KubeObject => ({
      metadata: { name, namespace, labels: compute ? { 'ml.azure.com/compute': compute } : {} },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });

    beforeEach(() => {
      fake.apply('pods', pod('default', 'web'));
      fake.apply('pods', pod('team', 'tool'));
      fake.apply('pods', pod('team', 'train', 'no-such-compute')); // policy-input denies an unknown compute
      fake.apply('pods', pod('other', 'batch'));
    });

    const report = (out: string): { pods: { pod: string; status: string }[] } => JSON.parse(out) as { pods: { pod: string; status: string }[] };

    // Fake: it records each list request, with its limit and continue token.
    it('judges the pods of every namespace with -A, listing them in pages, and exits 1 on a deny-level violation', async () => {
      fake.apply('configmaps', { metadata: { name: 'aml-admission-policy', namespace: 'azureml' }, data: { 'policy.yaml': BUILTIN_POLICY_YAML } });
      const run = await runCli(['audit', '--kubeconfig', kubeconfig, '-A', '--page-size', '3', '-o', 'json']);

      assert.equal(run.code, 1);
      const pods = report(run.out).pods;
      assert.deepEqual(pods.map((p) => p.pod).sort(), ['default/web', 'other/batch', 'team/tool', 'team/train']);
      assert.equal(pods.find((p) => p.pod === 'team/train')?.status, 'deny');
      const lists = fake.requestsFor('list', 'pods');
      assert.deepEqual(
        lists.map((r) => [r.path, r.query.get('limit'), r.query.has('continue')]),
        [
          ['/api/v1/pods', '3', false],
          ['/api/v1/pods', '3', true],
        ],
      );
    });

    it('judges by the policy the cluster enforces (its ConfigMap), not the built-in one, and exits 5 when it is missing (cluster), 4 when it is invalid', async () => {
      // The live policy defines compute no-such-compute: the pod that the built-in policy denies is fine.
      const live = BUILTIN_POLICY_YAML.replace(
        /^computes:\n/m,
        'computes:\n  no-such-compute:\n    nodePools: { cpupool: { gpu: false } }\n    instanceTypes: { small: { resources: { requests: { cpu: "1" } } } }\n    defaultInstanceType: small\n',
      );
      fake.apply('configmaps', { metadata: { name: 'live', namespace: 'ops' }, data: { 'p.yaml': live } });
      const ok = await runCli(['audit', '--kubeconfig', kubeconfig, '-n', 'team', '--policy-configmap', 'ops/live', '--policy-key', 'p.yaml']);
      assert.match(ok.err, /judging by the policy in ConfigMap ops\/live \(key p\.yaml\)/);
      assert.doesNotMatch(ok.out, /not defined in the policy/, ok.out);
      assert.match(ok.out, /must target compute no-such-compute's pools \(cpupool\)/, 'judged by the compute the live policy defines');

      const missing = await runCli(['audit', '--kubeconfig', kubeconfig, '-A']);
      assert.equal(missing.code, 5);
      assert.match(
        missing.err,
        /policy ConfigMap azureml\/aml-admission-policy \(key policy\.yaml\) not found; name the policy with --policy-configmap NS\/NAME or --policy FILE/,
      );

      fake.apply('configmaps', { metadata: { name: 'aml-admission-policy', namespace: 'azureml' }, data: { 'policy.yaml': 'computes: 5\n' } });
      const invalid = await runCli(['audit', '--kubeconfig', kubeconfig, '-A']);
      assert.equal(invalid.code, 4);
      assert.match(invalid.err, /policy ConfigMap azureml\/aml-admission-policy \(key policy\.yaml\) is invalid:/);
      assert.equal(fake.requestsFor('list', 'pods').length, 1, 'no pods are listed without a policy to judge them by');
    });

    // No API server at all: what happens without a kubeconfig.
    it('says that no kubeconfig was found, instead of trying an unauthenticated localhost', async () => {
      // A child process with an empty home and no KUBECONFIG: client-node's default chain finds nothing.
      const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'audit', '-A'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: dir },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, out }));
      });
      assert.equal(run.code, 5);
      assert.match(run.out, /no kubeconfig found: pass --kubeconfig, set KUBECONFIG, create ~\/\.kube\/config, or run in a pod/);
    });
  });

  // Fake: it counts open watches, so it shows that stopping the server closes every one.
  it('serve --kubeconfig --policy-configmap watches the ConfigMap, posts Events as this pod, and feeds the extender from informers', async () => {
    fake.apply('configmaps', { metadata: { name: 'aml-admission-policy', namespace: 'azureml' }, data: { 'policy.yaml': BUILTIN_POLICY_YAML } });
    const stops: ((signal: string) => Promise<void>)[] = [];
    const cli = buildCli({ out: () => undefined, err: () => undefined, env: { POD_NAME: 'aml-admission-7d9f-x2' }, onSignal: (h) => stops.push(h) });
    await cli.parseAsync([
      'node',
      'aml-admission',
      'serve',
      '--kubeconfig',
      kubeconfig,
      '--policy-configmap',
      'azureml/aml-admission-policy',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--certs-dir',
      join(dir, 'certs'),
      '--log-level',
      'silent',
      '--drain-delay',
      '0',
    ]);
    try {
      const [loaded] = await eventually(() => fake.list('events').length > 0 && fake.list('events'), 'the PolicyLoaded event');
      assert.equal(loaded!.reason, 'PolicyLoaded');
      assert.equal(loaded!.reportingInstance, 'aml-admission-7d9f-x2');
      assert.equal(fake.requestsFor('list', 'configmaps')[0]!.query.get('fieldSelector'), 'metadata.name=aml-admission-policy');
      await eventually(() => fake.openWatches('nodes') === 1 && fake.openWatches('pods') === 1, 'node and pod watches');
    } finally {
      for (const stop of stops) await stop('SIGTERM');
    }
    await fake.whenNoWatches('configmaps', 'nodes', 'pods'); // stopping closes every watch
  });

  it('refuses a --policy-configmap that is not NAMESPACE/NAME before starting anything', async () => {
    const run = await runCli(['serve', '--policy-configmap', 'just-a-name', '--port', '0']);
    assert.equal(run.code, 2);
    assert.match(run.err, /expected NAMESPACE\/NAME/);
  });
});
