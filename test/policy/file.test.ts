import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { PolicyFileError, startPolicyFile, type PolicyFileSource } from '../../src/policy/file.js';
import { PolicyStore } from '../../src/policy/store.js';
import { LogCapture } from '../helpers/server.js';
import { TEST_POLICY_YAML } from '../rules/mutation/helpers.js';

const BROKEN = TEST_POLICY_YAML.replace('defaultInstanceType: cpu-small', 'defaultInstanceType: cpu-huge').replace('gang: false', 'gang: sometimes');

async function reloads(metrics: Metrics): Promise<Record<string, number>> {
  const m = await metrics.policyReloads.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels.source}/${v.labels.result}`, v.value]));
}

describe('policy file source (serve --policy FILE)', () => {
  let dir: string;
  let file: string;
  let store: PolicyStore;
  let logs: LogCapture;
  let metrics: Metrics;
  let source: PolicyFileSource | undefined;
  const start = () => startPolicyFile({ file, store, intervalMs: 60_000, logger: createLogger({ level: 'debug', destination: logs }), metrics });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-policy-file-'));
    file = join(dir, 'policy.yaml');
    store = new PolicyStore(builtinPolicy(), 'builtin');
    logs = new LogCapture();
    metrics = new Metrics({ defaultMetrics: false });
    source = undefined;
  });
  afterEach(async () => {
    source?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('Loads a valid file into the store before serving.', async () => {
    await writeFile(file, TEST_POLICY_YAML);
    source = await start();
    assert.equal(store.source, 'file');
    assert.deepEqual(Object.keys(store.current().policy.computes), ['gpu-cluster', 'arc-compute']);
    assert.deepEqual(await reloads(metrics), { 'file/success': 1 });
  });

  it('Refuses to start on an invalid file, naming the errors with their paths.', async () => {
    await writeFile(file, BROKEN);
    await assert.rejects(start(), (err: unknown) => {
      assert.ok(err instanceof PolicyFileError);
      assert.deepEqual(err.errors, [{ path: '/computes/arc-compute/scheduler/gang', message: 'must be boolean' }]);
      assert.match(err.message, /\/computes\/arc-compute\/scheduler\/gang: must be boolean/);
      return true;
    });
    assert.equal(store.source, 'builtin');
  });

  it('Refuses to start on a missing file without echoing anything but the error code.', async () => {
    await assert.rejects(
      start(),
      (err: unknown) => err instanceof PolicyFileError && err.errors[0]!.message === 'cannot read the file: no such file or directory',
    );
  });

  it('Keeps the last good policy on a bad edit, logs why with paths, and applies the next good edit.', async () => {
    await writeFile(file, TEST_POLICY_YAML);
    source = await start();
    const good = store.current();

    await writeFile(file, BROKEN);
    await source.poll();
    assert.equal(store.current(), good, 'the last good policy stays in force');
    const rejected = logs.lines.find((l) => l.msg === 'policy file rejected; keeping the last good policy');
    assert.ok(rejected, 'the rejection is logged');
    assert.deepEqual(rejected.errors, [{ path: '/computes/arc-compute/scheduler/gang', message: 'must be boolean' }]);
    assert.equal(rejected.level, 'error');

    await writeFile(file, TEST_POLICY_YAML.replace('queue: vision', 'queue: vision-high'));
    await source.poll();
    assert.equal(store.current().policy.computes['gpu-cluster']!.scheduler.queue, 'vision-high');
    assert.deepEqual(await reloads(metrics), { 'file/success': 2, 'file/failure': 1 });
  });

  it('Keeps the policy while the file is missing and says so once, not on every poll.', async () => {
    await writeFile(file, TEST_POLICY_YAML);
    source = await start();
    const good = store.current();
    await unlink(file);
    await source.poll();
    await source.poll();
    assert.equal(store.current(), good);
    assert.equal(logs.lines.filter((l) => l.msg === 'policy file unreadable; keeping the last good policy').length, 1);
    assert.deepEqual(await reloads(metrics), { 'file/success': 1, 'file/failure': 1 });
  });

  it('Does not replace the policy when the file is rewritten with the same text.', async () => {
    await writeFile(file, TEST_POLICY_YAML);
    source = await start();
    const generation = store.generation;
    await writeFile(file, `${TEST_POLICY_YAML}\n# a comment\n`);
    await writeFile(file, TEST_POLICY_YAML);
    await source.poll();
    assert.equal(store.generation, generation);
  });
});
