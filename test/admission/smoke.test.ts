import assert from 'node:assert/strict';
import { podReview, startTestServer, type TestServer } from '../helpers/server.js';

describe('smoke', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(async () => s.stop());

  it('answers a v1 review over HTTPS trusting only the generated CA', async () => {
    const res = await s.post('/mutate', podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));
    assert.equal(res.status, 200);
    assert.equal(res.json().response.uid, '0df28fbd-5f5f-11e8-bc74-36e6bb280816');
  });
});
