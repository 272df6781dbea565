import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/commands/exitCodes.js';
import { ROOT, runCli } from './helpers.js';

/** `aml-admission test`: declarative test files (src/commands/testFile.ts), run as dry-run judges. */

const examples = (name: string) => join(ROOT, 'examples', name);
const header = 'apiVersion: aml-admission.azure.com/v1alpha1\nkind: AdmissionTest\ntests:\n';

describe('aml-admission test', () => {
  let dir: string;
  const path = (name: string) => join(dir, name);
  const runFile = async (body: string) => {
    await writeFile(path('t.yaml'), body);
    return runCli(['test', path('t.yaml')]);
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-test-'));
    for (const f of ['train.yaml', 'train-cpu.yaml', 'policy.yaml']) await copyFile(examples(f), path(f));
    const policy = await readFile(examples('policy.yaml'), 'utf8');
    await writeFile(path('warn-policy.yaml'), `${policy}rules:\n  node-pool-targeting: { enforcementAction: warn }\n`);
    await writeFile(
      path('train-on-cpu.yaml'),
      (await readFile(examples('train-cpu.yaml'), 'utf8')).replace('instance-type: defaultinstancetype', 'instance-type: cpu'),
    );
    await writeFile(path('invalid-policy.yaml'), policy.replace('defaultInstanceType: cpu', 'defaultInstanceType: nope'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("The project's own examples meet every expectation of examples/aml-admission-test.yaml: exit 0.", async () => {
    const run = await runCli(['test', examples('aml-admission-test.yaml')]);
    assert.equal(run.code, ExitCode.Ok, run.out + run.err);
    assert.doesNotMatch(run.out, /FAIL|ERROR/);
    assert.match(run.out, /^5 passed, 0 failed$/m);
  });

  it('An expectation not met fails with what the object got: exit 1.', async () => {
    const run = await runFile(
      `${header}  - name: cpu type\n    resources: [train-cpu.yaml]\n    expect:\n      - { object: PyTorchJob/bert (Worker), result: allow }\n`,
    );
    assert.equal(run.code, ExitCode.Denied);
    assert.match(
      run.out,
      /^ {2}FAIL {2}cpu type: PyTorchJob\/bert \(Worker\) allow\n {8}aml-training\/bert-worker-0 \(.*train-cpu\.yaml#1\): got deny \[node-pool-targeting\]$/m,
    );
    assert.match(run.out, /^0 passed, 1 failed$/m);
  });

  it('The rules are compared as a set: a missing or extra rule fails.', async () => {
    const run = await runFile(
      `${header}  - name: rules\n    resources: [train-cpu.yaml]\n    expect:\n      - { object: aml-training/bert-worker-0, result: deny, rules: [identity-claims] }\n      - { object: aml-training/bert-worker-0, result: deny, rules: [node-pool-targeting] }\n`,
    );
    assert.equal(run.code, ExitCode.Denied);
    assert.match(run.out, /FAIL {2}rules: aml-training\/bert-worker-0 deny \[identity-claims\]\n.*got deny \[node-pool-targeting\]/);
    assert.match(run.out, /PASS {2}rules: aml-training\/bert-worker-0 deny \[node-pool-targeting\]/);
    assert.match(run.out, /^1 passed, 1 failed$/m);
  });

  it('A warn-level rule that fails gives warn, with its rule id.', async () => {
    const run = await runFile(
      `${header}  - name: warned\n    policy: warn-policy.yaml\n    resources: [train-on-cpu.yaml]\n    requester: { username: alice, groups: [ml-engineers] }\n    expect:\n      - { object: aml-training/bert-worker-0, result: warn, rules: [node-pool-targeting] }\n`,
    );
    assert.equal(run.code, ExitCode.Ok, run.out);
  });

  it('An object the resources do not hold fails, naming the ones they do.', async () => {
    const run = await runFile(
      `${header}  - name: typo\n    resources: [train.yaml]\n    expect:\n      - { object: aml-training/bert-worker-9, result: allow }\n`,
    );
    assert.equal(run.code, ExitCode.Denied);
    assert.match(run.out, /no object aml-training\/bert-worker-9 among the resources \(aml-training\/bert-worker-0 \(PyTorchJob\/bert \(Worker\)\)\)/);
  });

  it('A file that is no test file is bad input: every error with its path, exit 3.', async () => {
    const run = await runFile(`${header}  - name: x\n    resource: [train.yaml]\n    expect:\n      - { object: a, result: maybe }\n`);
    assert.equal(run.code, ExitCode.BadInput);
    assert.match(run.out, /ERROR not a test file: \/tests\/0: unknown field "resource"/);
    assert.match(run.out, /ERROR not a test file: \/tests\/0: missing required field "resources"/);
    assert.match(run.out, /ERROR not a test file: \/tests\/0\/expect\/0\/result: must be one of allow, deny, warn/);
  });

  it('A missing resource is bad input (exit 3); an invalid policy exits 4; a failed expectation elsewhere outranks both (exit 1).', async () => {
    const missing = await runFile(`${header}  - name: gone\n    resources: [gone.yaml]\n    expect:\n      - { object: a, result: allow }\n`);
    assert.equal(missing.code, ExitCode.Denied, 'the expectation on a missing object is not met either');
    const onlyMissing = await runFile(
      `${header}  - name: gone\n    resources: [gone.yaml, train.yaml]\n    expect:\n      - { object: PyTorchJob/bert (Worker), result: allow }\n`,
    );
    assert.equal(onlyMissing.code, ExitCode.BadInput, onlyMissing.out);
    assert.match(onlyMissing.out, /ERROR gone: .*gone\.yaml: cannot read: no such file or directory/);
    const invalid = await runFile(
      `${header}  - name: bad policy\n    policy: invalid-policy.yaml\n    resources: [train.yaml]\n    expect:\n      - { object: PyTorchJob/bert (Worker), result: allow }\n`,
    );
    assert.equal(invalid.code, ExitCode.InvalidPolicy, invalid.out);
    assert.match(invalid.out, /ERROR bad policy: policy .*invalid-policy\.yaml is invalid/);
    const both = await runFile(
      `${header}  - name: bad policy\n    policy: invalid-policy.yaml\n    resources: [train.yaml]\n    expect:\n      - { object: PyTorchJob/bert (Worker), result: allow }\n  - name: wrong\n    resources: [train-cpu.yaml]\n    expect:\n      - { object: PyTorchJob/bert (Worker), result: allow }\n`,
    );
    assert.equal(both.code, ExitCode.Denied);
  });

  it('An unreadable test file is bad input: exit 3.', async () => {
    const run = await runCli(['test', path('none.yaml')]);
    assert.equal(run.code, ExitCode.BadInput);
    assert.match(run.out, /ERROR cannot read: no such file or directory/);
  });
});
