import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/server.js';

const base = JSON.parse(readFileSync(new URL('../fixtures/reviews/pod-create-v1.json', import.meta.url), 'utf8'));

/** Replaces the value at a random path of `obj` with `value` (or deletes it when value is undefined). */
function mutateAt(obj: unknown, path: readonly number[], value: unknown): unknown {
  if (path.length === 0 || obj === null || typeof obj !== 'object') return value;
  const copy: any = Array.isArray(obj) ? [...obj] : { ...(obj as object) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  const next = mutateAt(copy[key], path.slice(1), value);
  if (next === undefined) delete copy[key];
  else copy[key] = next;
  return copy;
}

const anyJson = fc.jsonValue({ maxDepth: 4 });
const mutatedReview = fc
  .tuple(
    fc.array(fc.nat(50), { minLength: 1, maxLength: 6 }),
    fc.oneof(anyJson, fc.constant(undefined)),
    fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'),
  )
  .map(([path, value, version]) => JSON.stringify(mutateAt({ ...base, apiVersion: version }, path, value)));
const randomBody = fc.oneof(
  anyJson.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  mutatedReview,
  mutatedReview.map((s) => s.slice(0, Math.max(1, Math.floor(s.length / 2)))),
);

function checkAnswer(status: number, text: string): void {
  const body = JSON.parse(text);
  if (status === 200) {
    assert.match(body.apiVersion, /^admission\.k8s\.io\/v1(beta1)?$/);
    assert.equal(body.kind, 'AdmissionReview');
    assert.equal(typeof body.response.uid, 'string');
    assert.equal(typeof body.response.allowed, 'boolean');
  } else {
    assert.ok(status === 400 || status === 413, `unexpected status ${status}: ${text}`);
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(typeof body.error.code, 'string');
    assert.equal(typeof body.error.message, 'string');
    assert.doesNotMatch(text, /\bat .*\.(ts|js):\d+/, 'no stack trace');
  }
}

describe('property: random and mutated AdmissionReviews', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ bodyLimit: 16 * 1024 });
  });
  after(async () => s.stop());

  for (const path of ['/mutate', '/validate']) {
    it(`${path} answers 200 with a valid review or 400/413 with the error shape, and keeps answering`, async () => {
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(randomBody, async (body) => {
          const res = await s.post(path, body);
          seen.add(res.status);
          checkAnswer(res.status, res.text);
        }),
        { numRuns: 200 },
      );
      // The generator must reach both the decoder's happy path and its refusals.
      assert.ok(seen.has(200) && seen.has(400), `statuses seen: ${[...seen].join(',')}`);
      const health = await s.get('/healthz');
      assert.equal(health.status, 200);
      const good = await s.post(path, base);
      assert.equal(good.status, 200);
      assert.equal(good.json().response.uid, base.request.uid);
    });
  }

  it('answers 413 for bodies over the limit whatever they contain', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 16 * 1024 + 1, maxLength: 20 * 1024 }), async (body) => {
        const res = await s.post('/validate', body);
        assert.equal(res.status, 413);
        checkAnswer(res.status, res.text);
      }),
      { numRuns: 10 },
    );
  });
});
