import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_WEBHOOK_CONFIG_DIR } from '../../src/commands/init.js';
import { ROOT, runCli, type CliRun } from './helpers.js';

// tsx as the project has it, by absolute path: `--import tsx` would resolve from the other folder.
const TSX = createRequire(join(ROOT, 'package.json')).resolve('tsx');

/** The CLI from anywhere: `node --import tsx /abs/src/main.ts ...` with another working directory. */
function spawnElsewhere(cwd: string, args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(TSX).href, join(ROOT, 'src/main.ts'), ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe('init and certs outside the repository', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'packaging-'));
    // A cluster that refuses connections: init gets as far as the API server, no further.
    await writeFile(
      join(dir, 'kubeconfig'),
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('init finds the webhook-config shipped with the package when run from another folder (spawned).', async () => {
    const run = await spawnElsewhere(dir, ['init', '--kubeconfig', join(dir, 'kubeconfig'), '--attempts', '1']);
    assert.equal(run.code, 5, 'the cluster cannot be used (exit codes: 5)');
    assert.doesNotMatch(run.err, /webhook-config/, 'the templates were found');
    assert.match(run.err, /ECONNREFUSED 127\.0\.0\.1:1/, 'it read the templates and went on to the cluster');
  });

  it('The default webhook-config is the package’s, and ships in the npm package and the image.', async () => {
    assert.equal(DEFAULT_WEBHOOK_CONFIG_DIR, join(ROOT, 'webhook-config'));
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg.files.includes('webhook-config') && pkg.files.includes('dist/src'), `package.json files: ${pkg.files}`);
    assert.match(await readFile(join(ROOT, 'Dockerfile'), 'utf8'), /^COPY .*webhook-config \.\/webhook-config$/m);
  });

  const refused: { name: string; args: string[]; want: RegExp }[] = [
    { name: 'a --service that is no Service name', args: ['certs', '--service', 'Web_Hook'], want: /"Web_Hook" is not a Service name/ },
    { name: 'a --service with dots', args: ['certs', '--service', 'a.b'], want: /"a\.b" is not a Service name/ },
    { name: 'a --namespace that is no namespace name', args: ['certs', '--namespace', 'AML'], want: /"AML" is not a namespace name/ },
    {
      name: 'an --extra-name that is neither DNS name nor IP',
      args: ['certs', '--extra-name', 'ok.example.com', 'bad..name'],
      want: /"bad\.\.name" is neither an IP address nor a DNS name/,
    },
    { name: 'init --service likewise', args: ['init', '--service', '-svc'], want: /"-svc" is not a Service name/ },
    { name: 'init --secret that is no object name', args: ['init', '--secret', 'TLS'], want: /"TLS" is not a Secret name/ },
    { name: 'serve --namespace likewise', args: ['serve', '--namespace', 'a_b'], want: /"a_b" is not a namespace name/ },
  ];
  for (const t of refused) {
    it(`Refuses ${t.name}: a usage error, exit 2, nothing written.`, async () => {
      const run = await runCli(t.args[0] === 'certs' ? [...t.args, '--out', join(dir, 'never')] : t.args);
      assert.equal(run.code, 2);
      assert.match(run.err, t.want);
      assert.equal(run.out, '');
    });
  }

  it('certs accepts DNS names and IP addresses (v4 and v6) as extra names.', async () => {
    const run = await runCli(['certs', '--out', join(dir, 'certs'), '--extra-name', 'webhook.example.com', '10.0.0.1', '::1']);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /^[A-Za-z0-9+/=]+\n$/);
  });
});
