import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Histogram } from 'prom-client';
import { parseAllDocuments } from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read as plain JSON */
type Obj = Record<string, any>;

const root = new URL('../..', import.meta.url).pathname;

/** deploy/ with the monitoring component, as an overlay adds it (kustomize refuses absolute paths). */
function renderWithMonitoring(): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), 'aml-monitoring-'));
  try {
    const rel = relative(dir, root);
    writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${rel}/deploy]\ncomponents: [${rel}/deploy/monitoring]\n`);
    return parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rendered = renderWithMonitoring();
const find = (kind: string, name: string): Obj => {
  const found = rendered.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name} is rendered`);
  return found;
};
const rule = find('PrometheusRule', 'azureml-connector-admission');
const monitor = find('ServiceMonitor', 'azureml-connector-admission');
const metricsService = find('Service', 'azureml-connector-admission-metrics');
const admission = find('Deployment', 'azureml-connector-admission');
const server = admission.spec.template.spec.containers[0];
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8')) as Obj;

/** The metrics the server registers (with Node's process metrics, which the dashboard reads), by name. */
const registry = new Metrics().registry;
const metricByName = new Map(registry.getMetricsAsArray().map((m) => [m.name, m]));
/** Labels Prometheus adds to every scraped series (the ServiceMonitor's target labels). */
const TARGET_LABELS = ['namespace', 'pod', 'service', 'job', 'instance', 'container'];

/** A scraped series name → the registered metric it comes from (a histogram's _bucket, _sum, _count). */
function metricOf(series: string): { metric: any; extra: string[] } | undefined {
  const direct = metricByName.get(series);
  if (direct) return { metric: direct, extra: [] };
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  const base = m ? metricByName.get(m[1]!) : undefined;
  return base instanceof Histogram ? { metric: base, extra: m![2] === 'bucket' ? ['le'] : [] } : undefined;
}

/**
 * Parses one PromQL expression with Prometheus' own grammar (Grafana's interval variables
 * replaced by a duration first) and answers what is wrong with it: parse errors, series no
 * registered metric produces, label matchers naming a label the metric lacks.
 */
function promqlProblems(expr: string): string[] {
  const q = expr.replace(/\$__(rate_)?interval/g, '5m');
  const problems: string[] = [];
  parser.parse(q).iterate({
    enter: (n) => {
      if (n.type.isError) problems.push(`parse error at ${n.from} in ${q}`);
      if (n.name !== 'VectorSelector') return;
      const id = n.node.getChild('Identifier');
      if (!id) return void problems.push(`a selector without a metric name in ${q}`);
      const name = q.slice(id.from, id.to);
      const found = metricOf(name);
      if (!found) return void problems.push(`${name} is not a registered metric`);
      const known = [...(found.metric.labelNames as string[]), ...found.extra, ...TARGET_LABELS];
      for (const matcher of n.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = matcher.getChild('LabelName')!;
        const labelName = q.slice(label.from, label.to);
        if (!known.includes(labelName)) problems.push(`${name} has no label ${labelName}`);
      }
    },
  });
  return problems;
}

const alertRules: Obj[] = rule.spec.groups.flatMap((g: Obj) => g.rules);
const alert = (name: string): Obj => alertRules.find((r) => r.alert === name)!;
const dashboardPanels: Obj[] = dashboard.panels.filter((p: Obj) => p.type !== 'row');

describe('deploy/monitoring (ServiceMonitor, PrometheusRule, Grafana dashboard)', () => {
  it('Is a component, not part of deploy/ itself (its CRDs may be absent).', () => {
    const base = parseAllDocuments(execFileSync('kubectl', ['kustomize', join(root, 'deploy')], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);
    assert.deepEqual(
      base.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind)),
      [],
    );
    const deployment = base.find((o) => o.kind === 'Deployment' && o.metadata.name === 'azureml-connector-admission')!;
    assert.ok(!(deployment.spec.template.spec.containers[0].args as string[]).some((a) => a.startsWith('--metrics-port')));
  });

  it('Turns on the plain-HTTP metrics port and scrapes it: Deployment port, metrics Service, ServiceMonitor agree.', () => {
    const port = Number((server.args as string[]).find((a) => a.startsWith('--metrics-port='))?.split('=')[1]);
    assert.deepEqual(
      server.ports.find((p: Obj) => p.name === 'metrics'),
      { name: 'metrics', containerPort: port, protocol: 'TCP' },
    );
    const servicePort = metricsService.spec.ports.find((p: Obj) => p.targetPort === 'metrics');
    assert.ok(servicePort, 'the metrics Service targets the named port');
    assert.deepEqual(metricsService.spec.selector, admission.spec.selector.matchLabels, 'it selects the admission pods');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(metricsService.metadata.labels[k], v, `the ServiceMonitor selects it (${k})`);
    const webhookService = find('Service', 'azureml-connector-admission');
    assert.ok(
      Object.entries(monitor.spec.selector.matchLabels).some(([k, v]) => webhookService.metadata.labels[k] !== v),
      'and not the webhook Service (HTTPS, no /metrics scrape there)',
    );
    assert.deepEqual(monitor.spec.namespaceSelector.matchNames, [metricsService.metadata.namespace]);
    const [endpoint] = monitor.spec.endpoints;
    assert.equal(endpoint.port, servicePort.name);
    assert.equal(endpoint.path, '/metrics');
    assert.equal(endpoint.scheme, 'http');
    assert.equal(endpoint.honorLabels, true, 'our `endpoint` label must not be renamed exported_endpoint');
    new Service(metricsService).validate();
    new Deployment(admission).validate();
  });

  it('Ships the dashboard as a ConfigMap the Grafana sidecar loads, with the JSON file as it is.', () => {
    const cm = find('ConfigMap', 'aml-admission-grafana-dashboard');
    new ConfigMap(cm).validate();
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    assert.deepEqual(JSON.parse(cm.data['aml-admission.json']), dashboard);
  });

  it('Alerts on certificate expiry, latency near the webhook timeout, reload failures and the denial rate.', () => {
    const uses = (metric: string) => alertRules.filter((r) => r.expr.includes(metric)).map((r) => r.alert);
    assert.ok(uses('aml_admission_certificate_expiry_timestamp_seconds').length > 0);
    assert.ok(uses('aml_admission_request_duration_seconds_bucket').includes('AmlAdmissionLatencyNearTimeout'));
    assert.ok(uses('aml_admission_policy_reloads_total{result="failure"}').length > 0);
    assert.ok(alert('AmlAdmissionHighDenialRate').expr.includes('decision="denied"'));
    for (const r of alertRules) {
      assert.ok(['warning', 'critical'].includes(r.labels?.severity), `${r.alert} has a severity`);
      assert.ok(r.annotations?.summary && r.annotations?.description, `${r.alert} says what and what to do`);
    }
  });

  it("Sets the latency alert at half the webhooks' timeoutSeconds (webhook-config/), on a bucket boundary.", () => {
    const dir = join(root, 'webhook-config');
    const timeouts = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) =>
        parseAllDocuments(readFileSync(join(dir, f), 'utf8')).flatMap((d) => ((d.toJS() as Obj).webhooks as Obj[]).map((w) => w.timeoutSeconds as number)),
      );
    assert.ok(timeouts.length >= 2 && timeouts.every((t) => Number.isFinite(t)), 'every webhook sets timeoutSeconds');
    const timeout = Math.min(...timeouts);
    const r = alert('AmlAdmissionLatencyNearTimeout');
    const threshold = Number(/>\s*([0-9.]+)\s*$/.exec(r.expr)?.[1]);
    assert.equal(threshold, timeout / 2);
    const buckets = (registry.getSingleMetric('aml_admission_request_duration_seconds') as unknown as { upperBounds: number[] }).upperBounds;
    assert.ok(buckets.includes(threshold), `${threshold} s is a bucket of the histogram (so its quantile is not interpolated across ${buckets.join(', ')})`);
    assert.match(r.annotations.description, new RegExp(`times out at ${timeout} s`));
  });

  it('Every alert expression parses as PromQL and reads only metrics and labels the server registers.', () => {
    assert.ok(alertRules.length >= 4);
    for (const r of alertRules) assert.deepEqual(promqlProblems(r.expr), [], r.alert);
  });

  it('Every dashboard query parses as PromQL and reads only metrics and labels the server registers.', () => {
    const targets = dashboardPanels.flatMap((p) => p.targets as Obj[]);
    assert.ok(targets.length >= 10);
    for (const t of targets) assert.deepEqual(promqlProblems(t.expr), [], t.expr);
  });

  it("The dashboard's variables read labels the metrics have, and every panel uses the data source variable.", () => {
    for (const v of dashboard.templating.list.filter((t: Obj) => t.type === 'query')) {
      const m = /^label_values\((\w+)(\{.*\})?, *(\w+)\)$/.exec(v.query.query);
      assert.ok(m, v.query.query);
      assert.deepEqual(promqlProblems(`${m[1]}${m[2] ?? ''}`), [], v.name);
      assert.ok([...(metricOf(m[1]!)!.metric.labelNames as string[]), ...TARGET_LABELS].includes(m[3]!), `${m[1]} has label ${m[3]}`);
    }
    for (const p of dashboardPanels) assert.equal(p.datasource.uid, '${datasource}', p.title);
    const ids = dashboard.panels.map((p: Obj) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  });

  it('The checks above catch a misspelt metric, an unknown label and a PromQL syntax error.', () => {
    assert.match(promqlProblems('rate(aml_admission_request_total[5m])').join(), /not a registered metric/);
    assert.match(promqlProblems('aml_admission_requests_total{dryrun="true"}').join(), /has no label dryrun/);
    assert.match(promqlProblems('sum(rate(aml_admission_requests_total[5m])').join(), /parse error/);
  });
});
