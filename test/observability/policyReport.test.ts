import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { parse, parseAllDocuments } from 'yaml';
import type { RuleOutcome } from '../../src/admission/verdict.js';
import { NoPolicyReportCrd, type ReportWriter } from '../../src/kube/policyReports.js';
import { BackgroundAudit, PodIndex } from '../../src/observability/backgroundAudit.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { policyReports, resultOf, type PolicyReport } from '../../src/observability/policyReport.js';
import { loadPolicy } from '../../src/policy/loader.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { runCli } from '../commands/helpers.js';
import { LogCapture } from '../helpers/server.js';

const policyFile = new URL('../fixtures/validation/policy.yaml', import.meta.url).pathname;
const podsFile = new URL('../fixtures/validation/audit/pods.yaml', import.meta.url).pathname;
const crd = parse(readFileSync(new URL('../../deploy/crds/policyreports.yaml', import.meta.url), 'utf8')) as Record<string, any>;
const schema = crd.spec.versions.find((v: { name: string }) => v.name === 'v1alpha2').schema.openAPIV3Schema;
// The CRD's structural schema, as the API server checks objects against it (formats int32/int64 are OpenAPI's).
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validReport = ajv.compile(schema);

const pod = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, uid: `${name}-uid` } });
const o = (ruleId: string, action: string, result: RuleOutcome['result']): RuleOutcome => ({ ruleId, action, result, message: `${ruleId} ${result}` });
const now = new Date('2026-12-03T12:00:00Z');

describe('PolicyReports', () => {
  it('The CRD is a valid CustomResourceDefinition for wgpolicyk8s.io/v1alpha2 PolicyReport.', () => {
    new CustomResourceDefinition(crd as ConstructorParameters<typeof CustomResourceDefinition>[0]).validate();
    assert.equal(crd.metadata.name, 'policyreports.wgpolicyk8s.io');
    assert.equal(crd.spec.names.kind, 'PolicyReport');
  });

  it('Maps outcomes to results: only a deny-level failure is fail; warn and audit ones are warn, not scored.', () => {
    assert.deepEqual(resultOf(o('a', 'deny', 'fail')), { result: 'fail', scored: true, severity: 'high' });
    assert.deepEqual(resultOf(o('a', 'warn', 'fail')), { result: 'warn', scored: false, severity: 'medium' });
    assert.deepEqual(resultOf(o('a', 'audit', 'fail')), { result: 'warn', scored: false, severity: 'low' });
    assert.equal(resultOf(o('a', 'deny', 'error')).result, 'error');
    assert.equal(resultOf(o('a', 'deny', 'skipped')).result, 'skip');
    assert.equal(resultOf(o('a', 'deny', 'pass')).result, 'pass');
  });

  it("Reports a workload's template on the workload (no such pod exists yet), with the template's path; valid against the CRD.", () => {
    const [report] = policyReports(
      [
        {
          pod: pod('team-a', 'bert-worker-0'),
          outcomes: [o('node-pool-targeting', 'deny', 'fail')],
          workload: { apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', name: 'bert', uid: 'job-uid', at: 'spec.pytorchReplicaSpecs.Worker.template' },
        },
      ],
      { now },
    );
    assert.deepEqual(report!.results[0]!.resources, [{ apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', name: 'bert', uid: 'job-uid', namespace: 'team-a' }]);
    assert.deepEqual(report!.results[0]!.properties, { action: 'deny', template: 'spec.pytorchReplicaSpecs.Worker.template' });
    assert.ok(validReport(report), JSON.stringify(validReport.errors));
  });

  it('Writes one report per namespace, a result per pod and rule with the pod as resource, and a summary; each valid against the CRD.', () => {
    const reports = policyReports(
      [
        { pod: pod('team-a', 'p1'), outcomes: [o('node-pool-targeting', 'deny', 'fail'), o('gpu-quota', 'warn', 'pass')] },
        { pod: pod('team-b', 'p2'), outcomes: [o('node-pool-targeting', 'deny', 'skipped')] },
        { pod: pod('team-a', 'p3'), outcomes: [o('image-registry', 'audit', 'fail')] },
      ],
      { now, digest: 'abc' },
    );
    assert.deepEqual(
      reports.map((r) => [r.metadata.namespace, r.metadata.name, r.summary]),
      [
        ['team-a', 'aml-admission', { pass: 1, fail: 1, warn: 1, error: 0, skip: 0 }],
        ['team-b', 'aml-admission', { pass: 0, fail: 0, warn: 0, error: 0, skip: 1 }],
      ],
    );
    const first = reports[0]!.results[0]!;
    assert.equal(first.policy, 'aml-admission');
    assert.equal(first.rule, 'node-pool-targeting');
    assert.deepEqual(first.resources, [{ apiVersion: 'v1', kind: 'Pod', namespace: 'team-a', name: 'p1', uid: 'p1-uid' }]);
    assert.deepEqual(first.timestamp, { seconds: now.getTime() / 1000, nanos: 0 });
    assert.equal(reports[0]!.metadata.annotations?.['aml-admission.azure.com/policy-digest'], 'abc');
    for (const r of reports) assert.ok(validReport(r), JSON.stringify(validReport.errors));
  });

  it('Bounds the results (the worst kept) and says how many it left out; the summary counts all.', () => {
    const outcomes = [o('a', 'deny', 'pass'), o('b', 'deny', 'pass'), o('c', 'deny', 'fail'), o('d', 'deny', 'error')];
    const [report] = policyReports([{ pod: pod('ns', 'p'), outcomes }], { now, maxResults: 2 });
    assert.deepEqual(
      report!.results.map((r) => r.result),
      ['error', 'fail'],
    );
    assert.equal(report!.summary.pass, 2);
    assert.equal(report!.metadata.annotations?.['aml-admission.azure.com/results-omitted'], '2');
  });

  it('The CRD schema refuses what the API server would: a result outside pass|fail|warn|error|skip.', () => {
    const [report] = policyReports([{ pod: pod('ns', 'p'), outcomes: [o('a', 'deny', 'fail')] }], { now });
    assert.equal(validReport({ ...report, results: [{ ...report!.results[0], result: 'failed' }] }), false);
  });

  it('audit -o policyreport prints one PolicyReport per namespace as YAML documents, and exits as audit does.', async () => {
    const run = await runCli(['audit', '-f', podsFile, '--policy', policyFile, '-o', 'policyreport']);
    assert.equal(run.code, 1, run.err);
    const reports = parseAllDocuments(run.out).map((d) => d.toJS() as PolicyReport);
    assert.deepEqual(
      reports.map((r) => [r.apiVersion, r.kind, r.metadata.namespace]),
      [
        ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'azureml'],
        ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'default'],
      ],
    );
    const failed = reports.flatMap((r) =>
      r.results.filter((x) => x.result === 'fail').map((x) => `${x.resources[0]!.namespace}/${x.resources[0]!.name} ${x.rule}`),
    );
    assert.deepEqual(failed.sort(), ['azureml/gpu-on-cpu node-pool-targeting', 'default/sneaky reserved-pools', 'default/wrong-namespace identity-claims']);
    for (const r of reports) assert.ok(validReport(r), JSON.stringify(validReport.errors));
    assert.doesNotMatch(run.out, /[&*]a\d/, 'no YAML aliases: every result names its pod');
  });

  describe('background audit', () => {
    class MemoryWriter implements ReportWriter {
      readonly reports = new Map<string, PolicyReport>();
      missing = false;
      async apply(report: PolicyReport) {
        if (this.missing) throw new NoPolicyReportCrd('the server could not find the requested resource');
        const had = this.reports.has(report.metadata.namespace);
        this.reports.set(report.metadata.namespace, report);
        return had ? ('replaced' as const) : ('created' as const);
      }
      async remove(namespace: string) {
        this.reports.delete(namespace);
      }
    }
    const loaded = loadPolicy(readFileSync(policyFile, 'utf8'));
    if (!loaded.ok) throw new Error('test policy');
    const snapshot = new PolicySnapshot(loaded.policy);
    const audited = parse(readFileSync(podsFile, 'utf8')).items as unknown[];

    async function violations(metrics: Metrics): Promise<string[]> {
      const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'aml_admission_audit_violations')!;
      return m.values.map((v) => `${v.labels.namespace} ${v.labels.rule} ${v.labels.action} ${v.value}`).sort();
    }

    it('Judges the informed pods, writes a report per namespace, counts violations, and drops the report of a namespace left without pods.', async () => {
      const index = new PodIndex();
      for (const p of audited) index.upsert(p);
      const writer = new MemoryWriter();
      const metrics = new Metrics({ defaultMetrics: false });
      const audit = new BackgroundAudit({
        intervalMs: 60_000,
        pods: () => index.values(),
        snapshot: () => snapshot,
        writer,
        metrics,
        logger: createLogger({ level: 'silent' }),
      });
      await audit.runOnce();
      assert.deepEqual([...writer.reports.keys()].sort(), ['azureml', 'default']);
      assert.deepEqual(await violations(metrics), ['azureml node-pool-targeting deny 1', 'default identity-claims deny 1', 'default reserved-pools deny 1']);

      index.remove('azureml', 'gpu-on-cpu');
      index.remove('azureml', 'vit-worker-0');
      await audit.runOnce();
      assert.deepEqual([...writer.reports.keys()], ['default'], 'azureml has no pods left: its report is removed');
      assert.deepEqual(await violations(metrics), ['default identity-claims deny 1', 'default reserved-pools deny 1'], 'the gauge is replaced, not added to');
    });

    it('Without the CRD says so once, counts the rounds as failures, and writes once the CRD appears.', async () => {
      const writer = new MemoryWriter();
      writer.missing = true;
      const logs = new LogCapture();
      const metrics = new Metrics({ defaultMetrics: false });
      const audit = new BackgroundAudit({
        intervalMs: 60_000,
        pods: () => audited,
        snapshot: () => snapshot,
        writer,
        metrics,
        logger: createLogger({ level: 'info', destination: logs }),
      });
      await audit.runOnce();
      await audit.runOnce();
      assert.equal(logs.lines.filter((l) => String(l.msg).includes('CRD (wgpolicyk8s.io/v1alpha2) is not installed')).length, 1);
      writer.missing = false;
      await audit.runOnce();
      assert.equal(writer.reports.size, 2);
      const rounds = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'aml_admission_background_audits_total')!;
      assert.deepEqual(Object.fromEntries(rounds.values.map((v) => [v.labels.result, v.value])), { failure: 2, success: 1 });
    });

    it('The pod index keeps pods as plain JSON without managedFields.', () => {
      const index = new PodIndex();
      index.upsert({ metadata: { name: 'p', namespace: 'n', managedFields: [{ manager: 'kubectl' }], creationTimestamp: new Date(0) } });
      assert.deepEqual(index.values(), [{ metadata: { name: 'p', namespace: 'n', creationTimestamp: '1970-01-01T00:00:00.000Z' } }]);
    });
  });
});
