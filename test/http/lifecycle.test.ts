import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import { createCA, createServingCertificate, issueCertificate } from '../../src/tls/certs.js';
import { writeServing } from '../../src/tls/files.js';
import { podReview } from '../helpers/admission.js';
import { eventually, httpsCall, startTestServer } from '../helpers/server.js';

const review = JSON.stringify(podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));

describe('server lifecycle', () => {
  /** Opens a raw TLS connection, sends `head`, then one byte every 100 ms when `drip`; resolves with all it received once the server closes. */
  async function slowClient(head: string, drip: boolean): Promise<string> {
    const s = await startTestServer({ timeouts: { headersMs: 300, requestMs: 600, checkIntervalMs: 50 } });
    try {
      const sock = connect({ host: '127.0.0.1', port: s.port, ca: s.ca, servername: 'localhost' });
      await once(sock, 'secureConnect');
      sock.write(head);
      let received = '';
      sock.on('data', (d: Buffer) => (received += d.toString()));
      const timer = drip ? setInterval(() => sock.writable && sock.write(' '), 100) : undefined;
      await once(sock, 'close');
      clearInterval(timer);
      return received;
    } finally {
      await s.stop();
    }
  }

  it('cuts off a client that never finishes sending its headers', async () => {
    const received = await slowClient('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n', false);
    assert.match(received, /^HTTP\/1\.1 408/);
    assert.match(received, /"code":"RequestTimeout"/);
  });

  it('cuts off a client that sends headers but trickles its body past the request timeout', async () => {
    const received = await slowClient('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{', true);
    assert.match(received, /^HTTP\/1\.1 408/);
  });

  it('keeps idle keep-alive connections open longer than the API server’s 90 s pool', async () => {
    const s = await startTestServer();
    try {
      assert.ok(s.running.server.server.keepAliveTimeout > 90_000);
    } finally {
      await s.stop();
    }
  });

  /** Serves from certificate files in a temp dir (so a test can replace them), with the first certificate written. */
  async function withCertFiles(
    fn: (dir: string, first: ReturnType<typeof createServingCertificate>, s: Awaited<ReturnType<typeof startTestServer>>) => Promise<void>,
  ): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'aml-reload-'));
    try {
      const first = createServingCertificate({ service: 'aml-admission', namespace: 'azureml' });
      await writeServing(dir, first);
      const s = await startTestServer({ tlsCert: join(dir, 'tls.crt'), tlsKey: join(dir, 'tls.key') });
      try {
        await fn(dir, first, s);
      } finally {
        await s.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('picks up a replaced certificate on new connections without dropping open ones', () =>
    withCertFiles(async (dir, first, s) => {
      const oldCa = Buffer.from(first.caPem);
      const kept = new Agent({ keepAlive: true, maxSockets: 1, ca: oldCa });
      const call = (ca: Buffer, agent?: Agent) =>
        httpsCall({
          port: s.port,
          ca,
          method: 'POST',
          path: '/validate',
          body: review,
          headers: { 'content-type': 'application/json' },
          ...(agent ? { agent } : {}),
        });
      assert.equal((await call(oldCa, kept)).status, 200);

      const second = createServingCertificate({ service: 'aml-admission', namespace: 'azureml' });
      await writeServing(dir, second);
      const newCa = Buffer.from(second.caPem);
      await eventually(async () => (await call(newCa)).status === 200);
      await assert.rejects(call(oldCa), /self-signed|unable to verify|certificate/i);
      // The connection opened before the swap is still served.
      assert.equal((await call(oldCa, kept)).status, 200);
      kept.destroy();
      assert.ok(s.logs.lines.some((l) => l.msg === 'serving certificate reloaded'));
    }));

  it('keeps the previous certificate when the replacement is broken', () =>
    withCertFiles(async (dir, first, s) => {
      await writeFile(join(dir, 'tls.key'), 'not a key');
      await eventually(async () => s.logs.lines.some((l) => l.msg === 'serving certificate reload failed; keeping the previous one'));
      const res = await httpsCall({ port: s.port, ca: Buffer.from(first.caPem), method: 'GET', path: '/healthz' });
      assert.equal(res.status, 200);
    }));

  describe('with --client-ca (mutual TLS)', () => {
    const clientCa = createCA({ commonName: 'apiserver-client-ca' });
    const client = issueCertificate(clientCa, { commonName: 'kube-apiserver', usage: 'client' });
    const stranger = issueCertificate(createCA({ commonName: 'other' }), { commonName: 'intruder', usage: 'client' });

    async function withServer(fn: (port: number, ca: Buffer) => Promise<void>) {
      const dir = await mkdtemp(join(tmpdir(), 'aml-mtls-'));
      await writeFile(join(dir, 'client-ca.crt'), clientCa.certPem);
      const s = await startTestServer({ clientCa: join(dir, 'client-ca.crt') });
      try {
        await fn(s.port, s.ca);
      } finally {
        await s.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }

    it('serves a client that presents a certificate from the client CA', () =>
      withServer(async (port, ca) => {
        const res = await httpsCall({
          port,
          ca,
          method: 'POST',
          path: '/mutate',
          body: review,
          headers: { 'content-type': 'application/json' },
          cert: Buffer.from(client.certPem),
          key: Buffer.from(client.keyPem),
        });
        assert.equal(res.status, 200);
      }));

    it('picks up a replaced client CA file for new connections', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'aml-mtls-'));
      const caFile = join(dir, 'client-ca.crt');
      await writeFile(caFile, clientCa.certPem);
      const s = await startTestServer({ clientCa: caFile });
      const call = (creds: { certPem: string; keyPem: string }) =>
        httpsCall({ port: s.port, ca: s.ca, method: 'GET', path: '/healthz', cert: Buffer.from(creds.certPem), key: Buffer.from(creds.keyPem) });
      try {
        assert.equal((await call(client)).status, 200);
        const nextCa = createCA({ commonName: 'apiserver-client-ca-2' });
        const nextClient = issueCertificate(nextCa, { commonName: 'kube-apiserver', usage: 'client' });
        await writeFile(caFile, nextCa.certPem);
        await eventually(async () => (await call(nextClient)).status === 200);
        await assert.rejects(call(client));
      } finally {
        await s.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });

    for (const [name, creds] of [
      ['no certificate', undefined],
      ['a certificate from another CA', stranger],
    ] as const) {
      it(`refuses a client with ${name} at the TLS layer`, () =>
        withServer(async (port, ca) => {
          await assert.rejects(
            httpsCall({ port, ca, method: 'GET', path: '/healthz', ...(creds ? { cert: Buffer.from(creds.certPem), key: Buffer.from(creds.keyPem) } : {}) }),
            (err: NodeJS.ErrnoException) => /certificate|alert|socket hang up|ECONNRESET/i.test(`${err.code} ${err.message}`),
          );
        }));
    }
  });

  it('reports not ready on /readyz as soon as draining begins', async () => {
    const s = await startTestServer({ drain: { delayMs: 300, timeoutMs: 5000 } });
    const stopped = s.running.stop();
    assert.equal(s.running.readiness.ready, false);
    const ready = await s.get('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.json().pending, ['not-draining']);
    await stopped;
    await s.stop();
  });

  it('on SIGTERM completes an in-flight request, then exits 0', async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(join(tmpdir(), 'aml-drain-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--certs-dir', dir, '--drain-delay', '200ms', '--drain-timeout', '10s'],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout! });
      let port = 0;
      for await (const line of lines) {
        const rec = JSON.parse(line) as { msg: string; port?: number };
        if (rec.msg === 'listening') {
          port = rec.port!;
          break;
        }
      }
      const ca = await readFile(join(dir, 'ca.crt'));
      const body = Buffer.from(review);
      const answer = new Promise<{ status: number; text: string; connection: string | undefined }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            servername: 'localhost',
            port,
            method: 'POST',
            path: '/mutate',
            ca,
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': body.length },
          },
          (r) => {
            let text = '';
            r.on('data', (c) => (text += c));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, text, connection: r.headers.connection }));
          },
        );
        req.on('error', reject);
        req.write(body.subarray(0, 10));
        // Send the rest only after the server has begun draining.
        setTimeout(() => {
          child.kill('SIGTERM');
          setTimeout(() => req.end(body.subarray(10)), 400);
        }, 100);
      });
      const res = await answer;
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.text).response.allowed, true);
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with --workers 2 serves from two processes on one port and stops them all on SIGTERM', async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(join(tmpdir(), 'aml-workers-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'serve', '--workers', '2', '--host', '127.0.0.1', '--port', '0', '--certs-dir', dir, '--drain-delay', '0'],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const log: string[] = [];
      const listening: { pid: number; port: number }[] = [];
      await new Promise<void>((resolve) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          log.push(line);
          const rec = JSON.parse(line) as { msg: string; port: number; pid: number };
          if (rec.msg === 'listening') listening.push(rec);
          if (listening.length === 2) resolve();
        });
      });
      assert.equal(new Set(listening.map((l) => l.pid)).size, 2, 'two worker processes');
      assert.equal(listening[0]!.port, listening[1]!.port, 'one shared port');
      const ca = await readFile(join(dir, 'ca.crt'));
      const res = await httpsCall({
        port: listening[0]!.port,
        ca,
        method: 'POST',
        path: '/mutate',
        body: review,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'close')) as [number | null];
      assert.equal(code, 0);
      assert.ok(log.some((l) => l.includes('all workers stopped')));
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
