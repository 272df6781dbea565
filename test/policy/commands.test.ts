import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../../src/cli.js';
import { loadPolicy } from '../../src/policy/loader.js';
import { TEST_POLICY_YAML } from '../rules/mutation/helpers.js';

async function run(...args: string[]): Promise<{ out: string; err: string; exit: number }> {
  let out = '';
  let err = '';
  let exit = 0;
  const cli = buildCli({ out: (t) => (out += t), err: (t) => (err += t), env: {}, onSignal: () => {}, setExitCode: (c) => (exit = c) });
  await cli.parseAsync(['node', 'aml-admission', ...args]);
  return { out, err, exit };
}

describe('aml-admission policy commands', () => {
  let dir: string;
  const path = (name: string) => join(dir, name);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-policy-cmd-'));
    await writeFile(path('good.yaml'), TEST_POLICY_YAML);
    await writeFile(
      path('broken.yaml'),
      `apiVersion: aml-admission.azure.com/v1alpha1
kind: AdmissionPolicy
computes:
  gpu:
    nodePools: { gpupool: { gpu: yes please } }
    defaultInstanceType: a100
    instanceTypes:
      v100: { resources: { limits: { nvidia.com/gpu: "1.5" } } }
    color: blue
`,
    );
    await writeFile(path('semantic.yaml'), TEST_POLICY_YAML.replace('defaultInstanceType: cpu-small', 'defaultInstanceType: cpu-huge'));
    await writeFile(path('not-yaml.yaml'), 'computes: [unclosed\n');
    const indented = TEST_POLICY_YAML.replace(/^/gm, '    ');
    await writeFile(
      path('configmap.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: aml-policy, namespace: azureml }\ndata:\n  policy.yaml: |\n${indented}`,
    );
    await writeFile(path('empty.yaml'), '');
    await writeFile(path('comments.yaml'), '# a policy will go here\n');
    await writeFile(path('two.yaml'), `${TEST_POLICY_YAML}\n---\n${TEST_POLICY_YAML}`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cases: { name: string; given: string[]; want: { exit: number; lines: string[] } }[] = [
    {
      name: 'A valid policy passes with exit 0 and its computes named.',
      given: ['good.yaml'],
      want: { exit: 0, lines: ['good.yaml: valid (computes: gpu-cluster, arc-compute)'] },
    },
    {
      name: 'A policy with schema errors fails with exit 4 and one "path: message" line per error.',
      given: ['broken.yaml'],
      want: {
        exit: 4,
        lines: ['broken.yaml: invalid, 2 errors', '/computes/gpu: unknown field "color"', '/computes/gpu/nodePools/gpupool/gpu: must be boolean'],
      },
    },
    {
      name: 'A policy that fits the schema but names an undefined instance type fails with the path of the field.',
      given: ['semantic.yaml'],
      want: {
        exit: 4,
        lines: ['semantic.yaml: invalid, 1 error', '/computes/gpu-cluster/defaultInstanceType: instance type "cpu-huge" is not defined in instanceTypes'],
      },
    },
    {
      name: 'Text that is not YAML fails with exit 4 and the parser message, with its line and column, at the root.',
      given: ['not-yaml.yaml'],
      want: {
        exit: 4,
        lines: [
          'not-yaml.yaml: invalid, 1 error',
          '/: not valid YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
        ],
      },
    },
    {
      name: 'A ConfigMap gets a hint to check its data key or extract it.',
      given: ['configmap.yaml'],
      want: {
        exit: 4,
        lines: [
          'configmap.yaml: invalid, 1 error',
          `/: is a ConfigMap, not an AdmissionPolicy: the policy is the text of one of its data keys (policy.yaml); check it with "policy check --key policy.yaml FILE", or extract it with kubectl get configmap aml-policy -n azureml -o jsonpath='{.data.policy\\.yaml}' > policy.yaml`,
        ],
      },
    },
    {
      name: '--key checks the policy in a ConfigMap’s data key.',
      given: ['configmap.yaml', '--key', 'policy.yaml'],
      want: { exit: 0, lines: ['configmap.yaml: valid (computes: gpu-cluster, arc-compute)'] },
    },
    {
      name: '--key names the keys a ConfigMap has when it lacks the one asked for.',
      given: ['configmap.yaml', '--key', 'policy'],
      want: { exit: 4, lines: ['/: the ConfigMap has no data key "policy" (its keys: policy.yaml)'] },
    },
    {
      name: '--key on a file that is no ConfigMap says what it is.',
      given: ['good.yaml', '--key', 'policy.yaml'],
      want: { exit: 4, lines: ["/: --key policy.yaml reads a ConfigMap's data key, but this is kind AdmissionPolicy"] },
    },
    {
      name: 'An empty file, or one of comments only, is reported as empty.',
      given: ['empty.yaml', 'comments.yaml'],
      want: {
        exit: 4,
        lines: [
          'empty.yaml: invalid, 1 error',
          'comments.yaml: invalid, 1 error',
          '/: is empty: no policy document (`policy default` prints one to start from)',
        ],
      },
    },
    {
      name: 'A multi-document file is reported as such.',
      given: ['two.yaml'],
      want: {
        exit: 4,
        lines: ['two.yaml: invalid, 1 error', '/: holds 2 YAML documents; a policy is a single document (one policy per file, no --- separators)'],
      },
    },
    {
      name: 'A file that cannot be read fails with exit 3 (bad input).',
      given: ['missing.yaml'],
      want: { exit: 3, lines: ['missing.yaml: cannot be checked', '/: cannot read the file: no such file or directory'] },
    },
    {
      name: 'Several files are checked in one call and the worst result decides the exit code.',
      given: ['good.yaml', 'semantic.yaml'],
      want: { exit: 4, lines: ['good.yaml: valid (computes: gpu-cluster, arc-compute)', 'semantic.yaml: invalid, 1 error'] },
    },
    {
      name: 'An invalid policy outranks an unreadable file in the exit code (4, not 3), whatever their order.',
      given: ['missing.yaml', 'semantic.yaml'],
      want: { exit: 4, lines: ['missing.yaml: cannot be checked', 'semantic.yaml: invalid, 1 error'] },
    },
  ];
  for (const t of cases) {
    it(t.name, async () => {
      const got = await run('policy', 'check', ...t.given.map((g, i) => (g.startsWith('--') || t.given[i - 1] === '--key' ? g : path(g))));
      assert.equal(got.exit, t.want.exit);
      const lines = got.out.replaceAll(`${dir}/`, '').trimEnd().split('\n');
      for (const line of t.want.lines) assert.ok(lines.includes(line), `missing line ${JSON.stringify(line)} in\n${lines.join('\n')}`);
    });
  }

  it('policy schema prints the JSON Schema of the document.', async () => {
    const got = await run('policy', 'schema');
    const schema = JSON.parse(got.out);
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.deepEqual(schema.required, ['apiVersion', 'kind', 'computes']);
  });

  it('policy default prints the built-in policy, which loads as a valid policy.', async () => {
    const got = await run('policy', 'default');
    const loaded = loadPolicy(got.out);
    assert.ok(loaded.ok);
    assert.deepEqual(Object.keys(loaded.policy.computes), ['example-compute']);
  });
});
