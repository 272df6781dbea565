import type { Command } from 'commander';
import type { CliIO } from './io.js';
import type { RegisteredWebhook } from '../admission/reach.js';
import { loadWebhookTemplates, WebhookKind } from '../kube/webhookConfigs.js';
import { DEFAULT_WEBHOOK_CONFIG_DIR } from './init.js';
import { addInputOptions, exitCodeOf, ExitCode, loadCommonInputs, requesterOf, type CommonOptions } from './commonOptions.js';
import { evaluate, requestFor, type Evaluation } from './evaluate.js';
import { loadPodSchemaCheck } from './podSchema.js';
import { evaluationReport, OutputFormat, renderEvaluation, renderFooter, renderProblems, serialize } from './render.js';

/** The first webhook of each kind in the templates: what the API server would be told to call. */
async function registeredWebhooks(dir: string): Promise<{ mutate?: RegisteredWebhook; validate?: RegisteredWebhook }> {
  const templates = await loadWebhookTemplates(dir);
  const first = (kind: string) => templates.find((t) => t.kind === kind)?.webhooks?.[0];
  const mutate = first(WebhookKind.Mutating);
  const validate = first(WebhookKind.Validating);
  return { ...(mutate ? { mutate } : {}), ...(validate ? { validate } : {}) };
}

export async function runDryRun(o: CommonOptions & { webhookConfig?: string }, io: CliIO): Promise<number> {
  const loaded = await loadCommonInputs(o, io.stdin);
  if (!loaded.ok) {
    io.err(`error: ${loaded.message}\n`);
    return ExitCode.BadInput;
  }
  let registered;
  try {
    registered = await registeredWebhooks(o.webhookConfig ?? DEFAULT_WEBHOOK_CONFIG_DIR);
  } catch (err) {
    io.err(`error: --webhook-config: ${(err as Error).message}\n`);
    return ExitCode.BadInput;
  }
  const { snapshot, read } = loaded;
  const as = requesterOf(o);
  const context = {
    nodes: { labels: (name: string) => read.nodes.get(name) },
    claims: read.claims,
    podSchema: await loadPodSchemaCheck(),
    registered,
  };
  const results: Evaluation[] = read.inputs.map((input) => evaluate(snapshot, input, requestFor(input, as, 'dry-run'), context));
  const denied = results.filter((r) => !r.allowed).length;
  if (read.inputs.length === 0 && read.problems.length === 0) {
    read.problems.push({ where: { file: o.filename.join(', '), doc: 0 }, message: 'no Pods, pod templates or AdmissionReviews found' });
  }
  const code = exitCodeOf(read, denied, results.length);
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
 * mutated object and every rule's verdict. Exit 0 when everything is allowed, 1 when anything
 * is denied, 2 on bad input (unreadable or invalid files or policy, nothing to evaluate).
 */
export function registerDryRun(program: Command, io: CliIO): void {
  addInputOptions(
    program.command('dry-run').description('evaluate Pods, AdmissionReviews and workload pod templates offline: patch, mutated object, every verdict'),
  )
    .option(
      '--webhook-config <dir>',
      'the webhook configurations as registered, to say when they would never be called for an object (default: the webhook-config/ shipped with aml-admission)',
    )
    .action(async (o: CommonOptions & { webhookConfig?: string }) => {
      io.setExitCode?.(await runDryRun(o, io));
    });
}
