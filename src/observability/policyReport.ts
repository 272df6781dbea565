import type { RuleOutcome } from '../admission/verdict.js';
import { isObject } from '../k8s/json.js';

/** wg-policy-prototypes' PolicyReport, the version Kyverno writes and Policy Reporter reads. */
export const POLICY_REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';
export const POLICY_REPORT_GROUP = 'wgpolicyk8s.io';
export const POLICY_REPORT_VERSION = 'v1alpha2';
export const POLICY_REPORT_PLURAL = 'policyreports';
/** One report per namespace, always this name, so a round replaces the previous one. */
export const POLICY_REPORT_NAME = 'aml-admission';
/** The `policy` of every result: the admission policy (its rules are the results' `rule`). */
export const REPORT_POLICY = 'aml-admission';
export const REPORT_SOURCE = 'aml-admission';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'aml-admission' } as const;
/** Results per report at most: etcd refuses objects over 1.5 MiB; a result is about 400 bytes. */
export const DEFAULT_MAX_RESULTS = 1000;

export type ReportResultKind = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

export interface PolicyReportResult {
  readonly policy: string;
  readonly rule: string;
  readonly result: ReportResultKind;
  readonly scored: boolean;
  readonly severity?: 'high' | 'medium' | 'low';
  readonly source: string;
  readonly message?: string;
  readonly timestamp: { readonly seconds: number; readonly nanos: number };
  readonly resources: readonly ObjectRef[];
  readonly properties: Readonly<Record<string, string>>;
}

export interface PolicyReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface PolicyReport {
  readonly apiVersion: typeof POLICY_REPORT_API_VERSION;
  readonly kind: 'PolicyReport';
  readonly metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  readonly summary: PolicyReportSummary;
  readonly results: readonly PolicyReportResult[];
}

/** One judged pod: where it is and every validating rule's outcome. */
export interface JudgedPod {
  readonly pod: unknown;
  readonly outcomes: readonly RuleOutcome[];
  /** For a workload's pod template: the workload the results are about (no such pod exists), and the template's path. */
  readonly workload?: Omit<ObjectRef, 'namespace'> & { readonly at: string };
}

/**
 * A rule outcome as a report result. Only a deny-level failure is `fail` (the webhook refuses
 * such pods today); warn- and audit-level failures are `warn`, not scored, as `audit` counts them;
 * a rule that could not judge is `error`; one that did not apply is `skip`.
 */
export function resultOf(o: RuleOutcome): { result: ReportResultKind; scored: boolean; severity?: 'high' | 'medium' | 'low' } {
  switch (o.result) {
    case 'pass':
      return { result: 'pass', scored: true };
    case 'skipped':
      return { result: 'skip', scored: true };
    case 'error':
      return { result: 'error', scored: true, severity: 'high' };
    default:
      if (o.action === 'deny') return { result: 'fail', scored: true, severity: 'high' };
      return { result: 'warn', scored: false, severity: o.action === 'warn' ? 'medium' : 'low' };
  }
}

function podRef(pod: unknown, namespace: string): ObjectRef {
  const meta = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  return { apiVersion: 'v1', kind: 'Pod', namespace, name, ...(typeof meta.uid === 'string' && meta.uid !== '' ? { uid: meta.uid } : {}) };
}

/** The namespace a pod's results are reported in (a pod from a file without one: `default`, as kubectl would create it). */
export function namespaceOf(pod: unknown): string {
  const meta = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
  return typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
}

const SEVERITY_ORDER: Readonly<Record<ReportResultKind, number>> = { error: 0, fail: 1, warn: 2, skip: 3, pass: 4 };

/**
 * One PolicyReport per namespace of the judged pods (pure), a result per pod and rule. The summary
 * counts every result; the results themselves are bounded (`maxResults`, the worst first), and a
 * report that dropped some says how many in an annotation.
 */
export function policyReports(pods: readonly JudgedPod[], opts: { now: Date; maxResults?: number; digest?: string }): PolicyReport[] {
  const seconds = Math.floor(opts.now.getTime() / 1000);
  const max = opts.maxResults ?? DEFAULT_MAX_RESULTS;
  const byNamespace = new Map<string, PolicyReportResult[]>();
  for (const { pod, outcomes, workload } of pods) {
    const namespace = namespaceOf(pod);
    let results = byNamespace.get(namespace);
    if (results === undefined) byNamespace.set(namespace, (results = []));
    const { at, ...owner } = workload ?? { at: undefined };
    const ref = workload ? { ...(owner as Omit<ObjectRef, 'namespace'>), namespace } : podRef(pod, namespace);
    for (const o of outcomes) {
      const r = resultOf(o);
      results.push({
        policy: REPORT_POLICY,
        rule: o.ruleId,
        result: r.result,
        scored: r.scored,
        ...(r.severity ? { severity: r.severity } : {}),
        source: REPORT_SOURCE,
        ...(o.message ? { message: o.message } : {}),
        timestamp: { seconds, nanos: 0 },
        resources: [ref],
        properties: { action: o.action, ...(at ? { template: at } : {}) },
      });
    }
  }
  return [...byNamespace.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([namespace, results]) => {
      const summary: PolicyReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
      for (const r of results) summary[r.result] += 1;
      const kept = results.length > max ? [...results].sort((a, b) => SEVERITY_ORDER[a.result] - SEVERITY_ORDER[b.result]).slice(0, max) : results;
      const annotations: Record<string, string> = {
        ...(opts.digest ? { 'aml-admission.azure.com/policy-digest': opts.digest } : {}),
        ...(kept.length < results.length ? { 'aml-admission.azure.com/results-omitted': String(results.length - kept.length) } : {}),
      };
      return {
        apiVersion: POLICY_REPORT_API_VERSION,
        kind: 'PolicyReport',
        metadata: { name: POLICY_REPORT_NAME, namespace, labels: { ...MANAGED_BY }, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        summary,
        results: kept,
      };
    });
}

/** Failing pods per rule, enforcement action and namespace: the aml_admission_audit_violations gauge's values. */
export function violationCounts(pods: readonly JudgedPod[]): Map<string, { rule: string; action: string; namespace: string; count: number }> {
  const counts = new Map<string, { rule: string; action: string; namespace: string; count: number }>();
  for (const { pod, outcomes } of pods) {
    const namespace = namespaceOf(pod);
    for (const o of outcomes) {
      if (o.result !== 'fail') continue;
      const key = `${o.ruleId}\u0000${o.action}\u0000${namespace}`;
      const c = counts.get(key);
      if (c) c.count += 1;
      else counts.set(key, { rule: o.ruleId, action: o.action, namespace, count: 1 });
    }
  }
  return counts;
}
