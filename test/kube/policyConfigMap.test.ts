import assert from 'node:assert/strict';
import { parseConfigMapRef, readConfigMapPolicy } from '../../src/kube/policyConfigMap.js';
import { BUILTIN_POLICY_YAML } from '../../src/policy/builtin.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { PolicyStore } from '../../src/policy/store.js';
import { eventually, FakeApiServer, type KubeObject } from '../helpers/fakeApiServer.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { FAST_BACKOFF } from './support.js';

const NS = 'azureml';
const NAME = 'aml-admission-policy';

/** The built-in policy with its example compute renamed: which one is in force shows in the store. */
const policyFor = (compute: string): string => BUILTIN_POLICY_YAML.replace('example-compute:', `${compute}:`);

function configMap(data: Record<string, string>): KubeObject {
  return { metadata: { name: NAME, namespace: NS }, data };
}

/**
 * The ConfigMap watch against the fake API server, for the transport faults a real one does not
 * produce on demand: a watch closed by the server, a cut connection, a 410 Gone. What users see on
 * a healthy cluster (not ready until the ConfigMap exists, live edits, an invalid edit refused with
 * a Warning Event, a delete, unusable first ConfigMaps) is tested on a real API server in
 * test/e2e/sources.e2e.ts.
 */
describe('policy from a ConfigMap, while serving', () => {
  let fake: FakeApiServer;
  let server: TestServer;
  let store: PolicyStore;

  async function start(initial?: string): Promise<void> {
    fake = await FakeApiServer.start();
    if (initial !== undefined) fake.apply('configmaps', configMap({ 'policy.yaml': initial }));
    store = new PolicyStore(builtinPolicy(), 'builtin');
    server = await startTestServer({
      policy: store,
      cluster: { kc: fake.kubeConfig(), policyConfigMap: { namespace: NS, name: NAME, key: 'policy.yaml' }, instance: 'replica-0', backoff: FAST_BACKOFF },
    });
  }

  afterEach(async () => {
    await server?.stop();
    await fake?.close();
  });

  const computes = (): string[] => Object.keys(store.current().policy.computes);
  const inForce = (compute: string) => () => computes().includes(compute) && store.source === 'configmap';

  // Fake: the API server ends the watch on demand, and the requests show no second list.
  it('resumes the watch from its last resourceVersion when the API server closes it, without listing again', async () => {
    await start(policyFor('team-a'));
    await eventually(inForce('team-a'), 'the first policy');
    await eventually(() => fake.openWatches('configmaps') === 1, 'the watch open');
    const seen = fake.get('configmaps', NS, NAME)!.metadata.resourceVersion;

    fake.dropWatches();
    await eventually(() => fake.requestsFor('watch', 'configmaps').length === 2, 'a second watch');
    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-b') }));

    await eventually(inForce('team-b'), 'the change made after the drop');
    assert.equal(fake.requestsFor('watch', 'configmaps')[1]!.query.get('resourceVersion'), seen);
    assert.equal(fake.requestsFor('list', 'configmaps').length, 1);
  });

  // Fake: the connection is cut on demand.
  it('reconnects with backoff when the connection is cut, and picks up what changed meanwhile', async () => {
    await start(policyFor('team-a'));
    await eventually(inForce('team-a'), 'the first policy');
    await eventually(() => fake.openWatches('configmaps') === 1, 'the watch open');

    fake.dropWatches({ abrupt: true });
    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-b') }));

    await eventually(inForce('team-b'), 'the change made while disconnected');
    assert.ok(
      server.logs.lines.some((l) => l.msg === 'policy ConfigMap watch failed; retrying'),
      'the failure was logged',
    );
  });

  // Fake: a 410 Gone on demand (a real one needs etcd compaction).
  it('lists again when the version it resumes from is too old (410 Gone), and picks up what changed meanwhile', async () => {
    await start(policyFor('team-a'));
    await eventually(inForce('team-a'), 'the first policy');
    await eventually(() => fake.openWatches('configmaps') === 1, 'the watch open');

    // All in one tick, before the client can reconnect: drop, change, compact the history.
    fake.dropWatches();
    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-b') }));
    fake.compact();

    await eventually(inForce('team-b'), 'the change, seen through a new list');
    assert.equal(fake.requestsFor('list', 'configmaps').length, 2);
  });
});

describe('ConfigMap policy parsing', () => {
  const refs: { name: string; given: string; want: { namespace: string; name: string } | RegExp }[] = [
    { name: 'a namespace and a name', given: 'azureml/aml-admission-policy', want: { namespace: 'azureml', name: 'aml-admission-policy' } },
    { name: 'a name alone', given: 'aml-admission-policy', want: /expected NAMESPACE\/NAME/ },
    { name: 'an extra segment', given: 'a/b/c', want: /expected NAMESPACE\/NAME/ },
    { name: 'an upper-case namespace', given: 'AzureML/policy', want: /expected NAMESPACE\/NAME/ },
  ];
  for (const { name, given, want } of refs) {
    it(`reads --policy-configmap given ${name}`, () => {
      if (want instanceof RegExp) assert.throws(() => parseConfigMapRef(given), want);
      else assert.deepEqual(parseConfigMapRef(given), { ...want, key: 'policy.yaml' });
    });
  }

  it('gives the same digest to the same text, so a relist does not reload or post events again', () => {
    const a = readConfigMapPolicy({ data: { 'policy.yaml': policyFor('x') } }, 'policy.yaml');
    const b = readConfigMapPolicy({ data: { 'policy.yaml': policyFor('x'), other: 'changed' } }, 'policy.yaml');
    assert.equal(a.loaded.ok, true);
    assert.equal(a.digest, b.digest);
  });
});
