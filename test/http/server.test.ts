import { X509Certificate } from 'node:crypto';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { secureOptions } from '../../src/http/server.js';
import { podReview } from '../helpers/admission.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/reviews/${name}`, import.meta.url), 'utf8');
const errorShape = (body: any, code: string) => {
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.doesNotMatch(body.error.message, /\n\s+at /, 'no stack trace');
};

describe('HTTPS admission server', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ bodyLimit: 64 * 1024 });
  });
  after(async () => s.stop());

  for (const [file, version] of [
    ['pod-create-v1.json', 'admission.k8s.io/v1'],
    ['pod-create-v1beta1.json', 'admission.k8s.io/v1beta1'],
  ] as const) {
    for (const path of ['/mutate', '/validate']) {
      it(`answers a ${version} review on ${path} in the same version with the uid echoed`, async () => {
        const sent = JSON.parse(fixture(file));
        const res = await s.post(`${path}?timeout=10s`, fixture(file));
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-type'], 'application/json');
        const body = res.json();
        assert.equal(body.apiVersion, version);
        assert.equal(body.kind, 'AdmissionReview');
        assert.equal(body.response.uid, sent.request.uid);
        assert.equal(typeof body.response.allowed, 'boolean');
      });
    }
  }

  for (const file of ['configmap-create-v1.json', 'pod-delete-v1.json']) {
    it(`allows ${file.replace('.json', '')} untouched`, async () => {
      const res = await s.post('/mutate', fixture(file));
      const body = res.json();
      assert.equal(res.status, 200);
      assert.equal(body.response.allowed, true);
      assert.equal(body.response.patch, undefined);
    });
  }

  it('allows a CONNECT review untouched', async () => {
    const review = podReview({}, { operation: 'CONNECT' });
    review.request.kind = { group: '', version: 'v1', kind: 'PodExecOptions' };
    review.request.subResource = 'exec';
    const res = await s.post('/validate', review);
    assert.equal(res.json().response.allowed, true);
  });

  const badRequests: { name: string; body: string; headers?: Record<string, string>; code: string }[] = [
    { name: 'a body that is not JSON', body: '{"apiVersion": ', code: 'InvalidJSON' },
    { name: 'a wrong content type', body: fixture('pod-create-v1.json'), headers: { 'content-type': 'text/plain' }, code: 'UnsupportedMediaType' },
    { name: 'an empty body', body: '', code: 'EmptyBody' },
    { name: 'a review without request', body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', code: 'InvalidReview' },
    {
      name: 'a review without uid',
      body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE', kind: { kind: 'Pod' } } }),
      code: 'InvalidReview',
    },
    { name: 'an unknown apiVersion', body: fixture('pod-create-v1.json').replace('admission.k8s.io/v1', 'admission.k8s.io/v9'), code: 'UnsupportedVersion' },
    { name: 'a JSON null', body: 'null', code: 'InvalidReview' },
  ];
  for (const t of badRequests) {
    for (const path of ['/mutate', '/validate']) {
      it(`answers 400 with the error shape for ${t.name} on ${path}`, async () => {
        const res = await s.post(path, t.body, t.headers);
        assert.equal(res.status, 400);
        errorShape(res.json(), t.code);
      });
    }
  }

  it('answers 413 before reading a body whose declared length is over the limit', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    const res = await s.post('/mutate', big);
    assert.equal(res.status, 413);
    errorShape(res.json(), 'BodyTooLarge');
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: s.port,
          method: 'POST',
          path: '/validate',
          ca: s.ca,
          agent: false,
          headers: { 'content-type': 'application/json' },
        },
        (r) => {
          let text = '';
          r.on('data', (c) => (text += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 80; i++) req.write('x'.repeat(1024));
      req.end();
    });
    assert.equal(answer.status, 413);
    errorShape(JSON.parse(answer.text), 'BodyTooLarge');
  });

  it('answers 405 with the error shape for GET on a webhook path', async () => {
    const res = await s.get('/mutate');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
    errorShape(res.json(), 'MethodNotAllowed');
  });

  it('answers 404 with the error shape for an unknown path', async () => {
    const res = await s.get('/nope');
    assert.equal(res.status, 404);
    errorShape(res.json(), 'NotFound');
  });

  it('reports liveness and readiness', async () => {
    assert.equal((await s.get('/healthz')).status, 200);
    const ready = await s.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json().status, 'ready');
  });

  it('counts requests by endpoint and decision, and rule results by rule, in /metrics', async () => {
    // Every series asserted below comes from a request made here, whatever ran before.
    await s.post('/validate', fixture('pod-create-v1.json'));
    await s.post('/mutate', fixture('pod-create-v1.json'));
    await s.post('/mutate', 'not json');
    const text = (await s.get('/metrics')).text;
    assert.match(
      text,
      /aml_admission_requests_total\{endpoint="\/validate",decision="denied",operation="CREATE",dry_run="false",compute="example-compute"\} \d+/,
    );
    assert.match(text, /aml_admission_requests_total\{endpoint="\/mutate",decision="bad_request"\} \d+/);
    assert.match(
      text,
      /aml_admission_request_duration_seconds_bucket\{le="0.005",endpoint="\/validate",operation="CREATE",dry_run="false",compute="example-compute"\}/,
    );
    assert.match(text, /aml_admission_certificate_expiry_timestamp_seconds\{certificate="serving"\} \d+/);
    const caEnd = Number(/aml_admission_certificate_expiry_timestamp_seconds\{certificate="ca"\} (\d+)/.exec(text)?.[1]);
    assert.equal(caEnd, new Date(new X509Certificate(s.ca).validTo).getTime() / 1000, "the end of the CA in the certificates folder's ca.crt");
    assert.match(
      text,
      /aml_admission_rule_results_total\{rule="gpu-tolerations",action="mutate",result="mutated",operation="CREATE",dry_run="false",compute="example-compute"\} \d+/,
    );
    assert.match(
      text,
      /aml_admission_rule_results_total\{rule="node-pool-targeting",action="deny",result="[a-z]+",operation="CREATE",dry_run="false",compute="example-compute"\} \d+/,
    );
  });

  it('logs one line per review with uid, kind, namespace, name, decision and latency', async () => {
    await s.post('/mutate', fixture('pod-create-v1.json'));
    const line = s.logs.lines.findLast((l) => l.msg === 'admission review' && l.endpoint === '/mutate');
    assert.ok(line);
    assert.equal(line.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(line.kind, 'Pod');
    assert.equal(line.namespace, 'azureml');
    assert.equal(line.name, 'train-worker-0');
    assert.equal(typeof line.decision, 'string');
    assert.equal(typeof line.latencyMs, 'number');
  });

  it('sets TLS 1.2 as the lowest version for the first certificate and every reloaded one', () => {
    assert.equal(secureOptions({ cert: Buffer.from(''), key: Buffer.from('') }).minVersion, 'TLSv1.2');
  });

  it('refuses TLS 1.1 and older', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port: s.port, ca: s.ca, servername: 'localhost', maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () =>
          resolve(sock),
        );
        sock.on('error', reject);
      }),
    );
  });
});
