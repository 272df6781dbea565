import { stringify } from 'yaml';
import type { RuleOutcome } from '../admission/verdict.js';
import type { UserInfo } from '../admission/request.js';
import { isObject } from '../k8s/json.js';
import { objectName } from '../k8s/pod.js';
import type { Evaluation } from './evaluate.js';
import { whereText, type Inputs } from './inputs.js';

/** Text reports for `dry-run` and `audit`: the answer first, then the detail, aligned in columns. */

export const OutputFormat = { Text: 'text', Table: 'table', Json: 'json', Yaml: 'yaml' } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

/** Left-aligns columns; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + gap)))
      .join('')
      .trimEnd(),
  );
}

function indent(lines: readonly string[], by: string): string[] {
  return lines.map((l) => `${by}${l}`);
}

/** A pod's display name: `ns/name`, or `ns/prefix-…` for a generateName pod. */
export function podName(object: unknown, fallbackNs = ''): string {
  const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const ns = typeof meta.namespace === 'string' ? meta.namespace : fallbackNs;
  const name = objectName(object) || '(unnamed)';
  return ns ? `${ns}/${name}` : name;
}

export function requesterText(u: UserInfo): string {
  const name = u.username || '(anonymous)';
  return u.groups.length > 0 ? `${name} (groups: ${u.groups.join(', ')})` : name;
}

function outcomeRows(outcomes: readonly RuleOutcome[], withAction: boolean): string[][] {
  return outcomes.map((o) => [o.ruleId, ...(withAction ? [o.action] : []), o.result, o.message ?? '']);
}

/** A patch value on one line; long ones are cut (the mutated object below shows them whole). */
function compact(value: unknown, max = 96): string {
  const text = value === undefined ? '' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A copy with containers' env values replaced, so text reports pasted into CI logs carry no secrets. */
export function hideEnvValues(object: unknown): unknown {
  const spec = (object as { spec?: Record<string, unknown> } | null)?.spec;
  if (typeof spec !== 'object' || spec === null) return object;
  const hide = (list: unknown) =>
    Array.isArray(list)
      ? list.map((c: unknown) => {
          const env = (c as { env?: unknown } | null)?.env;
          if (!Array.isArray(env)) return c;
          return { ...(c as object), env: env.map((e: unknown) => (typeof e === 'object' && e !== null && 'value' in e ? { ...e, value: '(hidden)' } : e)) };
        })
      : list;
  return {
    ...(object as object),
    spec: { ...spec, containers: hide(spec.containers), ...(spec.initContainers ? { initContainers: hide(spec.initContainers) } : {}) },
  };
}

/** One evaluation: a status line a person can scan, then the patch, every rule's verdict and the mutated object. */
export function renderEvaluation(e: Evaluation): string {
  const status = e.allowed ? 'ALLOWED' : 'DENIED';
  const lines = [`${status}  ${e.request.kind.kind} ${podName(e.request.object, e.request.namespace)}  (${e.origin}, ${e.where})`];
  const head: string[][] = [['requester', requesterText(e.request.userInfo)]];
  if (e.createdBy !== undefined) head.push(['created by', e.createdBy]);
  // Replicas differ only in name and replica-index, which no rule reads: one verdict holds for all.
  if (e.replicas !== undefined && e.replicas !== 1)
    head.push(['replicas', `${e.replicas} (replica 0 shown; the others differ only in name and index, judged alike)`]);
  if (e.request.operation !== 'CREATE') head.push(['operation', e.request.operation]);
  const { compute, instanceType, pools } = e.facts;
  if (compute !== undefined)
    head.push(['compute', `${compute}, instance type ${instanceType || '(none)'}${pools ? `, pools ${pools.join(', ') || '(none)'}` : ''}`]);
  const patch = e.mutation.patch;
  head.push(['patch', patch.length === 0 ? 'none' : `${patch.length} operation${patch.length === 1 ? '' : 's'}`]);
  lines.push(...indent(columns(head), '  '));
  if (patch.length > 0) {
    lines.push(...indent(columns(patch.map((op) => [op.op, op.path, compact((op as { value?: unknown }).value)])), '    '));
  }
  lines.push('  mutating rules');
  lines.push(...indent(columns(outcomeRows(e.mutation.outcomes, false)), '    '));
  if (e.validation) {
    lines.push('  validating rules');
    lines.push(...indent(columns(outcomeRows(e.validation.outcomes, true)), '    '));
  }
  const answer = e.validation && (e.mutation.decision === 'allowed' || e.mutation.decision === 'patched') ? e.validation : e.mutation;
  if (answer.message !== undefined) lines.push(`  ${answer.decision} (${answer.code ?? ''}): ${answer.message}`);
  for (const err of e.schemaErrors) lines.push(`  the API server would refuse the mutated pod: ${err}`);
  for (const [name, why] of Object.entries(e.unseenBy ?? {}))
    lines.push(
      `  note: the ${name === 'mutate' ? 'mutating' : 'validating'} webhook is never called for this object (${why}); the API server admits it ${name === 'mutate' ? 'unmutated' : 'unjudged'}`,
    );
  const warnings = [...e.mutation.warnings, ...(e.validation?.warnings ?? [])];
  for (const w of warnings) lines.push(`  warning: ${w}`);
  lines.push('  mutated object (env values hidden; -o yaml shows them):');
  lines.push(...indent(stringify(hideEnvValues(e.mutated), { lineWidth: 0, aliasDuplicateObjects: false }).trimEnd().split('\n'), '    '));
  return `${lines.join('\n')}\n`;
}

/** Bad input, one line each (for stderr). */
export function renderProblems(read: Inputs): string {
  return read.problems.map((p) => `error: ${whereText(p.where)}: ${p.message}\n`).join('');
}

/** The closing lines: skipped documents and the counts. */
export function renderFooter(counts: Readonly<Record<string, number>>, read: Inputs): string {
  const lines: string[] = [];
  for (const s of read.skipped) lines.push(`skipped ${s.what} (${whereText(s.where)}): holds no pod template`);
  // What the inputs told of the cluster, so a reader sees that those documents were honoured.
  const known = [
    [read.nodes.size, 'Node'],
    [read.instanceTypes.length, 'InstanceType'],
    [read.claims.size, 'PersistentVolumeClaim'],
  ].filter(([n]) => (n as number) > 0);
  if (known.length > 0) lines.push(`cluster objects read: ${known.map(([n, kind]) => `${n} ${kind}${n === 1 ? '' : 's'}`).join(', ')}`);
  const parts = Object.entries(counts).map(([k, n]) => `${n} ${k}`);
  lines.push(`${parts.join(', ')}${read.problems.length > 0 ? `, ${read.problems.length} with bad input` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** An evaluation for -o json|yaml: the request's facts without repeating the input object. */
export function evaluationReport(e: Evaluation): Record<string, unknown> {
  const { object: _object, oldObject: _old, ...request } = e.request;
  return {
    where: e.where,
    origin: e.origin,
    ...(e.createdBy !== undefined ? { createdBy: e.createdBy } : {}),
    ...(e.replicas !== undefined ? { replicas: e.replicas } : {}),
    pod: podName(e.request.object, e.request.namespace),
    allowed: e.allowed,
    request,
    ...e.facts,
    mutation: e.mutation,
    ...(e.validation ? { validation: e.validation } : {}),
    ...(e.schemaErrors.length > 0 ? { schemaErrors: e.schemaErrors } : {}),
    ...(e.unseenBy ? { unseenBy: e.unseenBy } : {}),
    mutated: e.mutated,
  };
}

export function serialize(format: OutputFormat, value: unknown): string {
  return format === OutputFormat.Yaml ? yamlText(value) : `${JSON.stringify(value, null, 2)}\n`;
}

function yamlText(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * Objects as `kubectl apply -f -` reads them: a YAML stream of documents, or a JSON `v1 List`
 * (a JSON stream of objects is not one kubectl's decoder takes in every version).
 */
export function serializeObjects(format: OutputFormat, objects: readonly unknown[]): string {
  if (format === OutputFormat.Yaml) return objects.map((o) => `---\n${yamlText(o)}`).join('');
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: {}, items: objects }, null, 2)}\n`;
}
