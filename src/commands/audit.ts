import type { Command } from 'commander';
import type { UserInfo } from '../admission/request.js';
import type { RuleOutcome, ValidationVerdict } from '../admission/verdict.js';
import { WorkloadKinds } from '../k8s/workloads.js';
import { clusterInstanceTypes } from '../policy/instanceTypeObjects.js';
import { PolicySnapshot } from '../policy/snapshot.js';
import { ValidatingRuleId } from '../policy/types.js';
import { validate } from '../rules/validate.js';
import { admitted } from '../rules/validateWorkload.js';
import { requestFor } from './evaluate.js';
import type { CliIO } from './io.js';
import { addClusterAuditOptions, clusterInputs, clusterPolicy, readsCluster, type ClusterAuditOptions } from './auditCluster.js';
import { addInputOptions, loadCommonInputs, requesterOf, verdictExitCode, type CommonOptions } from './commonOptions.js';
import { ExitCode } from './exitCodes.js';
import { whereText, type Input, type PodInput } from './inputs.js';
import { columns, OutputFormat, podName, renderFooter, renderProblems, serialize } from './render.js';
import { renderTable, TableResult, unjudgedRows, type TableRow } from './table.js';

/** How bad a pod's worst finding is: its denial, else the strongest action among its failures. */
export const AuditStatus = { Deny: 'deny', Warn: 'warn', Audit: 'audit', Ok: 'ok' } as const;
export type AuditStatus = (typeof AuditStatus)[keyof typeof AuditStatus];

export interface PodAudit {
  readonly where: string;
  readonly origin: string;
  readonly pod: string;
  readonly compute?: string;
  readonly status: AuditStatus;
  /** Deny message when the pod would be refused today. */
  readonly message?: string;
  /** The failed (and errored) rules only; passing and skipped ones are left out of the report. */
  readonly findings: readonly RuleOutcome[];
}

function statusOf(v: ValidationVerdict): AuditStatus {
  if (v.kind !== 'allowed') return AuditStatus.Deny;
  const failed = v.outcomes.filter((o) => o.result === 'fail' || o.result === 'error');
  if (failed.some((o) => o.action === 'warn' || o.result === 'error')) return AuditStatus.Warn;
  return failed.length > 0 ? AuditStatus.Audit : AuditStatus.Ok;
}

/**
 * Judges existing pods against the validating rules (no mutation: they were mutated when
 * created). Existing pods have no requester, so without `as` identity claims judge only the
 * namespace.
 */
export function auditPods(snapshot: PolicySnapshot, inputs: readonly Input[], as: UserInfo | undefined): PodAudit[] {
  return inputs.map((input) => {
    // An existing pod is judged as if it were being created now; a review's object likewise.
    const pod: Input =
      input.type === 'pod' ? input : { type: 'pod', where: input.where, origin: input.origin, pod: input.review.request.object as PodInput['pod'] };
    const asCreated = requestFor(pod, as, 'audit');
    // A workload's template is judged as its pods will reach validation: mutated first, as the
    // validating webhook judges the workload (an existing pod was mutated when it was created).
    const request = input.type === 'pod' && input.creator !== undefined ? { ...asCreated, object: admitted(snapshot, asCreated) } : asCreated;
    const { verdict, facts } = validate(snapshot, request, { requesterUnknown: as === undefined });
    return {
      where: whereText(input.where),
      origin: input.origin,
      pod: podName(request.object),
      ...(facts.compute !== undefined ? { compute: facts.compute } : {}),
      status: statusOf(verdict),
      ...(verdict.kind === 'denied' ? { message: verdict.message } : {}),
      findings: verdict.outcomes.filter((o) => o.result === 'fail' || o.result === 'error'),
    };
  });
}

/** Per rule: how many pods failed it at each action (errors counted apart). */
export function countByRule(audits: readonly PodAudit[]): Record<string, Record<'deny' | 'warn' | 'audit' | 'error', number>> {
  const counts = Object.fromEntries(Object.values(ValidatingRuleId).map((id) => [id, { deny: 0, warn: 0, audit: 0, error: 0 }]));
  for (const a of audits) {
    for (const f of a.findings) {
      const c = counts[f.ruleId];
      if (!c) continue;
      if (f.result === 'error') c.error += 1;
      else if (f.action === 'deny' || f.action === 'warn' || f.action === 'audit') c[f.action] += 1;
    }
  }
  return counts;
}

function renderText(audits: readonly PodAudit[], requesterKnown: boolean): string {
  const lines: string[] = [];
  const heads = columns(audits.map((a) => [a.status.toUpperCase(), a.pod, a.compute ?? '-', `${a.origin}, ${a.where}`]));
  audits.forEach((a, i) => {
    lines.push(heads[i]!);
    for (const f of a.findings) lines.push(`       [${f.ruleId}] ${f.result === 'error' ? 'error' : f.action}: ${f.message ?? ''}`);
  });
  lines.push('', 'by rule:');
  const rows = Object.entries(countByRule(audits)).map(([id, c]) => [id, String(c.deny), String(c.warn), String(c.audit), String(c.error)]);
  lines.push(...columns([['RULE', 'DENY', 'WARN', 'AUDIT', 'ERROR'], ...rows]).map((l) => `  ${l}`));
  if (!requesterKnown) lines.push('', 'identity-claims judged namespaces only: existing pods have no requester (use --as to judge one)');
  return `${lines.join('\n')}\n\n`;
}

/**
 * One line of `-o table`: a deny-level violation is fail; warn- and audit-level ones are warn
 * (they do not change the exit code, as `kyverno apply --audit-warn` counts audit failures).
 */
function auditRow(a: PodAudit): TableRow {
  const result = { deny: TableResult.Fail, warn: TableResult.Warn, audit: TableResult.Warn, ok: TableResult.Pass }[a.status];
  const detail = a.findings.map((f) => `[${f.ruleId}] ${f.result === 'error' ? 'error' : f.action}: ${f.message ?? ''}`).join('; ');
  return { result, object: `Pod ${a.pod}`, origin: a.origin, where: a.where, detail: detail || (a.compute ? `compute ${a.compute}` : '') };
}

export async function runAudit(o: CommonOptions & ClusterAuditOptions, io: CliIO): Promise<number> {
  const fromCluster = readsCluster(o);
  const loaded = await loadCommonInputs(fromCluster ? { ...o, filename: [] } : o, io.stdin);
  if (!loaded.ok) {
    io.err(`error: ${loaded.message}\n`);
    return loaded.code;
  }
  let policy = loaded.snapshot.loaded;
  if (fromCluster && o.policy === undefined) {
    const live = await clusterPolicy(o);
    if (!live.ok) {
      io.err(`error: ${live.message}\n`);
      return live.code;
    }
    policy = live.policy;
    if (o.output === OutputFormat.Text) io.err(`judging by the policy in ${live.source}\n`);
  }
  let read = loaded.read;
  if (fromCluster) {
    try {
      read = await clusterInputs(o, new WorkloadKinds(policy.workloads));
    } catch (err) {
      // Pods it could not list are no pods without violations: say why, and exit Cluster.
      io.err(`error: ${(err as Error).message}\n`);
      return ExitCode.Cluster;
    }
  }
  // The cluster's InstanceType objects as the server compiles them; refused ones are the
  // cluster's state, not bad input: the server does not use them either.
  const snapshot = fromCluster ? new PolicySnapshot(policy, clusterInstanceTypes(read.instanceTypes.map((t) => t.object))) : loaded.snapshot;
  const as = requesterOf(o);
  const audits = auditPods(snapshot, read.inputs, as);
  const count = (s: AuditStatus) => audits.filter((a) => a.status === s).length;
  const summary = { deny: count('deny'), warn: count('warn'), audit: count('audit'), ok: count('ok') };
  if (read.inputs.length === 0 && read.problems.length === 0) {
    read.problems.push({
      where: { file: fromCluster ? 'cluster' : o.filename.join(', '), doc: 0 },
      message: 'no Pods, pod templates or AdmissionReviews found',
    });
  }
  if (o.output === OutputFormat.Text) {
    io.err(renderProblems(read));
    if (audits.length > 0) io.out(renderText(audits, as !== undefined));
    io.out(renderFooter(summary, read));
  } else if (o.output === OutputFormat.Table) {
    io.out(renderTable([...audits.map(auditRow), ...unjudgedRows(read)]));
  } else {
    io.out(serialize(o.output, { pods: audits, byRule: countByRule(audits), skipped: read.skipped, problems: read.problems, summary }));
  }
  return verdictExitCode(read, summary.deny, audits.length);
}

/**
 * `aml-admission audit -f FILE…`: judge existing pods (e.g. `kubectl get pods -A -o yaml`)
 * against the validating rules and report per pod and rule; exit 1 when any pod has a
 * deny-level violation (exitCodes.ts). Without -f (or with --kubeconfig/-A) the pods are
 * listed from a cluster in pages (src/commands/auditCluster.ts).
 */
export function registerAudit(program: Command, io: CliIO): void {
  addClusterAuditOptions(
    addInputOptions(program.command('audit').description('judge existing pods against the validating rules; report per pod and rule')),
  ).action(async (o: CommonOptions & ClusterAuditOptions) => {
    io.setExitCode?.(await runAudit(o, io));
  });
}
