import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EXIT_CODE_MEANINGS,
  EXIT_CODE_PRECEDENCE,
  ExitCode,
  exitCodeKind,
  exitCodeOf,
  exitCodeOfError,
  exitCodePrecedenceText,
} from '../../src/commands/exitCodes.js';
import { KubeConfigError, KubeConflictError, KubeError } from '../../src/kube/errors.js';
import { fixturePath, ROOT, runCli, spawnCli } from './helpers.js';

/** One table of exit codes (src/commands/exitCodes.ts), the same kind of outcome the same code in every command. */

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

describe('Exit codes', () => {
  let dir: string;
  let busy: Server;
  let busyPort: number;
  const path = (name: string) => join(dir, name);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-exit-'));
    await writeFile(
      path('invalid-policy.yaml'),
      'apiVersion: aml-admission.azure.com/v1alpha1\nkind: AdmissionPolicy\ncomputes:\n  c: { nodePools: {}, instanceTypes: {}, defaultInstanceType: x }\n',
    );
    await writeFile(path('a-file'), 'not a folder');
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(async () => {
    busy.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('The README lists every code with its kind and meaning, and the precedence, as the code defines them.', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n### Exit codes\n');
    assert.ok(start >= 0, 'README has an "### Exit codes" section');
    const section = readme.slice(start, readme.indexOf('\n## ', start));
    const rows = section.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    assert.deepEqual(
      rows,
      Object.values(ExitCode).map((c) => `| ${c} | ${exitCodeKind(c)} | ${EXIT_CODE_MEANINGS[c]} |`),
    );
    assert.ok(section.includes(exitCodePrecedenceText()), 'the precedence sentence is the one exitCodes.ts writes');
  });

  it('The root --help lists every code and the precedence.', async () => {
    const run = await runCli(['--help']);
    assert.equal(run.code, 0);
    for (const c of Object.values(ExitCode)) assert.match(run.out, new RegExp(`^  ${c}  ${exitCodeKind(c)} +${EXIT_CODE_MEANINGS[c].slice(0, 20)}`, 'm'));
    assert.ok(run.out.includes(exitCodePrecedenceText()));
  });

  it('A denial outranks bad input, bad input outranks 0, and no outcome is 0.', () => {
    assert.equal(exitCodeOf([ExitCode.BadInput, ExitCode.Denied]), ExitCode.Denied);
    assert.equal(exitCodeOf([ExitCode.BadInput, ExitCode.InvalidPolicy]), ExitCode.InvalidPolicy);
    assert.equal(exitCodeOf([ExitCode.Ok, ExitCode.BadInput]), ExitCode.BadInput);
    assert.equal(exitCodeOf([]), ExitCode.Ok);
    assert.deepEqual([...EXIT_CODE_PRECEDENCE].sort(), Object.values(ExitCode).sort(), 'every code has a rank');
  });

  it('Errors of the cluster exit 5 whatever the step: an API failure, no kubeconfig, an object others kept writing.', () => {
    assert.equal(exitCodeOfError(new KubeError('read Secret', { code: 500 })), ExitCode.Cluster);
    assert.equal(exitCodeOfError(new KubeConfigError('no kubeconfig')), ExitCode.Cluster);
    assert.equal(exitCodeOfError(new KubeConflictError('Secret a/b kept changing under us')), ExitCode.Cluster);
    assert.equal(exitCodeOfError(new Error('a bug')), ExitCode.Failed);
  });

  const cases: { name: string; args: () => string[]; want: ExitCode; err?: RegExp }[] = [
    // Usage: the command line is wrong.
    { name: 'dry-run with an unknown option', args: () => ['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--bogus'], want: ExitCode.Usage },
    { name: 'audit with a bad --page-size', args: () => ['audit', '--page-size', 'lots'], want: ExitCode.Usage },
    { name: 'policy check without a file', args: () => ['policy', 'check'], want: ExitCode.Usage },
    { name: 'certs with a bad --days', args: () => ['certs', '--days', '0', '--out', path('never')], want: ExitCode.Usage },
    { name: 'init with a bad --attempts', args: () => ['init', '--attempts', 'x'], want: ExitCode.Usage },
    {
      name: 'serve with --tls-cert but no --tls-key',
      args: () => ['serve', '--tls-cert', path('a.crt'), '--port', '0', '--log-level', 'silent'],
      want: ExitCode.Usage,
      err: /--tls-cert and --tls-key must be given together/,
    },
    {
      name: 'serve with --metrics-port the HTTPS --port',
      args: () => ['serve', '--port', '9443', '--metrics-port', '9443', '--log-level', 'silent'],
      want: ExitCode.Usage,
      err: /--metrics-port must differ from --port/,
    },
    { name: 'an unknown command', args: () => ['bogus'], want: ExitCode.Usage },
    { name: 'test without a file', args: () => ['test'], want: ExitCode.Usage },
    // Bad input: a file cannot be read or used.
    { name: 'dry-run of a missing file', args: () => ['dry-run', '-f', path('missing.yaml')], want: ExitCode.BadInput },
    { name: 'audit of a missing file', args: () => ['audit', '-f', path('missing.yaml')], want: ExitCode.BadInput },
    {
      name: 'dry-run with a missing --policy',
      args: () => ['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--policy', path('none.yaml')],
      want: ExitCode.BadInput,
    },
    { name: 'policy check of a missing file', args: () => ['policy', 'check', path('missing.yaml')], want: ExitCode.BadInput },
    { name: 'test of a missing file', args: () => ['test', path('missing.yaml')], want: ExitCode.BadInput },
    { name: 'certs --out below a file', args: () => ['certs', '--out', join(path('a-file'), 'certs')], want: ExitCode.BadInput },
    {
      name: 'serve with a missing certificate',
      args: () => ['serve', '--tls-cert', path('none.crt'), '--tls-key', path('none.key'), '--port', '0', '--log-level', 'silent'],
      want: ExitCode.BadInput,
    },
    // Invalid policy, in every command that takes one.
    { name: 'policy check of an invalid policy', args: () => ['policy', 'check', path('invalid-policy.yaml')], want: ExitCode.InvalidPolicy },
    {
      name: 'dry-run with an invalid --policy',
      args: () => ['dry-run', '-f', fixturePath('pod-allowed.yaml'), '--policy', path('invalid-policy.yaml')],
      want: ExitCode.InvalidPolicy,
    },
    {
      name: 'audit with an invalid --policy',
      args: () => ['audit', '-f', fixturePath('pod-allowed.yaml'), '--policy', path('invalid-policy.yaml')],
      want: ExitCode.InvalidPolicy,
    },
    {
      name: 'serve with an invalid --policy',
      args: () => ['serve', '--policy', path('invalid-policy.yaml'), '--port', '0', '--certs-dir', path('certs'), '--log-level', 'silent'],
      want: ExitCode.InvalidPolicy,
    },
    // Cluster: no usable kubeconfig.
    { name: 'audit with a missing --kubeconfig', args: () => ['audit', '--kubeconfig', path('missing-kubeconfig')], want: ExitCode.Cluster },
    { name: 'init with a missing --kubeconfig', args: () => ['init', '--kubeconfig', path('missing-kubeconfig')], want: ExitCode.Cluster },
    // Failed: anything else.
    {
      name: 'serve on a port already in use',
      args: () => ['serve', '--host', '127.0.0.1', '--port', String(busyPort), '--certs-dir', path('certs'), '--log-level', 'silent'],
      want: ExitCode.Failed,
    },
  ];
  for (const t of cases) {
    it(`${t.name} exits ${t.want} (${exitCodeKind(t.want)}), without a stack trace.`, async () => {
      const run = await runCli(t.args());
      assert.equal(run.code, t.want, run.err);
      if (t.err) assert.match(run.err, t.err);
      assert.doesNotMatch(run.err, STACK);
    });
  }

  it('A usage error the command itself finds is said without a stack from the real entry point (spawned).', async () => {
    const run = await spawnCli(['serve', '--tls-cert', path('a.crt'), '--port', '0']);
    assert.equal(run.code, ExitCode.Usage);
    assert.match(run.err, /^error: --tls-cert and --tls-key must be given together\n/);
    assert.equal(run.out, '', 'nothing started, nothing logged');
    assert.doesNotMatch(run.err, STACK);
  });
});
