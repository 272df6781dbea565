import assert from 'node:assert/strict';
import { Agent } from 'node:https';
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
});
