import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { impersonatedUser } from '../admission/identity.js';
import { fileErrorText } from '../util/fileErrors.js';
import { loadCommonInputs } from './commonOptions.js';
import { evaluate, requestFor, type Evaluation } from './evaluate.js';
import { ExitCode, exitCodeOf } from './exitCodes.js';
import { whereText } from './inputs.js';
import type { CliIO } from './io.js';
import { loadPodSchemaCheck, type PodSchemaCheck } from './podSchema.js';
import { OutputFormat, podName } from './render.js';
import { Expected, parseTestFile, type Expectation, type TestCase } from './testFile.js';

/**
 * `aml-admission test FILE…`: runs declarative test files (testFile.ts) through the same offline
 * admission as dry-run, and checks each expectation. Exit codes (exitCodes.ts): 1 when an
 * expectation is not met, 3 for a test file or resource that cannot be used, 4 for an invalid
 * policy; a failed expectation outranks both.
 */

/** What an object got: deny, else warn when a rule warned, else allow; and the rules that failed. */
export function actualResult(e: Evaluation): { readonly result: Expected; readonly rules: readonly string[] } {
  const outcomes = [...e.mutation.outcomes, ...(e.validation?.outcomes ?? [])];
  const rules = [...new Set(outcomes.filter((o) => o.result === 'fail' || o.result === 'error').map((o) => o.ruleId))];
  const warned = e.mutation.warnings.length + (e.validation?.warnings.length ?? 0) > 0;
  return { result: !e.allowed ? Expected.Deny : warned ? Expected.Warn : Expected.Allow, rules };
}

/** An expectation names an object by its pod's `ns/name`, by `Kind ns/name`, or by what it came from (`PyTorchJob/bert (Worker)`). */
function names(e: Evaluation, object: string): boolean {
  const pod = podName(e.request.object, e.request.namespace);
  return object === pod || object === `${e.request.kind.kind} ${pod}` || object === e.origin;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
const rulesText = (rules: readonly string[] | undefined) => (rules === undefined ? '' : ` [${rules.join(', ')}]`);

/** Why an expectation is not met by these evaluations (empty: it is). */
export function unmet(expectation: Expectation, evaluations: readonly Evaluation[]): string[] {
  const matched = evaluations.filter((e) => names(e, expectation.object));
  if (matched.length === 0) {
    const known = evaluations.map((e) => `${podName(e.request.object, e.request.namespace)} (${e.origin})`);
    return [`no object ${expectation.object} among the resources (${known.join(', ') || 'none'})`];
  }
  return matched.flatMap((e) => {
    const got = actualResult(e);
    const ok = got.result === expectation.result && (expectation.rules === undefined || sameSet(got.rules, expectation.rules));
    return ok ? [] : [`${podName(e.request.object, e.request.namespace)} (${e.where}): got ${got.result}${rulesText(got.rules)}`];
  });
}

async function runCase(file: string, t: TestCase, podSchema: PodSchemaCheck, io: CliIO): Promise<ExitCode[]> {
  const base = dirname(file);
  const loaded = await loadCommonInputs(
    {
      filename: t.resources.map((r) => resolve(base, r)),
      recursive: false,
      ...(t.policy !== undefined ? { policy: resolve(base, t.policy) } : {}),
      namespace: 'default',
      output: OutputFormat.Text,
    },
    io.stdin,
  );
  if (!loaded.ok) {
    io.out(`  ERROR ${t.name}: ${loaded.message}\n`);
    return [loaded.code];
  }
  const { snapshot, read } = loaded;
  const outcomes: ExitCode[] = [];
  for (const p of read.problems) {
    io.out(`  ERROR ${t.name}: ${whereText(p.where)}: ${p.message}\n`);
    outcomes.push(ExitCode.BadInput);
  }
  // As --as/--as-group: the API server's impersonation (system:authenticated, service account groups).
  const as = t.requester ? impersonatedUser(t.requester.username, t.requester.groups ?? []) : undefined;
  const context = { nodes: { labels: (name: string) => read.nodes.get(name) }, podSchema };
  const evaluations = read.inputs.map((input) => evaluate(snapshot, input, requestFor(input, as, 'test'), context));
  for (const x of t.expect) {
    const why = unmet(x, evaluations);
    const what = `${t.name}: ${x.object} ${x.result}${rulesText(x.rules)}`;
    if (why.length === 0) io.out(`  PASS  ${what}\n`);
    else {
      io.out(`  FAIL  ${what}\n${why.map((w) => `        ${w}\n`).join('')}`);
      outcomes.push(ExitCode.Denied);
    }
  }
  return outcomes;
}

export async function runTests(files: readonly string[], io: CliIO): Promise<ExitCode> {
  const podSchema = await loadPodSchemaCheck();
  const outcomes: ExitCode[] = [];
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    io.out(`${file}\n`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      io.out(`  ERROR cannot read: ${fileErrorText(err)}\n`);
      outcomes.push(ExitCode.BadInput);
      continue;
    }
    const parsed = parseTestFile(text);
    if (!parsed.ok) {
      for (const e of parsed.errors) io.out(`  ERROR not a test file: ${e}\n`);
      outcomes.push(ExitCode.BadInput);
      continue;
    }
    for (const t of parsed.file.tests) {
      const got = await runCase(file, t, podSchema, io);
      outcomes.push(...got);
      const failures = got.filter((c) => c === ExitCode.Denied).length;
      failed += failures;
      passed += t.expect.length - failures;
    }
  }
  io.out(`${passed} passed, ${failed} failed\n`);
  return exitCodeOf(outcomes);
}

export function registerTest(program: Command, io: CliIO): void {
  program
    .command('test')
    .description('run declarative test files (AdmissionTest): resources, policy, requester, the expected allow/deny/warn with rule ids')
    .argument('<file...>', 'test files (YAML); their policy and resources are read relative to them')
    .action(async (files: string[]) => {
      io.setExitCode?.(await runTests(files, io));
    });
}
