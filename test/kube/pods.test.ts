import assert from 'node:assert/strict';
import { kubeClients } from '../../src/kube/client.js';
import { listPods } from '../../src/kube/pods.js';
import { FakeApiServer } from '../helpers/fakeApiServer.js';

/**
 * Paging against the fake API server: it records each list request (limit, continue token) and
 * expires a continue token on demand (410). A real one shows neither; audit of a live namespace
 * is in test/e2e/sources.e2e.ts.
 */
describe('listing pods in pages', () => {
  let fake: FakeApiServer;
  beforeEach(async () => {
    fake = await FakeApiServer.start();
    for (const ns of ['alpha', 'beta']) {
      for (let i = 0; i < (ns === 'alpha' ? 4 : 3); i++)
        fake.apply('pods', { metadata: { name: `pod-${i}`, namespace: ns }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    }
  });
  afterEach(() => fake.close());

  const names = (pods: { metadata?: { namespace?: string; name?: string } }[]) => pods.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);

  const cases: { name: string; given: { namespace?: string; pageSize: number }; want: { pods: number; requests: number; path: string } }[] = [
    { name: 'reads every namespace page by page, following continue tokens', given: { pageSize: 3 }, want: { pods: 7, requests: 3, path: '/api/v1/pods' } },
    { name: 'reads one namespace when asked', given: { namespace: 'beta', pageSize: 2 }, want: { pods: 3, requests: 2, path: '/api/v1/namespaces/beta/pods' } },
    { name: 'needs one request when a page holds everything', given: { pageSize: 500 }, want: { pods: 7, requests: 1, path: '/api/v1/pods' } },
  ];
  for (const { name, given, want } of cases) {
    it(name, async () => {
      const { items } = await listPods(kubeClients(fake.kubeConfig()).core, given);
      assert.equal(items.length, want.pods);
      assert.equal(new Set(names(items)).size, want.pods, 'no pod twice');
      const lists = fake.requestsFor('list', 'pods');
      assert.equal(lists.length, want.requests);
      assert.ok(lists.every((r) => r.path === want.path && r.query.get('limit') === String(given.pageSize)));
      assert.ok(
        lists.slice(1).every((r) => r.query.get('continue')),
        'later pages carry the continue token',
      );
    });
  }

  /** Etcd compaction past the list's snapshot: a write, then the history before it is gone. */
  const compactPast = (): void => {
    fake.apply('pods', { metadata: { name: `late-${fake.requests.length}`, namespace: 'alpha' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    fake.compact();
  };

  it('starts over once when the continue token expires mid-way (410), and returns each pod once', async () => {
    fake.before({ verb: 'list', resource: 'pods', withQuery: 'continue' }, compactPast);

    const { items } = await listPods(kubeClients(fake.kubeConfig()).core, { pageSize: 3 });

    assert.equal(items.length, 8, 'the seven pods and the one written before the compaction');
    assert.equal(new Set(names(items)).size, 8);
    const lists = fake.requestsFor('list', 'pods');
    assert.equal(lists.length, 5, 'page 1, an expired page 2, then pages 1-3 again');
    assert.equal(lists[2]!.query.get('continue'), null, 'the retry starts from the beginning');
  });

  it('fails with the API error when the token expires again', async () => {
    const expireEveryLaterPage = (): void =>
      fake.before({ verb: 'list', resource: 'pods', withQuery: 'continue' }, () => {
        compactPast();
        expireEveryLaterPage();
      });
    expireEveryLaterPage();

    await assert.rejects(listPods(kubeClients(fake.kubeConfig()).core, { pageSize: 3 }), /HTTP-Code: 410/);
    assert.equal(fake.requestsFor('list', 'pods').length, 4, 'two tries of two pages each');
  });
});
