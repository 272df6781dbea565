import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { kubeClients } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { FakeApiServer } from '../helpers/fakeApiServer.js';

describe('informer', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await FakeApiServer.start();
  });
  afterEach(async () => fake.close());

  it('Stopped while its watch request is in flight, closes that watch as soon as it opens.', async () => {
    const kc = fake.kubeConfig();
    const { core } = kubeClients(kc);
    const informer = new Informer<V1ConfigMap>(
      { kc, path: '/api/v1/namespaces/azureml/configmaps', list: () => core.listNamespacedConfigMap({ namespace: 'azureml' }) },
      { upsert: () => undefined, remove: () => undefined },
    );
    const stopped = new Promise<void>((resolve) => fake.before({ verb: 'watch', resource: 'configmaps' }, () => void informer.stop().then(resolve)));
    informer.start();
    await stopped;
    await fake.whenNoWatches('configmaps');
    assert.equal(fake.requestsFor('watch', 'configmaps').length, 1, 'and it opens no other');
  });
});
