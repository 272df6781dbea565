import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, ROOT, runCli, spawnCli } from './helpers.js';

/** `-f` as kubectl takes it: stdin, directories, -R, comma lists; file and YAML errors in words. */
describe('dry-run and audit inputs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sources-'));
    await mkdir(join(dir, 'jobs', 'nightly'), { recursive: true });
    await mkdir(join(dir, 'empty'));
    await copyFile(fixturePath('pod-allowed.yaml'), join(dir, 'jobs', 'a-pod.yaml'));
    await copyFile(fixturePath('review.json'), join(dir, 'jobs', 'b-review.json'));
    await copyFile(fixturePath('job.yaml'), join(dir, 'jobs', 'nightly', 'job.yml'));
    await writeFile(join(dir, 'jobs', 'notes.txt'), 'not a manifest');
    await writeFile(join(dir, 'empty', 'notes.txt'), 'not a manifest');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const judged = async (args: string[], stdin?: string) => {
    const run = await runCli(['dry-run', ...args, '-o', 'json'], stdin);
    const report = JSON.parse(run.out);
    return { code: run.code, where: report.results.map((r: any) => r.where.replace(`${dir}/`, '')), problems: report.problems };
  };

  it('A directory is its .yaml, .yml and .json files in name order, without subdirectories.', async () => {
    assert.deepEqual(await judged(['-f', join(dir, 'jobs')]), { code: 0, where: ['jobs/a-pod.yaml#1', 'jobs/b-review.json#1'], problems: [] });
  });

  it('-R reads the subdirectories too.', async () => {
    const got = await judged(['-f', join(dir, 'jobs'), '-R']);
    assert.deepEqual(got.where, ['jobs/a-pod.yaml#1', 'jobs/b-review.json#1', 'jobs/nightly/job.yml#1']);
  });

  it('A comma list and repeated -f name several files.', async () => {
    const got = await judged(['-f', `${fixturePath('pod-allowed.yaml')},${fixturePath('job.yaml')}`, '-f', fixturePath('review.json')]);
    assert.deepEqual(
      got.where.map((w: string) => w.replace(/.*\//, '')),
      ['pod-allowed.yaml#1', 'job.yaml#1', 'review.json#1'],
    );
  });

  it('-f - reads stdin.', async () => {
    const got = await judged(['-f', '-'], await readFile(fixturePath('pod-denied.yaml'), 'utf8'));
    assert.deepEqual(got, { code: 1, where: ['stdin#1'], problems: [] });
  });

  it('audit takes the same inputs.', async () => {
    const run = await runCli(['audit', '-f', join(dir, 'jobs'), '-R', '-o', 'json']);
    assert.equal(JSON.parse(run.out).pods.length, 3, run.err);
  });

  const problems: { name: string; args: () => string[]; want: string }[] = [
    { name: 'A missing file', args: () => ['-f', join(dir, 'nope.yaml')], want: 'nope.yaml: cannot read: no such file or directory' },
    {
      name: 'A directory without manifests',
      args: () => ['-f', join(dir, 'empty')],
      want: 'empty: directory holds no .yaml, .yml, .json files (-R reads its subdirectories)',
    },
    {
      name: 'A file below a file',
      args: () => ['-f', join(fixturePath('job.yaml'), 'x.yaml')],
      want: 'x.yaml: cannot read: a part of the path is not a directory',
    },
  ];
  for (const t of problems) {
    it(`${t.name} is bad input said in plain words.`, async () => {
      const run = await runCli(['dry-run', ...t.args()]);
      assert.equal(run.code, 3);
      assert.equal(run.err.replace(/error: .*\//, ''), `${t.want}\n`);
    });
  }

  it('A policy that is a directory is said so in words.', async () => {
    const run = await runCli(['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--policy', dir]);
    assert.equal(run.code, 3);
    assert.equal(run.err, `error: cannot read policy ${dir}: is a directory, not a file\n`);
  });

  it('--version prints the package version.', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const run = await runCli(['--version']);
    assert.equal(run.code, 0);
    assert.equal(run.out, `${version}\n`);
  });

  it('A startup failure on a missing file names the path in words, without a stack trace (spawned).', async () => {
    const run = await spawnCli(['serve', '--port', '0', '--tls-cert', join(dir, 'none.crt'), '--tls-key', join(dir, 'none.key')]);
    assert.equal(run.code, 3);
    assert.match(run.err, new RegExp(`^aml-admission: ${dir}/none\\.(crt|key): no such file or directory\\n$`));
    assert.doesNotMatch(run.out, /\bat .*\.ts:\d+/, 'no stack in the log');
    assert.match(run.out, /"error":".*none\.(crt|key): no such file or directory"/);
  });
});
