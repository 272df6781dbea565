import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { addInputOptions, loadCommonInputs, requesterOf, verdictExitCode, type CommonOptions } from './commonOptions.js';
import { evaluate, requestFor, type Evaluation } from './evaluate.js';
import { loadPodSchemaCheck } from './podSchema.js';
import { evaluationReport, OutputFormat, renderEvaluation, renderFooter, renderProblems, serialize } from './render.js';

export async function runDryRun(o: CommonOptions, io: CliIO): Promise<number> {
  const loaded = await loadCommonInputs(o, io.stdin);
  if (!loaded.ok) {
    io.err(`error: ${loaded.message}\n`);
    return loaded.code;
  }
  const { snapshot, read } = loaded;
  const as = requesterOf(o);
  const context = { nodes: { labels: (name: string) => read.nodes.get(name) }, podSchema: await loadPodSchemaCheck() };
  const results: Evaluation[] = read.inputs.map((input) => evaluate(snapshot, input, requestFor(input, as, 'dry-run'), context));
  const denied = results.filter((r) => !r.allowed).length;
  if (read.inputs.length === 0 && read.problems.length === 0) {
    read.problems.push({ where: { file: o.filename.join(', '), doc: 0 }, message: 'no Pods, pod templates or AdmissionReviews found' });
  }
  const code = verdictExitCode(read, denied, results.length);
  if (o.output === OutputFormat.Text) {
    io.err(renderProblems(read));
    io.out(results.map(renderEvaluation).join('\n'));
    if (results.length > 0) io.out('\n');
    io.out(renderFooter({ allowed: results.length - denied, denied }, read));
  } else {
    io.out(
      serialize(o.output, {
        results: results.map(evaluationReport),
        skipped: read.skipped,
        problems: read.problems,
        summary: { allowed: results.length - denied, denied, badInput: read.problems.length },
      }),
    );
  }
  return code;
}

/**
 * `aml-admission dry-run -f FILE…`: what the webhooks would answer, offline: the patch, the
 * mutated object and every rule's verdict. Exit codes: exitCodes.ts (verdictExitCode).
 */
export function registerDryRun(program: Command, io: CliIO): void {
  addInputOptions(
    program.command('dry-run').description('evaluate Pods, AdmissionReviews and workload pod templates offline: patch, mutated object, every verdict'),
  ).action(async (o: CommonOptions) => {
    io.setExitCode?.(await runDryRun(o, io));
  });
}
