import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditFile, DAY_MS, type Rotation } from '../../src/observability/auditFile.js';
import { httpsCall, spawnServe } from '../helpers/server.js';
import { podReview } from '../helpers/admission.js';
import { pod } from '../rules/validation/helpers.js';

const BACKUP = /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/;

/** A clock the test moves. */
function clock(start = Date.UTC(2026, 10, 21, 5, 0, 0)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const line = (id: string) => `${JSON.stringify({ uid: id, pad: 'x'.repeat(80) })}\n`;

describe('audit file rotation', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-rotate-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** Every line of the backups (oldest first, by the time in their names) and then of the live file. */
  async function allLines(): Promise<{ uids: string[]; backups: string[] }> {
    const backups = (await readdir(dir)).filter((n) => BACKUP.test(n)).sort();
    const uids: string[] = [];
    for (const name of [...backups, 'audit.log']) {
      const text = await readFile(join(dir, name), 'utf8').catch(() => '');
      uids.push(
        ...text
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { uid: string }).uid),
      );
    }
    return { uids, backups };
  }

  function file(rotation: Partial<Rotation>, c = clock()) {
    return new AuditFile(join(dir, 'audit.log'), { checkMs: 0, now: c.now, rotation: { maxBytes: 1000, maxBackups: 0, maxAgeMs: 0, ...rotation } });
  }

  it('Rotates before a line would take the file past maxsize, to <name>-<UTC time>.<ext>, losing no line.', async () => {
    const c = clock();
    const f = file({}, c);
    const ids = Array.from({ length: 50 }, (_, i) => `l${i}`);
    for (const id of ids) {
      f.write(line(id));
      c.advance(1000);
    }
    f.close();
    const { uids, backups } = await allLines();
    assert.deepEqual(uids, ids);
    assert.ok(backups.length >= 4, `${backups.length} backups`);
    assert.equal(backups[0], 'audit-2026-11-21T05-00-09.000.log', 'named for the moment it was rotated, in UTC');
    for (const b of backups) assert.ok((await stat(join(dir, b))).size <= 1000, `${b} is within maxsize`);
  });

  it('Keeps the maxbackup newest rotated files and removes the older ones.', async () => {
    const c = clock();
    const f = file({ maxBackups: 2 }, c);
    for (let i = 0; i < 60; i++) {
      f.write(line(`l${i}`));
      c.advance(120_000);
    }
    f.close();
    const { uids, backups } = await allLines();
    assert.equal(backups.length, 2);
    assert.deepEqual(uids.slice(-3), ['l57', 'l58', 'l59'], 'the newest lines are kept');
  });

  it('Removes rotated files older than maxage by the time in their name, and leaves other files alone.', async () => {
    const c = clock();
    const old = 'audit-2026-11-01T00-00-00.000.log';
    const recent = 'audit-2026-11-20T23-00-00.000.log';
    for (const name of [old, recent, 'audit-notes.log', 'other-2026-11-01T00-00-00.000.log']) await writeFile(join(dir, name), line(name));
    const f = file({ maxAgeMs: 7 * DAY_MS }, c);
    for (let i = 0; i < 12; i++) {
      f.write(line(`l${i}`));
      c.advance(120_000);
    }
    f.close();
    const names = await readdir(dir);
    assert.ok(!names.includes(old), 'older than 7 days: removed');
    for (const kept of [recent, 'audit-notes.log', 'other-2026-11-01T00-00-00.000.log']) assert.ok(names.includes(kept), `${kept} kept`);
  });

  it('Loses and repeats no line when two writers share the file and both rotate it (serve --workers).', async () => {
    const c = clock();
    const a = file({}, c);
    const b = file({}, c);
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      const id = `${i % 2 ? 'b' : 'a'}${i}`;
      (i % 2 ? b : a).write(line(id));
      ids.push(id);
      if (i % 30 === 0) c.advance(1); // several rotations in one millisecond: backup names must not collide
      if (i % 25 === 0) [a, b].forEach((f) => f.checkRotation()); // each worker's periodic check
    }
    a.close();
    b.close();
    const { uids, backups } = await allLines();
    assert.ok(backups.length > 10);
    assert.deepEqual([...uids].sort(), [...ids].sort());
  });

  it('serve --audit-log-maxsize 1 rotates at 1 MB and every decision is in one of the files.', async function () {
    this.timeout(120_000);
    const path = join(dir, 'audit.log');
    const p = await spawnServe([
      '--drain-delay',
      '0',
      '--components',
      'admission',
      '--audit-log',
      path,
      '--audit-log-maxsize',
      '1',
      '--audit-log-maxbackup',
      '3',
    ]);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    try {
      const sent: string[] = [];
      for (let round = 0; round < 1000; round++) {
        const uids = Array.from({ length: 16 }, (_, i) => `r${round}-${i}`);
        await Promise.all(
          uids.map((uid) =>
            httpsCall({
              port: p.port,
              ca: p.ca,
              agent,
              method: 'POST',
              path: '/validate',
              body: JSON.stringify(podReview(pod({ compute: 'example-compute' }), { uid })),
              headers: { 'content-type': 'application/json' },
            }),
          ),
        );
        sent.push(...uids);
        if ((await readdir(dir)).some((n) => BACKUP.test(n))) break;
      }
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
      const { uids, backups } = await allLines();
      assert.equal(backups.length, 1);
      assert.ok((await stat(join(dir, backups[0]!))).size <= 1024 * 1024);
      assert.deepEqual([...uids].sort(), [...sent].sort());
    } finally {
      agent.destroy();
      await p.cleanup();
    }
  });
});
