import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Agent } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { eventually, httpsCall, spawnServe, type ServeProcess } from '../helpers/server.js';
import { podReview } from '../helpers/admission.js';

const CONNECTIONS = 8;

/** `rounds` rounds of CONNECTIONS concurrent /validate calls on one keep-alive pool; returns the uids sent. */
async function load(p: ServeProcess, agent: Agent, rounds: number, tag: string): Promise<string[]> {
  const uids: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const batch = Array.from({ length: CONNECTIONS }, (_, i) => `${tag}-${r}-${i}`);
    const answers = await Promise.all(
      batch.map((uid) =>
        httpsCall({
          port: p.port,
          ca: p.ca,
          agent,
          method: 'POST',
          path: '/validate',
          body: JSON.stringify(podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }, { uid })),
          headers: { 'content-type': 'application/json' },
        }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      batch.map(() => 200),
    );
    uids.push(...batch);
  }
  return uids;
}

/** The worker (pid) that logged each review, from the debug line every review writes. */
function servedBy(p: ServeProcess, uids: readonly string[]): Map<string, number> {
  const want = new Set(uids);
  return new Map(p.lines.filter((l) => l.msg === 'admission review' && want.has(l.uid as string)).map((l) => [l.uid as string, l.pid as number]));
}

describe('serve --workers', () => {
  it('moves keep-alive connections back to a replaced worker (connections end after --max-requests-per-connection)', async function () {
    this.timeout(120_000);
    const p = await spawnServe(
      ['--workers', '2', '--components', 'admission', '--log-level', 'debug', '--drain-delay', '0', '--max-requests-per-connection', '20'],
      { listeners: 2 },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    try {
      const listening = () => p.lines.filter((l) => l.msg === 'listening').map((l) => l.pid as number);
      const [doomed, survivor] = listening();
      process.kill(doomed!, 'SIGKILL');
      await eventually(() => p.lines.some((l) => l.msg === 'worker exited; starting another'));
      // While the replacement starts, the whole pool connects to the surviving worker.
      const before = servedBy(p, await load(p, agent, 2, 'before'));
      assert.deepEqual(new Set(before.values()), new Set([survivor]));
      await eventually(() => listening().length === 3, 60_000);
      const replacement = listening()[2]!;

      const uids = await load(p, agent, 50, 'after');
      await eventually(() => servedBy(p, uids).size === uids.length);
      const served = servedBy(p, uids);
      const late = uids.slice(uids.length / 2).map((uid) => served.get(uid));
      const share = late.filter((pid) => pid === replacement).length / late.length;
      assert.ok(share >= 0.1, `the replacement served ${Math.round(share * 100)}% of the last ${late.length} requests`);
    } finally {
      agent.destroy();
      await p.cleanup();
    }
  });

  it("--metrics-port: the primary serves every worker's metrics aggregated (counters summed, build info not)", async function () {
    this.timeout(120_000);
    const metricsPort = await freePort();
    const p = await spawnServe(['--workers', '2', '--components', 'admission', '--log-level', 'debug', '--metrics-port', String(metricsPort)], {
      listeners: 2,
    });
    try {
      // One connection per request: node:cluster hands new connections to the workers in turn.
      const uids = Array.from({ length: 10 }, (_, i) => `agg-${i}`);
      for (const uid of uids) {
        const body = JSON.stringify(podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }, { uid }));
        const res = await httpsCall({ port: p.port, ca: p.ca, method: 'POST', path: '/validate', body, headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 200);
      }
      await eventually(() => servedBy(p, uids).size === uids.length);
      assert.equal(new Set(servedBy(p, uids).values()).size, 2, 'both workers served some');
      const text = await plainGet(metricsPort, '/metrics');
      const count = [...text.matchAll(/^aml_admission_requests_total\{endpoint="\/validate",[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(count, uids.length, "every worker's requests, once");
      assert.match(text, /^aml_admission_build_info\{[^}]*\} 1$/m, 'a gauge that is 1 in every worker stays 1');
    } finally {
      await p.cleanup();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function plainGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}
