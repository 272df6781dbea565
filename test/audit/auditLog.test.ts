import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { auditLogger, auditObserver, createAuditLog } from '../../src/observability/audit.js';
import { AuditFile } from '../../src/observability/auditFile.js';
import { PolicyStore } from '../../src/policy/store.js';
import { review } from '../../src/admission/webhook.js';
import { admissionWebhooks } from '../../src/rules/webhooks.js';
import { podReview, policyFrom } from '../helpers/admission.js';
import { httpsCall, LogCapture, spawnServe, startTestServer, type TestServer } from '../helpers/server.js';
import { amlTolerations, GPU_TOLERATIONS, pod, POLICY_YAML, testPolicy } from '../rules/validation/helpers.js';

const SECRET_ENV = 'sk-live-9f8e7d6c5b4a39281706';
const SECRET_ANNOTATION = 'AccountKey=c2VjcmV0LWJsb2Ita2V5LTAxMjM0NTY3ODk=';

const goodPod = pod({
  compute: 'gpu-compute',
  instanceType: 'gpu-1',
  gpus: '1',
  nodeSelector: { agentpool: 'gpupool' },
  tolerations: [...GPU_TOLERATIONS, ...amlTolerations('gpu-compute')],
});
const gpuOnCpu = pod({ compute: 'gpu-compute', gpus: '1', nodeSelector: { agentpool: 'cpupool' } });
/** A pod carrying secret-looking values in env and in an annotation the mutating webhook reads. */
const secretPod = pod({
  compute: 'gpu-compute',
  instanceType: 'gpu-1',
  env: [{ name: 'OPENAI_API_KEY', value: SECRET_ENV }],
  annotations: {
    'ml.azure.com/blobfuse-mounts': JSON.stringify([
      { name: 'data', container: 'c', mountPath: '/data', secretName: 'blob-creds', mountOptions: SECRET_ANNOTATION },
    ]),
  },
});

const FIELDS = [
  'level',
  'time',
  'service',
  'log',
  'uid',
  'endpoint',
  'operation',
  'kind',
  'namespace',
  'name',
  'username',
  'groups',
  'compute',
  'outcomes',
  'patch',
  'decision',
  'latencyMs',
  'dryRun',
  'msg',
];

function assertRecordShape(line: Record<string, unknown>): void {
  for (const f of FIELDS) if (f !== 'compute') assert.ok(Object.hasOwn(line, f), `field ${f} is present`);
  assert.equal(line.log, 'audit');
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(typeof line.latencyMs, 'number');
  for (const o of line.outcomes as Record<string, unknown>[]) {
    assert.deepEqual(
      Object.keys(o).filter((k) => k !== 'message'),
      ['ruleId', 'action', 'result'],
    );
  }
  for (const op of line.patch as Record<string, unknown>[]) assert.deepEqual(Object.keys(op), ['op', 'path'], 'patch ops carry no values');
  assert.equal(line.object, undefined);
  assert.equal(line.oldObject, undefined);
}

describe('audit log', () => {
  describe('read from an in-memory stream', () => {
    let s: TestServer;
    const lines = new LogCapture();
    const store = new PolicyStore(testPolicy({ 'resource-claims': { enforcementAction: 'warn' }, 'reserved-pools': { enforcementAction: 'audit' } }), 'file');
    before(async () => {
      s = await startTestServer({ policy: store, observers: [auditObserver([auditLogger(lines)])] });
    });
    after(async () => s.stop());
    const last = () => lines.lines.at(-1)!;

    const cases: {
      name: string;
      given: { path: string; pod: object; opts?: Parameters<typeof podReview>[1] };
      want: { allowed: boolean; code?: number; warnings?: RegExp; decision: string; fails: Record<string, string>; dryRun?: boolean };
    }[] = [
      {
        name: 'A denied pod answers 403 with every failed rule and logs one line with each rule’s outcome.',
        given: { path: '/validate', pod: gpuOnCpu, opts: { uid: 'uid-denied', namespace: 'azureml', username: 'mallory', groups: ['g1'] } },
        want: { allowed: false, code: 403, decision: 'denied', fails: { 'node-pool-targeting': 'deny', 'identity-claims': 'deny' } },
      },
      {
        name: 'A rule at warn allows the pod with a warning and logs the failure with action warn.',
        given: {
          path: '/validate',
          pod: { ...goodPod, spec: { ...goodPod.spec, volumes: [{ name: 'x', persistentVolumeClaim: { claimName: 'other' } }] } },
          opts: { uid: 'uid-warn', namespace: 'azureml' },
        },
        want: { allowed: true, warnings: /^\[resource-claims\] PVC other not allowed/, decision: 'allowed', fails: { 'resource-claims': 'warn' } },
      },
      {
        name: 'A rule at audit allows the pod silently and logs the failure with action audit.',
        given: { path: '/validate', pod: pod({ nodeSelector: { agentpool: 'a100' } }), opts: { uid: 'uid-audit', namespace: 'default' } },
        want: { allowed: true, decision: 'allowed', fails: { 'reserved-pools': 'audit' } },
      },
      {
        name: 'A dryRun request gets the same decision and a record marked dryRun: true.',
        given: { path: '/validate', pod: gpuOnCpu, opts: { uid: 'uid-dry', namespace: 'azureml', username: 'mallory', dryRun: true } },
        want: { allowed: false, code: 403, decision: 'denied', fails: { 'node-pool-targeting': 'deny', 'identity-claims': 'deny' }, dryRun: true },
      },
      {
        name: 'A mutation logs the patch operations’ paths and the mutating rules’ outcomes.',
        given: { path: '/mutate', pod: pod({ compute: 'gpu-compute', instanceType: 'gpu-1' }), opts: { uid: 'uid-mutate', namespace: 'azureml' } },
        want: { allowed: true, decision: 'patched', fails: {} },
      },
    ];

    for (const t of cases) {
      it(t.name, async () => {
        const before = lines.lines.length;
        const res = await s.post(t.given.path, podReview(t.given.pod, t.given.opts));
        const response = res.json().response;
        assert.equal(response.allowed, t.want.allowed);
        if (t.want.code) assert.equal(response.status.code, t.want.code);
        if (t.want.warnings) assert.match(response.warnings[0], t.want.warnings);
        else if (t.given.path === '/validate') assert.equal(response.warnings, undefined);

        assert.equal(lines.lines.length, before + 1, 'one line per decision');
        const line = last();
        assertRecordShape(line);
        assert.equal(line.uid, t.given.opts!.uid);
        assert.equal(line.endpoint, t.given.path);
        assert.equal(line.operation, 'CREATE');
        assert.equal(line.kind, 'Pod');
        assert.equal(line.namespace, t.given.opts!.namespace);
        assert.equal(line.name, 'p');
        assert.equal(line.username, t.given.opts!.username ?? 'alice@contoso.com');
        assert.deepEqual(line.groups, t.given.opts!.groups ?? ['system:authenticated']);
        assert.equal(line.decision, t.want.decision);
        assert.equal(line.dryRun, t.want.dryRun ?? false);
        const outcomes = line.outcomes as { ruleId: string; action: string; result: string }[];
        const failed = Object.fromEntries(outcomes.filter((o) => o.result === 'fail').map((o) => [o.ruleId, o.action]));
        assert.deepEqual(failed, t.want.fails);
        if (t.given.path === '/validate') {
          assert.equal(outcomes.length, 5, 'every validating rule has an outcome');
          if (!t.want.allowed) assert.equal(line.code, t.want.code);
        } else {
          assert.ok((line.patch as { path: string }[]).some((op) => op.path === '/spec/nodeSelector'));
          assert.ok(outcomes.some((o) => o.ruleId === 'instance-type' && o.result === 'mutated'));
        }
      });
    }

    it('Names the compute, instance type and reachable pools of an AML pod and leaves them out for other pods.', async () => {
      await s.post('/validate', podReview(goodPod, { uid: 'uid-compute' }));
      assert.deepEqual([last().compute, last().instanceType, last().pools], ['gpu-compute', 'gpu-1', ['gpupool']]);
      await s.post('/validate', podReview(pod(), { uid: 'uid-plain' }));
      assert.deepEqual([last().compute, last().instanceType, last().pools], [undefined, undefined, undefined]);
    });

    it('Describes a decision with the policy that made it, even when a reload lands before the line is written.', () => {
      const reloading = new PolicyStore(testPolicy(), 'file');
      const [, validate] = admissionWebhooks(() => reloading.current());
      const outcome = review(validate!, podReview(goodPod, { uid: 'uid-reload' }));
      reloading.replace(
        policyFrom(POLICY_YAML, (d) => (d.keys = { computeLabel: 'example.com/compute' })),
        'file',
      );
      const captured = new LogCapture();
      auditObserver([auditLogger(captured)])(outcome, '/validate', 1);
      assert.equal(captured.lines[0]?.compute, 'gpu-compute');
    });

    it('Never logs env values, annotation contents or patch values of a pod carrying secrets.', async () => {
      const before = lines.lines.length;
      for (const path of ['/mutate', '/validate']) {
        const res = await s.post(path, podReview(secretPod, { uid: `uid-secret${path.replace('/', '-')}` }));
        assert.equal(res.status, 200);
      }
      // The server's own log (LogCapture of the test server) must not carry them either.
      const text = JSON.stringify(lines.lines.slice(before)) + JSON.stringify(s.logs.lines);
      assert.equal(lines.lines.length, before + 2);
      assert.ok(!text.includes(SECRET_ENV), 'env value never logged');
      assert.ok(!text.includes(SECRET_ANNOTATION), 'annotation content never logged');
      assert.ok(!text.includes('OPENAI_API_KEY'), 'env names are not logged either (the object is never logged)');
      assert.ok(!text.includes('"value"'), 'no patch values');
    });
  });

  it('Writes the audit line before the answer, so a crash right after answering cannot lose it.', async () => {
    const store = new PolicyStore(testPolicy(), 'file');
    let answeredFirst: boolean | undefined;
    let current: ServerResponse | undefined;
    const sink = auditLogger(new LogCapture());
    const s = await startTestServer({
      policy: store,
      observers: [auditObserver([sink]), () => (answeredFirst = current!.headersSent)],
    });
    s.running.server.server.on('request', (_req: IncomingMessage, res: ServerResponse) => (current = res));
    try {
      const res = await s.post('/validate', podReview(goodPod, { uid: 'order', namespace: 'azureml' }));
      assert.equal(res.status, 200);
      assert.equal(answeredFirst, false, 'the observers ran before the answer was written');
    } finally {
      await s.stop();
    }
  });

  describe('appended to a file', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'aml-audit-'));
    });
    afterEach(async () => rm(dir, { recursive: true, force: true }));
    const readLines = async (file: string) =>
      (await readFile(file, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);

    it('Appends one line per decision after what the file already held, with every field.', async () => {
      const path = join(dir, 'sub', 'audit.log');
      const file = new AuditFile(path, { checkMs: 0 });
      const s = await startTestServer({ policy: new PolicyStore(testPolicy(), 'file'), observers: [auditObserver([auditLogger(file)])] });
      try {
        await s.post('/validate', podReview(goodPod, { uid: 'file-1', namespace: 'azureml' }));
        await s.post('/validate', podReview(gpuOnCpu, { uid: 'file-2', namespace: 'azureml', dryRun: true }));
        await s.post('/mutate', podReview(secretPod, { uid: 'file-3', namespace: 'azureml' }));
      } finally {
        await s.stop();
        file.close();
      }
      const first = await readLines(path);
      assert.deepEqual(
        first.map((l) => [l.uid, l.endpoint, l.decision, l.dryRun]),
        [
          ['file-1', '/validate', 'allowed', false],
          ['file-2', '/validate', 'denied', true],
          ['file-3', '/mutate', 'patched', false],
        ],
      );
      first.forEach(assertRecordShape);
      assert.ok(!(await readFile(path, 'utf8')).includes(SECRET_ENV));

      const again = new AuditFile(path, { checkMs: 0 });
      auditObserver([auditLogger(again)])({ ...fakeOutcome('file-4') }, '/validate', 1.5);
      again.close();
      assert.deepEqual(
        (await readLines(path)).map((l) => l.uid),
        ['file-1', 'file-2', 'file-3', 'file-4'],
      );
    });

    it('Reopens the path after log rotation renames the file, losing no line.', async () => {
      const path = join(dir, 'audit.log');
      const file = new AuditFile(path, { checkMs: 0 });
      const observe = auditObserver([auditLogger(file)]);
      observe(fakeOutcome('before-rotation'), '/validate', 1);
      await rename(path, `${path}.1`);
      observe(fakeOutcome('during-rotation'), '/validate', 1);
      assert.equal(file.checkRotation(), true);
      assert.equal(file.checkRotation(), false, 'nothing to do once reopened');
      observe(fakeOutcome('after-rotation'), '/validate', 1);
      file.close();
      assert.deepEqual(
        (await readLines(`${path}.1`)).map((l) => l.uid),
        ['before-rotation', 'during-rotation'],
      );
      assert.deepEqual(
        (await readLines(path)).map((l) => l.uid),
        ['after-rotation'],
      );
    });

    it('Writes to the process log and the file with createAuditLog, whatever the log level.', async () => {
      const path = join(dir, 'audit.log');
      const stdout = new LogCapture();
      const audit = createAuditLog({ destination: stdout, level: 'warn', file: path });
      audit.observer(fakeOutcome('both'), '/validate', 1);
      audit.close();
      assert.deepEqual(
        (await readLines(path)).map((l) => l.uid),
        ['both'],
      );
      assert.equal(stdout.lines.length, 0, 'the process log follows --log-level');
      const info = new LogCapture();
      const audit2 = createAuditLog({ destination: info, level: 'info' });
      audit2.observer(fakeOutcome('stdout'), '/validate', 1);
      audit2.close();
      assert.equal(info.lines[0]?.uid, 'stdout');
      assert.equal(info.lines[0]?.log, 'audit');
    });

    it('Keeps every line when the server gets SIGTERM right after answering (spawned serve --audit-log).', async () => {
      const path = join(dir, 'audit.log');
      await writeFile(path, '');
      const p = await spawnServe(['--drain-delay', '0', '--components', 'admission', '--audit-log', path]);
      try {
        const uids = ['sigterm-1', 'sigterm-2', 'sigterm-3'];
        await Promise.all(
          uids.map((uid) =>
            httpsCall({
              port: p.port,
              ca: p.ca,
              method: 'POST',
              path: '/validate',
              body: JSON.stringify(podReview(pod({ compute: 'example-compute' }), { uid })),
              headers: { 'content-type': 'application/json' },
            }),
          ),
        );
        p.child.kill('SIGTERM');
        assert.equal(await p.exited, 0);
        assert.deepEqual((await readLines(path)).map((l) => l.uid).sort(), uids);
      } finally {
        await p.cleanup();
      }
    });

    it('Has a line for every answered decision when the server is killed with SIGKILL mid-load.', async function () {
      this.timeout(120_000);
      const path = join(dir, 'audit.log');
      const p = await spawnServe(['--drain-delay', '0', '--components', 'admission', '--audit-log', path]);
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      try {
        const answered = await loadUntilKilled(p.port, p.ca, agent, () => p.child.kill('SIGKILL'), 'kill');
        await p.exited;
        const written = new Set((await readLines(path)).map((l) => l.uid));
        assert.deepEqual(
          answered.filter((uid) => !written.has(uid)),
          [],
          'answered but not in the audit file',
        );
      } finally {
        agent.destroy();
        await p.cleanup();
      }
    });
  });
});

/**
 * Keeps 16 /validate requests in flight and calls `kill` the moment the 200th answer's status line
 * arrives; resolves with the uids answered until then (the killing one included).
 */
function loadUntilKilled(port: number, ca: Buffer, agent: Agent, kill: () => void, tag: string): Promise<string[]> {
  const answered: string[] = [];
  let seq = 0;
  let killed = false;
  return new Promise((resolve) => {
    const next = () => {
      if (killed) return;
      const uid = `${tag}-${seq++}`;
      const req = request(
        { host: '127.0.0.1', servername: 'localhost', port, method: 'POST', path: '/validate', ca, agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          if (killed) return;
          answered.push(uid);
          if (answered.length === 200) {
            killed = true;
            kill();
            resolve(answered);
            return;
          }
          res.resume();
          res.on('end', next);
        },
      );
      req.on('error', () => {}); // requests in flight at the kill
      req.end(JSON.stringify(podReview(pod({ compute: 'example-compute' }), { uid })));
    };
    for (let i = 0; i < 16; i++) next();
  });
}

/** A minimal answered review, for driving the observer without a server. */
function fakeOutcome(uid: string) {
  return {
    apiVersion: 'admission.k8s.io/v1' as const,
    facts: {},
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE' as const,
      namespace: 'azureml',
      name: 'p',
      userInfo: { username: 'alice', groups: [], extra: {} },
      object: goodPod,
      oldObject: null,
      dryRun: false,
    },
    verdict: { kind: 'allowed' as const, warnings: [], auditAnnotations: {}, outcomes: [] },
    payload: '{}',
  };
}
