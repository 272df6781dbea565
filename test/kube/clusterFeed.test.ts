import assert from 'node:assert/strict';
import { MemoryNodeCache } from '../../src/extender/cache.js';
import { kubeClients } from '../../src/kube/client.js';
import { ClusterInformers } from '../../src/kube/clusterFeed.js';
import { Informer } from '../../src/kube/informer.js';
import { createLogger } from '../../src/observability/logger.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { PolicyStore } from '../../src/policy/store.js';
import { eventually, FakeApiServer, type KubeObject } from '../helpers/fakeApiServer.js';
import { LogCapture, startTestServer, type TestServer } from '../helpers/server.js';
import { FAST_BACKOFF } from './support.js';

/** A Ready node of the built-in policy's GPU pool (agentpool=gpupool, tainted sku=gpu). */
function gpuNode(name: string, gpus: number): KubeObject {
  return {
    metadata: { name, labels: { agentpool: 'gpupool', 'kubernetes.io/hostname': name } },
    spec: { taints: [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }] },
    status: { allocatable: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': String(gpus) }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function cpuNode(name: string): KubeObject {
  return {
    metadata: { name, labels: { agentpool: 'cpupool' } },
    spec: {},
    status: { allocatable: { cpu: '8' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** A pod already running on `node` with `gpus` GPUs. */
function boundPod(name: string, node: string, gpus: number, phase = 'Running'): KubeObject {
  return {
    metadata: { name, namespace: 'team' },
    spec: { nodeName: node, containers: [{ name: 'train', image: 'trainer', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
    status: { phase },
  };
}

/** The pod being scheduled: an AML GPU pod as the mutating webhook leaves it. */
const pending = {
  metadata: { name: 'job-worker-0', namespace: 'azureml', labels: { 'ml.azure.com/compute': 'example-compute', 'ml.azure.com/instance-type': 'gpu-1' } },
  spec: {
    nodeSelector: { agentpool: 'gpupool' },
    tolerations: [{ key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    containers: [{ name: 'train', image: 'trainer', resources: { limits: { 'nvidia.com/gpu': '2' } } }],
  },
};

/**
 * The informers against the fake API server, for what a real one cannot show or do on demand:
 * the query the pod list sends, a 410 Gone, and a cache that throws. On a real API server (new
 * and deleted nodes, GPUs of bound pods, not ready while pods may not be listed): test/e2e/sources.e2e.ts.
 */
describe('node and pod informers feeding the scheduler extender', () => {
  let fake: FakeApiServer;
  let server: TestServer;
  let cache: MemoryNodeCache;

  async function start(): Promise<void> {
    server = await startTestServer({
      policy: new PolicyStore(builtinPolicy(), 'builtin'),
      nodeCache: cache,
      cluster: { kc: fake.kubeConfig(), instance: 'replica-0', backoff: FAST_BACKOFF },
    });
  }

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    cache = new MemoryNodeCache();
  });
  afterEach(async () => {
    await server?.stop();
    await fake.close();
  });

  async function filter(
    names: string[],
  ): Promise<{ NodeNames: string[]; FailedNodes: Record<string, string>; FailedAndUnresolvableNodes: Record<string, string>; Error: string }> {
    const res = await server.post('/scheduler/filter', { Pod: pending, Nodes: null, NodeNames: names });
    assert.equal(res.status, 200);
    return res.json();
  }
  const ready = async (): Promise<boolean> => (await server.get('/readyz')).status === 200;

  // Fake: it records the list request's field selector.
  it('asks the API server only for pods that are bound and not finished', async () => {
    fake.apply('nodes', gpuNode('gpu-a', 8));
    for (let i = 0; i < 7; i++) fake.apply('pods', boundPod(`p-${i}`, 'gpu-a', 1));
    await start();
    await eventually(ready, 'synced');

    const lists = fake.requestsFor('list', 'pods');
    assert.equal(lists.length, 1, 'one page: the default page size is larger than seven pods');
    assert.equal(lists[0]!.query.get('fieldSelector'), 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed');
    assert.equal(cache.used('gpu-a', 'nvidia.com/gpu'), 7);
  });

  // Fake: a 410 Gone on demand, and pods deleted while no watch was open.
  it('relists after a 410 Gone and forgets pods deleted while it was not watching', async () => {
    fake.apply('nodes', gpuNode('gpu-a', 4));
    fake.apply('pods', boundPod('busy', 'gpu-a', 4));
    await start();
    await eventually(ready, 'synced');
    await eventually(() => fake.openWatches('pods') === 1, 'the pod watch open');
    assert.equal(cache.used('gpu-a', 'nvidia.com/gpu'), 4);

    fake.dropWatches();
    fake.remove('pods', 'team', 'busy');
    fake.compact();

    await eventually(() => cache.used('gpu-a', 'nvidia.com/gpu') === 0, 'the deleted pod forgotten');
    assert.equal(fake.requestsFor('list', 'pods').length, 2);
    assert.deepEqual((await filter(['gpu-a'])).NodeNames, ['gpu-a']);
  });

  // Fake: the fault is a cache that throws, injected in-process (the e2e suite runs the server as its own process).
  it('keeps feeding the cache when the cache throws on one object, and logs it', async () => {
    fake.apply('nodes', gpuNode('gpu-a', 4));
    fake.apply('nodes', gpuNode('gpu-bad', 4));
    const logs = new LogCapture();
    const feed = {
      upsertNode: (n: unknown) => {
        if ((n as KubeObject).metadata.name === 'gpu-bad') throw new Error('refused');
        return cache.upsertNode(n);
      },
      deleteNode: (name: string) => cache.deleteNode(name),
      upsertPod: (p: unknown) => cache.upsertPod(p),
      deletePod: (ns: string, name: string) => cache.deletePod(ns, name),
    };
    const informers = new ClusterInformers({
      kc: fake.kubeConfig(),
      core: kubeClients(fake.kubeConfig()).core,
      feed,
      logger: createLogger({ destination: logs }),
      backoff: FAST_BACKOFF,
    });
    informers.start();
    try {
      await informers.synced;
      fake.apply('nodes', gpuNode('gpu-b', 4));
      await eventually(() => cache.node('gpu-b'), 'a node added after the refused one');
      assert.ok(cache.node('gpu-a'));
      assert.ok(logs.lines.some((l) => l.msg === 'the extender cache refused an object; skipped' && l.informer === 'nodes'));
    } finally {
      await informers.stop();
    }
  });

  it('watches nodes only when asked not to feed pods (the admission webhooks alone)', async () => {
    fake.apply('nodes', gpuNode('gpu-a', 4));
    fake.apply('pods', boundPod('busy', 'gpu-a', 4));
    const informers = new ClusterInformers({
      kc: fake.kubeConfig(),
      core: kubeClients(fake.kubeConfig()).core,
      feed: cache,
      pods: false,
      logger: createLogger({ destination: new LogCapture() }),
      backoff: FAST_BACKOFF,
    });
    informers.start();
    try {
      await informers.synced;
      assert.ok(cache.node('gpu-a'), 'nodes are fed');
      assert.equal(cache.used('gpu-a', 'nvidia.com/gpu'), 0, 'pods are not');
      assert.equal(fake.requestsFor('list', 'pods').length, 0, 'pods are never listed');
    } finally {
      await informers.stop();
    }
  });

  // Fake: the test holds the list open while it stops the informer, and counts open watches.
  it('opens no watch when it is stopped while its list is in flight', async () => {
    fake.apply('nodes', gpuNode('gpu-a', 4));
    const core = kubeClients(fake.kubeConfig()).core;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let listing!: () => void;
    const listStarted = new Promise<void>((resolve) => (listing = resolve));
    const informer = new Informer(
      {
        kc: fake.kubeConfig(),
        path: '/api/v1/nodes',
        list: async () => {
          listing();
          await held;
          return core.listNode();
        },
        backoff: FAST_BACKOFF,
      },
      { upsert: () => undefined, remove: () => undefined },
    );
    informer.start();
    await listStarted;

    const stopping = informer.stop();
    release();
    await stopping;

    await new Promise((r) => setTimeout(r, 300)); // time for a late watch to be opened
    assert.equal(fake.openWatches('nodes'), 0, 'no watch left open after stop()');
  });
});
