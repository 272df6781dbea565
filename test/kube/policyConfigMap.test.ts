import assert from 'node:assert/strict';
import { parseConfigMapRef, readConfigMapPolicy } from '../../src/kube/policyConfigMap.js';
import { BUILTIN_POLICY_YAML } from '../../src/policy/builtin.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { PolicyStore } from '../../src/policy/store.js';
import { eventually, FakeApiServer, type KubeObject } from '../helpers/fakeApiServer.js';
import { podReview } from '../helpers/admission.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { FAST_BACKOFF } from './support.js';

const NS = 'azureml';
const NAME = 'aml-admission-policy';

/** The built-in policy with its example compute renamed: which one is in force shows in the store. */
const policyFor = (compute: string): string => BUILTIN_POLICY_YAML.replace('example-compute:', `${compute}:`);
const INVALID = BUILTIN_POLICY_YAML.replace('defaultInstanceType: defaultinstancetype', 'defaultInstanceType: no-such-type');

function configMap(data: Record<string, string>): KubeObject {
  return { metadata: { name: NAME, namespace: NS }, data };
}

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
  const events = (reason: string): KubeObject[] => fake.list('events').filter((e) => e.reason === reason);
  const reloads = async (result: string): Promise<number> =>
    (await server.running.metrics.policyReloads.get()).values.find((v) => v.labels.source === 'configmap' && v.labels.result === result)?.value ?? 0;

  it('is not ready until the ConfigMap exists with a valid policy, then serves that policy', async () => {
    await start();
    const before = await server.get('/readyz');
    assert.equal(before.status, 503);
    assert.deepEqual(before.json().pending, ['policy-configmap']);

    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-a') }));

    await eventually(inForce('team-a'), 'the ConfigMap policy in force');
    assert.equal((await server.get('/readyz')).status, 200);
    const [loaded] = await eventually(() => events('PolicyLoaded').length > 0 && events('PolicyLoaded'), 'a PolicyLoaded event');
    assert.equal(loaded!.type, 'Normal');
    assert.equal(loaded!.involvedObject.name, NAME);
    assert.equal(loaded!.reportingInstance, 'replica-0');
  });

  it('applies a valid change to the ConfigMap without a restart', async () => {
    await start(policyFor('team-a'));
    await eventually(inForce('team-a'), 'the first policy');

    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-b') }));

    await eventually(inForce('team-b'), 'the changed policy');
    assert.deepEqual(computes(), ['team-b']);
    assert.equal(await reloads('success'), 2);
  });

  it('keeps the last good policy and keeps serving when the ConfigMap turns invalid, and says why in the log and a Warning Event', async () => {
    await start(policyFor('team-a'));
    await eventually(inForce('team-a'), 'the first policy');
    const generation = store.generation;

    fake.apply('configmaps', configMap({ 'policy.yaml': INVALID }));

    const [warning] = await eventually(() => events('InvalidPolicy').length > 0 && events('InvalidPolicy'), 'an InvalidPolicy event');
    assert.equal(warning!.type, 'Warning');
    assert.equal(warning!.involvedObject.kind, 'ConfigMap');
    assert.match(warning!.message, /last good policy stays in force: \/computes\/example-compute\/defaultInstanceType: instance type "no-such-type" is not defined/);
    assert.equal(store.generation, generation, 'the policy was not replaced');
    assert.deepEqual(computes(), ['team-a']);
    const logged = server.logs.lines.find((l) => l.msg === 'policy ConfigMap rejected; keeping the last good policy');
    assert.deepEqual(logged?.errors, [{ path: '/computes/example-compute/defaultInstanceType', message: 'instance type "no-such-type" is not defined in instanceTypes' }]);
    assert.equal(await reloads('failure'), 1);
    assert.equal((await server.get('/readyz')).status, 200, 'still ready: a good policy is in force');
    const answer = await server.post('/validate', podReview({ metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));
    assert.equal(answer.status, 200, 'reviews are still answered');

    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-c') }));
    await eventually(inForce('team-c'), 'the repaired policy');
  });

  const unusable: { name: string; given: Record<string, string>; want: RegExp }[] = [
    { name: 'an invalid policy', given: { 'policy.yaml': INVALID }, want: /defaultInstanceType/ },
    { name: 'no policy key', given: { 'other.yaml': policyFor('team-a') }, want: /the ConfigMap has no data key "policy\.yaml"/ },
    { name: 'text that is not YAML', given: { 'policy.yaml': 'computes: [\n' }, want: /YAML: / },
  ];
  for (const { name, given, want } of unusable) {
    it(`stays not ready and keeps the built-in policy when the first ConfigMap it sees holds ${name}`, async () => {
      await start();
      fake.apply('configmaps', configMap(given));

      const [warning] = await eventually(() => events('InvalidPolicy').length > 0 && events('InvalidPolicy'), 'an InvalidPolicy event');
      assert.match(warning!.message, want);
      assert.equal(store.source, 'builtin');
      assert.equal((await server.get('/readyz')).status, 503);
    });
  }

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

  it('reconnects with backoff when the connection is cut, and picks up what changed meanwhile', async () => {
    await start(policyFor('team-a'));
    await eventually(inForce('team-a'), 'the first policy');
    await eventually(() => fake.openWatches('configmaps') === 1, 'the watch open');

    fake.dropWatches({ abrupt: true });
    fake.apply('configmaps', configMap({ 'policy.yaml': policyFor('team-b') }));

    await eventually(inForce('team-b'), 'the change made while disconnected');
    assert.ok(server.logs.lines.some((l) => l.msg === 'policy ConfigMap watch failed; retrying'), 'the failure was logged');
  });

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
