import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { kubeClients } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { Metrics, requestLabels } from '../../src/observability/metrics.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { policyDigest } from '../../src/policy/digest.js';
import { PolicyStore } from '../../src/policy/store.js';
import { parse, stringify } from 'yaml';
import { podRequest, podReview, policyFrom } from '../helpers/admission.js';
import { TEST_POLICY_YAML } from '../rules/mutation/helpers.js';
import { FakeApiServer } from '../helpers/fakeApiServer.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/reviews/${name}`, import.meta.url), 'utf8')) as Record<string, any>;
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The value of one series, found by its labels (all of them, so a series with more labels does not match). */
async function value(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = metric?.values.find((v) => JSON.stringify(Object.entries(v.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  return found?.value;
}

async function series(metrics: Metrics, name: string): Promise<Record<string, string | number>[]> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).map((v) => v.labels as Record<string, string | number>);
}

function httpGet(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics', () => {
  describe('request labels', () => {
    const defined = (c: string) => c === 'example-compute';
    it('Are the operation, dry_run as true/false, and the compute when the policy defines it.', () => {
      assert.deepEqual(requestLabels(podRequest({}, { operation: 'UPDATE', dryRun: true }), 'example-compute', defined), {
        operation: 'UPDATE',
        dry_run: 'true',
        compute: 'example-compute',
      });
    });
    it('Name a compute the policy does not define "other" (a label value per typo would be unbounded), and no compute "none".', () => {
      assert.equal(requestLabels(podRequest({}), 'typo-compute', defined).compute, 'other');
      assert.equal(requestLabels(podRequest({}), undefined, defined).compute, 'none');
      assert.equal(requestLabels(podRequest({}), undefined, defined).dry_run, 'false');
    });
  });

  describe('in the server', () => {
    let s: TestServer;
    let metrics: Metrics;
    let store: PolicyStore;
    beforeEach(async () => {
      metrics = new Metrics({ defaultMetrics: false });
      store = new PolicyStore(builtinPolicy(), 'builtin');
      s = await startTestServer({ metrics, policy: store, metricsPort: 0 });
    });
    afterEach(async () => s.stop());

    it('Label admission reviews by operation, dry_run and compute: a dry run, another compute, a non-AML pod.', async () => {
      const review = fixture('pod-create-v1.json');
      const pod = review.request.object;
      await s.post('/validate', podReview(pod, { dryRun: true }));
      const other = structuredClone(pod);
      other.metadata.labels['ml.azure.com/compute'] = 'no-such-compute';
      await s.post('/validate', podReview(other));
      await s.post(
        '/mutate',
        podReview({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }),
      );
      const requests = await series(metrics, 'aml_admission_requests_total');
      assert.ok(requests.some((l) => l.endpoint === '/validate' && l.dry_run === 'true' && l.operation === 'CREATE' && l.compute === 'example-compute'));
      assert.ok(requests.some((l) => l.endpoint === '/validate' && l.dry_run === 'false' && l.compute === 'other'));
      assert.ok(requests.some((l) => l.endpoint === '/mutate' && l.compute === 'none'));
      assert.ok(!requests.some((l) => l.compute === 'no-such-compute'), 'a compute the policy lacks is never a label value');
      const rules = await series(metrics, 'aml_admission_rule_results_total');
      assert.ok(
        rules.some((l) => l.dry_run === 'true' && l.compute === 'example-compute'),
        'rule results carry the labels too',
      );
      const latency = await series(metrics, 'aml_admission_request_duration_seconds');
      assert.ok(latency.some((l) => l.endpoint === '/validate' && l.dry_run === 'true' && l.compute === 'example-compute'));
    });

    it('Report the build (version from package.json, Node version) and the digest of the policy in force, replaced on reload.', async () => {
      assert.equal(await value(metrics, 'aml_admission_build_info', { version: pkg.version, node_version: process.version }), 1);
      assert.deepEqual(await series(metrics, 'aml_admission_policy_info'), [{ digest: policyDigest(builtinPolicy()) }]);
      const next = policyFrom(TEST_POLICY_YAML);
      store.replace(next, 'file');
      assert.deepEqual(await series(metrics, 'aml_admission_policy_info'), [{ digest: policyDigest(next) }], 'one series, the new digest');
      assert.notEqual(policyDigest(next), policyDigest(builtinPolicy()));
      assert.match(policyDigest(next), /^[0-9a-f]{64}$/);
    });

    it('Report the extender cache size.', async () => {
      const sizes = await series(metrics, 'aml_admission_extender_cache_objects');
      assert.deepEqual(sizes.map((l) => l.kind).sort(), ['nodes', 'pods']);
    });

    it('Serve /metrics, and nothing else, on the plain-HTTP metrics port.', async () => {
      const port = s.running.metricsPort!;
      const scraped = await httpGet(port, '/metrics');
      assert.equal(scraped.status, 200);
      assert.match(scraped.type, /^text\/plain/);
      assert.match(scraped.text, /^aml_admission_build_info\{/m);
      for (const path of ['/mutate', '/validate', '/scheduler/filter', '/healthz', '/']) {
        const other = await httpGet(port, path, path === '/healthz' || path === '/' ? 'GET' : 'POST');
        assert.equal(other.status, 404, path);
        assert.equal(JSON.parse(other.text).error.code, 'NotFound');
      }
      assert.equal((await httpGet(port, '/metrics', 'POST')).status, 405);
    });
  });

  it('A policy digest ignores key order and counts defaults as written: the same policy, the same digest.', () => {
    const a = policyFrom(TEST_POLICY_YAML);
    // The same document with its top-level keys reversed and a comment.
    const reordered = parse(TEST_POLICY_YAML) as Record<string, unknown>;
    const b = policyFrom(`# a comment\n${stringify(Object.fromEntries(Object.entries(reordered).reverse()))}`);
    assert.equal(policyDigest(a), policyDigest(b));
    assert.notEqual(policyDigest(a), policyDigest(builtinPolicy()));
  });

  describe('informer restarts', () => {
    let fake: FakeApiServer;
    beforeEach(async () => (fake = await FakeApiServer.start()));
    afterEach(async () => fake.close());

    it('Are counted by resource, once per restart after a failed list.', async () => {
      const metrics = new Metrics({ defaultMetrics: false });
      const kc = fake.kubeConfig();
      const { core } = kubeClients(kc);
      fake.failNext({ verb: 'list', resource: 'configmaps' }, 503, 2);
      const informer = new Informer<V1ConfigMap>(
        {
          kc,
          path: '/api/v1/namespaces/azureml/configmaps',
          list: () => core.listNamespacedConfigMap({ namespace: 'azureml' }),
          backoff: { initialMs: 1, maxMs: 5 },
          metrics,
        },
        { upsert: () => undefined, remove: () => undefined },
      );
      informer.start();
      await informer.synced;
      await informer.stop();
      assert.equal(await value(metrics, 'aml_admission_informer_restarts_total', { resource: 'configmaps' }), 2);
    });
  });
});
