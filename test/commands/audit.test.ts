import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { fixturePath, runCli, spawnCli } from './helpers.js';

const policyFile = new URL('../fixtures/validation/policy.yaml', import.meta.url).pathname;
const podsFile = new URL('../fixtures/validation/audit/pods.yaml', import.meta.url).pathname;

describe('audit command', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-audit-cmd-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** The test policy with some rules' enforcement actions changed, written to a file. */
  async function policyWith(actions: Record<string, string>): Promise<string> {
    const doc = parse(await readFile(policyFile, 'utf8'));
    doc.rules = Object.fromEntries(Object.entries(actions).map(([id, a]) => [id, { enforcementAction: a }]));
    const path = join(dir, `policy-${Object.values(actions).join('-')}.yaml`);
    await writeFile(path, stringify(doc));
    return path;
  }

  const cases: {
    name: string;
    given: () => Promise<string[]>;
    want: { code: number; statuses: Record<string, string>; byRule?: Record<string, Partial<Record<string, number>>> };
  }[] = [
    {
      name: 'Reports each existing pod with its failed rules and exits 1 when any violation is deny-level.',
      given: async () => ['-f', podsFile, '--policy', policyFile],
      want: {
        code: 1,
        statuses: {
          'azureml/vit-worker-0': 'ok',
          'azureml/gpu-on-cpu': 'deny',
          'default/sneaky': 'deny',
          'default/wrong-namespace': 'deny',
          'default/web': 'ok',
        },
        byRule: {
          'node-pool-targeting': { deny: 1 },
          'reserved-pools': { deny: 1 },
          'identity-claims': { deny: 1 },
          'resource-claims': {},
          'policy-input': {},
        },
      },
    },
    {
      name: 'Exits 0 when the only violations are at warn and audit, reporting them as such.',
      given: async () => [
        '-f',
        podsFile,
        '--policy',
        await policyWith({ 'node-pool-targeting': 'warn', 'reserved-pools': 'audit', 'identity-claims': 'warn' }),
      ],
      want: {
        code: 0,
        statuses: {
          'azureml/vit-worker-0': 'ok',
          'azureml/gpu-on-cpu': 'warn',
          'default/sneaky': 'audit',
          'default/wrong-namespace': 'warn',
          'default/web': 'ok',
        },
        byRule: { 'node-pool-targeting': { warn: 1 }, 'reserved-pools': { audit: 1 }, 'identity-claims': { warn: 1 } },
      },
    },
    {
      name: 'Judges the requester too when --as names one.',
      given: async () => ['-f', podsFile, '--policy', policyFile, '--as', 'mallory'],
      want: {
        code: 1,
        statuses: {
          'azureml/vit-worker-0': 'deny',
          'azureml/gpu-on-cpu': 'deny',
          'default/sneaky': 'deny',
          'default/wrong-namespace': 'deny',
          'default/web': 'ok',
        },
      },
    },
    {
      name: 'Judges the pods inside AdmissionReviews and workload templates as well.',
      given: async () => ['-f', fixturePath('review.json'), '-f', fixturePath('deployment.yaml')],
      // A template is mutated first, as the validating webhook judges its workload: the default
      // instance type's selector targets a pool, so the Deployment the webhook admits is ok here too.
      want: { code: 1, statuses: { 'aml-training/bert-worker-0': 'deny', 'aml-training/infer-…': 'ok' } },
    },
    { name: 'Exits 3 on bad input.', given: async () => ['-f', fixturePath('invalid.yaml')], want: { code: 3, statuses: {} } },
    {
      name: 'Bad input in one file does not hide a deny-level violation in another: exit 1.',
      given: async () => ['-f', fixturePath('invalid.yaml'), '-f', fixturePath('review.json')],
      want: { code: 1, statuses: { 'aml-training/bert-worker-0': 'deny' } },
    },
  ];

  for (const t of cases) {
    it(t.name, async () => {
      const run = await runCli(['audit', ...(await t.given()), '-o', 'json']);
      assert.equal(run.code, t.want.code, run.err);
      const report = JSON.parse(run.out);
      assert.deepEqual(Object.fromEntries(report.pods.map((p: any) => [p.pod, p.status])), t.want.statuses);
      for (const [rule, counts] of Object.entries(t.want.byRule ?? {})) {
        assert.deepEqual(report.byRule[rule], { deny: 0, warn: 0, audit: 0, error: 0, ...counts }, rule);
      }
    });
  }

  it('-o table prints one line per pod and a kyverno-style summary; deny-level violations are fail.', async () => {
    const run = await runCli(['audit', '-f', podsFile, '--policy', policyFile, '-o', 'table']);
    assert.equal(run.code, 1);
    const lines = run.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^RESULT +OBJECT +FROM +WHERE +DETAIL$/);
    assert.match(run.out, /^fail {4}Pod default\/wrong-namespace +Pod +.*pods\.yaml#1 items\[3\] +\[identity-claims\] deny: namespace default may not use/m);
    assert.equal(lines.at(-1), 'pass: 2, fail: 3, warn: 0, error: 0, skip: 0');
  });

  it('Prints a per-pod text report with the findings under each pod and a per-rule table.', async () => {
    const run = await runCli(['audit', '-f', podsFile, '--policy', policyFile]);
    assert.equal(run.code, 1);
    assert.match(run.out, /^OK {4}azureml\/vit-worker-0 +gpu-compute +Pod, /m);
    assert.match(
      run.out,
      /^DENY {2}azureml\/gpu-on-cpu +gpu-compute .*\n {7}\[node-pool-targeting\] deny: pod requests 2 GPUs but can be placed on CPU pool cpupool/m,
    );
    assert.match(run.out, /^ {2}RULE +DENY +WARN +AUDIT +ERROR\n {2}node-pool-targeting +1 +0 +0 +0$/m);
    assert.match(run.out, /identity-claims judged namespaces only/);
    assert.match(run.out, /^3 deny, 0 warn, 0 audit, 2 ok$/m);
  });

  it('Exits 1 from the real entry point (spawned).', async () => {
    const run = await spawnCli(['audit', '-f', podsFile, '--policy', policyFile]);
    assert.equal(run.code, 1, run.err);
  });
});
