import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { eventually, httpsCall, spawnServe, startTestServer, type TestServer } from '../helpers/server.js';
import { podReview } from '../helpers/admission.js';

const review = JSON.stringify(podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));

/** Opens `n` TCP connections that never start TLS; each resolves `closed` when the server closes it. */
async function silentClients(port: number, n: number): Promise<{ sockets: Socket[]; closed: Promise<void>[] }> {
  const sockets: Socket[] = [];
  const closed: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => {}); // a refused or reset connection is what some of these tests expect
    closed.push(once(socket, 'close').then(() => undefined));
    sockets.push(socket);
    await once(socket, 'connect').catch(() => {});
  }
  return { sockets, closed };
}

/** The listener's own count of open connections (node:net), handshaking or not. */
function openConnections(s: TestServer): Promise<number> {
  return new Promise((resolve, reject) => s.running.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

describe('connections', () => {
  it('destroys connections that never finish their TLS handshake, instead of leaving them open forever', async () => {
    const s = await startTestServer({ timeouts: { handshakeMs: 200 } });
    try {
      const { closed } = await silentClients(s.port, 20);
      // Each close is the server's doing: these clients never close on their own.
      await Promise.all(closed);
      await eventually(async () => (await openConnections(s)) === 0);
    } finally {
      await s.stop();
    }
  });

  it('destroys a connection answered 408 whose client never closes its side', async () => {
    const s = await startTestServer({ timeouts: { headersMs: 200, requestMs: 400, checkIntervalMs: 50 } });
    try {
      const halfOpen = { host: '127.0.0.1', port: s.port, ca: s.ca, servername: 'localhost', allowHalfOpen: true }; // node:tls honours it; its typings lack it
      const sock = tlsConnect(halfOpen);
      await once(sock, 'secureConnect');
      let received = '';
      sock.on('data', (d: Buffer) => (received += d.toString()));
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\n');
      await once(sock, 'end');
      assert.match(received, /^HTTP\/1\.1 408/);
      // The client keeps its side open; the server must not keep its descriptor for it.
      await eventually(async () => (await openConnections(s)) === 0);
      sock.destroy();
    } finally {
      await s.stop();
    }
  });

  it('closes the longest-waiting handshake when the handshake limit is reached, so new clients get in', async () => {
    const s = await startTestServer({ limits: { maxHandshakes: 8 } });
    try {
      const { sockets, closed } = await silentClients(s.port, 20);
      // The first 12 were pushed out by the 8 that came after them.
      await Promise.all(closed.slice(0, 12));
      assert.equal(s.running.server.connectionCounts().handshaking, 8);
      const res = await httpsCall({ port: s.port, ca: s.ca, method: 'POST', path: '/validate', body: review, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200);
      const metrics = (await s.get('/metrics')).text;
      const refused = Number(/aml_admission_connections_refused_total\{reason="max-handshakes"\} (\d+)/.exec(metrics)?.[1]);
      assert.ok(refused >= 12, `refused ${refused}`);
      for (const socket of sockets) socket.destroy();
    } finally {
      await s.stop();
    }
  });

  it('closes connections beyond --max-connections on accept', async () => {
    const s = await startTestServer({ limits: { maxConnections: 5 } });
    try {
      const { sockets, closed } = await silentClients(s.port, 8);
      await Promise.all(closed.slice(5));
      assert.equal(await openConnections(s), 5);
      for (const socket of sockets) socket.destroy();
    } finally {
      await s.stop();
    }
  });

  it('under a 256-descriptor limit keeps answering while 400 clients never finish a handshake, and drains on SIGTERM within its timeout', async function () {
    this.timeout(60_000);
    const p = await spawnServe(['--components', 'admission', '--drain-delay', '0', '--drain-timeout', '1s'], { nofile: 256 });
    try {
      const { sockets } = await silentClients(p.port, 400);
      for (const path of ['/validate', '/mutate']) {
        const res = await httpsCall({ port: p.port, ca: p.ca, method: 'POST', path, body: review, headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 200, path);
      }
      assert.equal((await httpsCall({ port: p.port, ca: p.ca, method: 'GET', path: '/healthz' })).status, 200);
      // The silent clients are still there (the handshake timeout is 10 s); the drain timeout ends them.
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
      for (const socket of sockets) socket.destroy();
    } finally {
      await p.cleanup();
    }
  });
});
