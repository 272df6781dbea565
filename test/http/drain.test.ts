import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { once } from 'node:events';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { eventually, startTestServer, type TestServer } from '../helpers/server.js';
import { podReview } from '../helpers/admission.js';

const review = JSON.stringify(podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));

type Outcome = { kind: 'answered'; connection: string | undefined } | { kind: 'not-connected'; code: string } | { kind: 'failed'; code: string };

/**
 * One POST /validate. A request is `failed` when it was sent on an established connection (a
 * reused keep-alive one, or a new one whose TLS handshake completed) and got no answer; an error
 * before that is `not-connected`: the listener was closed, and in a cluster the Service would
 * have sent that connection to another replica.
 */
function validate(s: TestServer, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    let established = false;
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: s.port,
        method: 'POST',
        path: '/validate',
        ca: s.ca,
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 200 ? { kind: 'answered', connection: res.headers.connection } : { kind: 'failed', code: `HTTP ${res.statusCode}` }),
        );
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'failed', code: err.code ?? err.message }));
      },
    );
    req.on('socket', (socket: TLSSocket) => {
      if (req.reusedSocket) established = true;
      else socket.once('secureConnect', () => (established = true));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ kind: established ? 'failed' : 'not-connected', code: err.code ?? err.message }));
    req.end(review);
  });
}

describe('graceful drain', () => {
  it('fails no request under load: answers carry connection: close from SIGTERM on, and requests in flight when the listener closes are answered', async function () {
    this.timeout(60_000);
    const s = await startTestServer({ drain: { delayMs: 500, timeoutMs: 20_000 } });
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const failed: string[] = [];
    let answered = 0;
    let closing = 0;
    let draining = false;
    let loaded: () => void;
    const warm = new Promise<void>((r) => (loaded = r));
    // 32 keep-alive connections, each sending its next request as soon as the last is answered.
    const client = async () => {
      for (;;) {
        const outcome = await validate(s, agent);
        if (outcome.kind === 'not-connected') return;
        if (outcome.kind === 'failed') {
          failed.push(outcome.code);
          return;
        }
        answered++;
        if (draining && outcome.connection === 'close') closing++;
        if (answered === 500) loaded();
      }
    };
    try {
      const clients = Array.from({ length: 32 }, client);
      await warm;
      draining = true;
      const stopped = s.running.stop(); // what SIGTERM runs
      await Promise.all(clients);
      await stopped;
      assert.deepEqual(failed, [], `${failed.length} requests failed after ${answered} answered`);
      assert.ok(closing > 0, 'answers during the drain carry connection: close');
    } finally {
      agent.destroy();
      await s.stop();
    }
  });

  it('closes keep-alive connections left idle after the delay instead of waiting for the drain timeout', async function () {
    this.timeout(60_000);
    const s = await startTestServer({ drain: { delayMs: 100, timeoutMs: 30_000, quietMs: 200 } });
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const first = await Promise.all([validate(s, agent), validate(s, agent), validate(s, agent)]);
      assert.deepEqual(
        first.map((o) => o.kind),
        ['answered', 'answered', 'answered'],
      );
      const idle = Object.values(agent.freeSockets).flat();
      assert.equal(idle.length, 3, 'three idle keep-alive connections');
      const closed = idle.map((socket) => new Promise((r) => socket!.once('close', r)));
      await s.running.stop();
      await Promise.all(closed);
      assert.ok(!s.logs.lines.some((l) => l.msg === 'drain timeout reached; closing remaining connections'));
    } finally {
      agent.destroy();
      await s.stop();
    }
  });

  it('destroys a connection still busy at the drain timeout, and stops', async function () {
    this.timeout(60_000);
    const s = await startTestServer({ drain: { delayMs: 0, timeoutMs: 300 } });
    try {
      const sock = tlsConnect({ host: '127.0.0.1', port: s.port, ca: s.ca, servername: 'localhost' });
      await once(sock, 'secureConnect');
      // Headers and part of a body: a request in flight that never completes.
      sock.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      await eventually(() => s.running.server.connectionCounts().open === 1);
      const closed = once(sock, 'close');
      await s.running.stop();
      await closed;
      assert.ok(s.logs.lines.some((l) => l.msg === 'drain timeout reached; closing remaining connections'));
    } finally {
      await s.stop();
    }
  });
});
