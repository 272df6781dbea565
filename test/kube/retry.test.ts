import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { Backoff, withRetry } from '../../src/kube/retry.js';

const status = (code: number) => new ApiException(code, 'x', JSON.stringify({ kind: 'Status', code, message: `status ${code}` }), {});

describe('Backoff', () => {
  const cases: { name: string; given: { random: number; calls: number }; want: number[] }[] = [
    { name: 'doubles from the initial delay with the smallest jitter', given: { random: 0, calls: 4 }, want: [50, 100, 200, 400] },
    { name: 'doubles up to the full ceiling with the largest jitter', given: { random: 0.999999, calls: 4 }, want: [100, 200, 400, 800] },
    { name: 'never waits longer than the maximum', given: { random: 0.999999, calls: 7 }, want: [100, 200, 400, 800, 1000, 1000, 1000] },
  ];
  for (const { name, given, want } of cases) {
    it(name, () => {
      const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => given.random });
      assert.deepEqual(
        Array.from({ length: given.calls }, () => b.next()),
        want,
      );
    });
  }

  it('starts again from the initial delay after a reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    b.next();
    b.next();
    b.reset();
    assert.equal(b.next(), 50);
  });
});

describe('withRetry', () => {
  const cases: { name: string; given: { errors: unknown[] }; want: { calls: number; result: 'ok' | RegExp } }[] = [
    { name: 'retries 503 and 429 answers until the call succeeds', given: { errors: [status(503), status(429)] }, want: { calls: 3, result: 'ok' } },
    {
      name: 'retries network errors that carry no HTTP status',
      given: { errors: [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })] },
      want: { calls: 2, result: 'ok' },
    },
    { name: 'does not retry a 403', given: { errors: [status(403)] }, want: { calls: 1, result: /HTTP-Code: 403/ } },
    { name: 'does not retry a 409', given: { errors: [status(409)] }, want: { calls: 1, result: /HTTP-Code: 409/ } },
    {
      name: 'stops after the last attempt with the last error',
      given: { errors: [status(500), status(502), status(504)] },
      want: { calls: 3, result: /HTTP-Code: 504/ },
    },
  ];
  for (const { name, given, want } of cases) {
    it(name, async () => {
      let calls = 0;
      const slept: number[] = [];
      const run = withRetry(
        async () => {
          const err = given.errors[calls++];
          if (err) throw err;
          return 'ok';
        },
        { attempts: 3, backoff: { initialMs: 10, maxMs: 100, random: () => 0 }, sleep: async (ms) => void slept.push(ms) },
      );
      if (want.result === 'ok') assert.equal(await run, 'ok');
      else await assert.rejects(run, want.result);
      assert.equal(calls, want.calls);
      assert.deepEqual(slept, [5, 10].slice(0, want.calls - 1), 'backs off between attempts');
    });
  }
});
