import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers.js';

/**
 * The README's console examples, run as written: every `$ aml-admission …` line that needs no
 * server or cluster, in bash (pipes and `${PIPESTATUS[0]}` as shown), its stdout compared with
 * the lines the README prints under it. The examples' files live in examples/.
 */
interface Example {
  readonly command: string;
  readonly output: string;
}

async function examples(): Promise<Example[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const found: Example[] = [];
  for (const [, block] of readme.matchAll(/```console\n([\s\S]*?)```/g)) {
    if (/\b(serve|curl|kubectl)\b/.test(block!)) continue; // needs a server or a cluster
    let current: { command: string; lines: string[] } | undefined;
    for (const line of block!.trimEnd().split('\n')) {
      if (line.startsWith('$ ')) {
        if (current) found.push({ command: current.command, output: current.lines.join('\n') });
        current = { command: line.slice(2), lines: [] };
      } else current?.lines.push(line);
    }
    if (current) found.push({ command: current.command, output: current.lines.join('\n') });
  }
  return found;
}

const run = promisify(execFile);
// tsx by its resolved URL: the scratch folder the examples run in has no node_modules.
const CLI = `node --import ${JSON.stringify(import.meta.resolve('tsx'))} ${JSON.stringify(join(ROOT, 'src/main.ts'))}`;

const EXAMPLES = await examples();

describe('README examples', () => {
  // A scratch folder (examples write files) that sees the repository's examples/ and test/ fixtures.
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-readme-'));
    for (const f of ['examples', 'test']) await symlink(join(ROOT, f), join(dir, f));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('has examples to run', () => assert.ok(EXAMPLES.length >= 5));

  it('shows the example files as they are', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const shown = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    for (const file of ['examples/train.yaml', 'examples/policy.yaml']) {
      const text = (await readFile(join(ROOT, file), 'utf8')).replace(/^#.*\n/gm, '');
      assert.ok(shown.includes(text), `README shows ${file} as it is`);
    }
  });

  for (const ex of EXAMPLES) {
    it(`prints what the README shows for: ${ex.command}`, async () => {
      // As a terminal shows it: stderr interleaved with stdout.
      const script = `exec 2>&1\naml-admission() { ${CLI} "$@"; }\n${ex.command}`;
      const { stdout } = await run('bash', ['-c', script], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } }).catch((err: { stdout: string }) => err);
      assert.equal(stdout.trimEnd(), ex.output);
    }).timeout(30_000);
  }
});
