import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyStore } from '../../src/policy/store.js';
import { Component } from '../../src/serve.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { clusterCache, fixtureJson, fixtureText, N, pod, testPolicy } from '../extender/fixtures.js';

const FILTER = '/scheduler/filter';
const PRIORITIZE = '/scheduler/prioritize';

const errorShape = (body: any, code: string) => {
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.doesNotMatch(body.error.message, /\n\s+at /, 'no stack trace');
};

describe('scheduler extender over HTTPS', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ policy: new PolicyStore(testPolicy(), 'file'), nodeCache: clusterCache(), bodyLimit: 64 * 1024 });
  });
  after(async () => s.stop());

  const fixtures: { name: string; given: { path: string; args: string }; want: string }[] = [
    {
      name: 'filters a GPU training pod against cached nodes (NodeNames mode)',
      given: { path: FILTER, args: 'filter-nodenames-gpu.json' },
      want: 'filter-nodenames-gpu.want.json',
    },
    {
      name: 'filters a CPU pod against full Node objects (Nodes mode)',
      given: { path: FILTER, args: 'filter-nodes-cpu.json' },
      want: 'filter-nodes-cpu.want.json',
    },
    {
      name: 'scores the cached nodes for a GPU training pod',
      given: { path: PRIORITIZE, args: 'filter-nodenames-gpu.json' },
      want: 'prioritize-nodenames-gpu.want.json',
    },
  ];
  for (const t of fixtures) {
    it(`${t.name} and answers the exact result JSON`, async () => {
      const res = await s.post(`${t.given.path}`, fixtureText(t.given.args));
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(res.json(), fixtureJson(t.want));
    });
  }

  it('answers malformed ExtenderArgs on filter with HTTP 200 and Error set', async () => {
    const res = await s.post(FILTER, { Pod: pod(), NodeNames: 'aks-cpupool-12345678-vmss000000' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), {
      Nodes: null,
      NodeNames: null,
      FailedNodes: {},
      FailedAndUnresolvableNodes: {},
      Error: 'ExtenderArgs.NodeNames must be a list of node names',
    });
  });

  it('answers malformed ExtenderArgs on prioritize with HTTP 200 and no scores', async () => {
    const res = await s.post(PRIORITIZE, { Nodes: { items: [] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), []);
    const warn = s.logs.lines.find((l) => l.msg === 'malformed extender arguments' && l.endpoint === PRIORITIZE);
    assert.equal(warn?.reason, 'ExtenderArgs.Pod must be a Pod object');
  });

  const badRequests: { name: string; body: string; headers?: Record<string, string>; status: number; code: string }[] = [
    { name: 'a body that is not JSON', body: '{"Pod": ', status: 400, code: 'InvalidJSON' },
    {
      name: 'a wrong content type',
      body: fixtureText('filter-nodenames-gpu.json'),
      headers: { 'content-type': 'text/plain' },
      status: 400,
      code: 'UnsupportedMediaType',
    },
    { name: 'an empty body', body: '', status: 400, code: 'EmptyBody' },
    {
      name: 'a body over the limit',
      body: JSON.stringify({ Pod: pod(), NodeNames: Array.from({ length: 5000 }, (_, i) => `aks-nodepool-${i}`) }),
      status: 413,
      code: 'BodyTooLarge',
    },
  ];
  for (const t of badRequests) {
    for (const path of [FILTER, PRIORITIZE]) {
      it(`answers ${t.status} with the error shape for ${t.name} on ${path}`, async () => {
        const res = await s.post(path, t.body, t.headers);
        assert.equal(res.status, t.status);
        errorShape(res.json(), t.code);
      });
    }
  }

  it('accepts POST only', async () => {
    const res = await s.get(FILTER);
    assert.equal(res.status, 405);
    errorShape(res.json(), 'MethodNotAllowed');
  });

  it('ignores the query string the scheduler may append', async () => {
    const res = await s.post(`${FILTER}?timeout=5s`, { Pod: pod(), NodeNames: [N.cpu0] });
    assert.deepEqual(res.json().NodeNames, [N.cpu0]);
  });

  it('counts requests by endpoint and decision in /metrics', async () => {
    await s.post(FILTER, { Pod: pod({ compute: 'ghost' }), NodeNames: [N.cpu0] });
    const text = (await s.get('/metrics')).text;
    const count = (endpoint: string, decision: string) => {
      const m = new RegExp(`aml_admission_requests_total\\{endpoint="${endpoint.replace(/\//g, '\\/')}",decision="${decision}"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    assert.ok(count(FILTER, 'fit') >= 2);
    assert.ok(count(FILTER, 'no_fit') >= 1);
    assert.ok(count(FILTER, 'error') >= 1);
    assert.ok(count(PRIORITIZE, 'scored') >= 1);
    assert.ok(count(FILTER, 'bad_request') >= 4);
    assert.match(text, /aml_admission_request_duration_seconds_count\{endpoint="\/scheduler\/prioritize"\} \d+/);
  });
});

describe('scheduler extender wiring', () => {
  it('is not served when --components leaves it out', async () => {
    const s = await startTestServer({ components: [Component.Admission] });
    try {
      const res = await s.post(FILTER, { Pod: pod(), NodeNames: [N.cpu0] });
      assert.equal(res.status, 404);
    } finally {
      await s.stop();
    }
  });

  it('schedules against an --extender-state file and picks up changes to it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'extender-state-'));
    const file = join(dir, 'state.yaml');
    await writeFile(file, fixtureText('cluster.yaml'));
    const s = await startTestServer({ policy: new PolicyStore(testPolicy(), 'file'), extenderState: file });
    try {
      const args = { Pod: pod({ compute: 'gpu-cluster', gpus: 4, tolerateGpu: true }), NodeNames: [N.gpu4Used] };
      assert.deepEqual((await s.post(FILTER, args)).json().NodeNames, [N.gpu4Used]);
      // A second document binds another 4-GPU pod to gpu4Used, which then has 8 of 8 in use.
      const extra = pod({ name: 'late-arrival-0', compute: 'gpu-cluster', gpus: 4, tolerateGpu: true });
      extra.spec.nodeName = N.gpu4Used;
      extra.status.phase = 'Running';
      await writeFile(file, `${fixtureText('cluster.yaml')}---\n${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...extra })}\n`);
      for (;;) {
        const result = (await s.post(FILTER, args)).json();
        if (result.NodeNames.length === 0) {
          assert.deepEqual(result.FailedNodes, { [N.gpu4Used]: 'fewer than 4 nvidia.com/gpu free on the node' });
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(s.logs.lines.some((l) => l.msg === 'extender state loaded' && l.nodes === 9 && l.pods === 8));
    } finally {
      await s.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with an --extender-state file that is not YAML, naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'extender-state-'));
    const file = join(dir, 'state.yaml');
    await writeFile(file, 'items: [unclosed');
    try {
      await assert.rejects(startTestServer({ extenderState: file }), (err: Error) => err.message.startsWith(`--extender-state ${file}: document 1:`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
