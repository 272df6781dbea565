import type { Command } from 'commander';
import type { CliIO } from './io.js';
import type { RegisteredWebhook } from '../admission/reach.js';
import { loadWebhookTemplates, WebhookKind } from '../kube/webhookConfigs.js';
import { DEFAULT_WEBHOOK_CONFIG_DIR } from './init.js';
import { addInputOptions, loadCommonInputs, requesterOf, verdictExitCode, type CommonOptions } from './commonOptions.js';
import { evaluate, requestFor, type Evaluation } from './evaluate.js';
import { ExitCode } from './exitCodes.js';
import { loadPodSchemaCheck } from './podSchema.js';
import { evaluationReport, OutputFormat, podName, renderEvaluation, renderFooter, renderProblems, serialize, serializeObjects } from './render.js';
import { renderTable, TableResult, unjudgedRows, type TableRow } from './table.js';

/** The first webhook of each kind in the templates: what the API server would be told to call. */
async function registeredWebhooks(dir: string): Promise<{ mutate?: RegisteredWebhook; validate?: RegisteredWebhook }> {
  const templates = await loadWebhookTemplates(dir);
  const first = (kind: string) => templates.find((t) => t.kind === kind)?.webhooks?.[0];
  const mutate = first(WebhookKind.Mutating);
  const validate = first(WebhookKind.Validating);
  return { ...(mutate ? { mutate } : {}), ...(validate ? { validate } : {}) };
}

export interface DryRunOptions extends CommonOptions {
  /** Print only the objects after mutation (-o yaml|json), for `kubectl apply -f -`. */
  readonly mutatedOnly?: boolean;
  /** The webhook configurations as registered (default: the shipped webhook-config/). */
  readonly webhookConfig?: string;
}

/** One line of `-o table`: denied is fail, allowed with a warning warn, else pass. */
function evaluationRow(e: Evaluation): TableRow {
  const object = `${e.request.kind.kind} ${podName(e.request.object, e.request.namespace)}`;
  const warnings = [...e.mutation.warnings, ...(e.validation?.warnings ?? [])];
  const base = { object, origin: e.origin, where: e.where };
  if (!e.allowed) {
    const answer = e.validation ?? e.mutation;
    return { ...base, result: TableResult.Fail, detail: answer.message ?? `the API server would refuse the mutated pod: ${e.schemaErrors.join('; ')}` };
  }
  if (warnings.length > 0) return { ...base, result: TableResult.Warn, detail: warnings.join('; ') };
  const ops = e.mutation.patch.length;
  return { ...base, result: TableResult.Pass, detail: ops === 0 ? 'not mutated' : `mutated (${ops} patch operation${ops === 1 ? '' : 's'})` };
}

/**
 * The objects `--mutated-only` prints: each allowed Pod, and each allowed AdmissionReview's
 * object, as the API server would store it. The pods of a workload are left out (with a note):
 * their controller creates them, so the workload is what one applies, and the webhook mutates
 * its pods then.
 */
function mutatedObjects(results: readonly Evaluation[], note: (text: string) => void): unknown[] {
  const objects: unknown[] = [];
  for (const e of results) {
    const name = `${e.request.kind.kind} ${podName(e.request.object, e.request.namespace)} (${e.where})`;
    if (!e.allowed) note(`not printed: ${name} is denied\n`);
    else if (e.createdBy !== undefined) note(`not printed: ${name}: a pod of ${e.origin}, which its controller creates (apply the workload)\n`);
    else if (e.mutated !== null && e.mutated !== undefined) objects.push(e.mutated);
  }
  return objects;
}

export async function runDryRun(o: DryRunOptions, io: CliIO): Promise<number> {
  if (o.mutatedOnly && o.output !== OutputFormat.Yaml && o.output !== OutputFormat.Json) {
    io.err('error: --mutated-only prints objects: use it with -o yaml or -o json\n');
    return ExitCode.Usage;
  }
  const loaded = await loadCommonInputs(o, io.stdin);
  if (!loaded.ok) {
    io.err(`error: ${loaded.message}\n`);
    return loaded.code;
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
  const code = verdictExitCode(read, denied, results.length);
  if (o.mutatedOnly) {
    io.err(renderProblems(read));
    io.out(serializeObjects(o.output, mutatedObjects(results, io.err)));
  } else if (o.output === OutputFormat.Text) {
    io.err(renderProblems(read));
    io.out(results.map(renderEvaluation).join('\n'));
    if (results.length > 0) io.out('\n');
    io.out(renderFooter({ allowed: results.length - denied, denied }, read));
  } else if (o.output === OutputFormat.Table) {
    io.out(renderTable([...results.map(evaluationRow), ...unjudgedRows(read)]));
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
  )
    .option(
      '--webhook-config <dir>',
      'the webhook configurations as registered, to say when they would never be called for an object (default: the webhook-config/ shipped with aml-admission)',
    )
    .option('--mutated-only', 'with -o yaml|json: print only the objects after mutation (allowed Pods and AdmissionReview objects), for kubectl apply -f -')
    .action(async (o: DryRunOptions) => {
      io.setExitCode?.(await runDryRun(o, io));
    });
}
