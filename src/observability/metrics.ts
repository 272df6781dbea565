import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionRequest } from '../admission/request.js';
import { PACKAGE_VERSION } from '../util/packageInfo.js';

/**
 * The labels users filter admission metrics by. `compute` is bounded by the policy: a compute
 * it defines, `other` for a pod naming one it does not (any string a user writes would otherwise
 * become a series), `none` for a pod that is not an AML pod and for requests about other kinds.
 */
export interface RequestLabels {
  readonly operation: string;
  readonly dry_run: 'true' | 'false';
  readonly compute: string;
}

export const COMPUTE_NONE = 'none';
export const COMPUTE_OTHER = 'other';

export function requestLabels(request: AdmissionRequest, compute: string | undefined, defined: (compute: string) => boolean): RequestLabels {
  return {
    operation: request.operation,
    dry_run: request.dryRun ? 'true' : 'false',
    compute: compute === undefined ? COMPUTE_NONE : defined(compute) ? compute : COMPUTE_OTHER,
  };
}

/** The children of the request counter and latency histogram for one label set. */
interface RequestSeries {
  readonly count: { inc(): void };
  readonly latency: { observe(seconds: number): void };
}

/**
 * All metrics live on one Registry created per process (never prom-client's global one), so
 * tests build their own and read them back without module mocking.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'endpoint' | 'decision' | keyof RequestLabels>;
  readonly latency: Histogram<'endpoint' | keyof RequestLabels>;
  readonly ruleResults: Counter<'rule' | 'action' | 'result' | keyof RequestLabels>;
  readonly policyReloads: Counter<'source' | 'result'>;
  readonly certExpiry: Gauge<'certificate'>;
  readonly connections: Gauge<'state'>;
  readonly connectionsRefused: Counter<'reason'>;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  readonly policyInfo: Gauge<'digest'>;
  readonly extenderCache: Gauge<'kind'>;
  readonly informerRestarts: Counter<'resource'>;
  readonly events: Counter<'reason' | 'result'>;
  readonly auditViolations: Gauge<'rule' | 'action' | 'namespace'>;
  readonly backgroundAudits: Counter<'result'>;
  private connectionSource: (() => { open: number; handshaking: number }) | undefined;
  private policySource: (() => string) | undefined;
  private cacheSource: (() => { readonly nodes: number; readonly pods: number }) | undefined;
  /** prom-client hashes a label object on every observation; the label sets are few, so keep their children. */
  private readonly series = new Map<string, RequestSeries>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'aml_admission_' });
    this.requests = new Counter({
      name: 'aml_admission_requests_total',
      help: 'Requests served, by endpoint and decision (allowed, denied, patched, errored, bad_request, ...); admission reviews also by operation, dry_run and compute.',
      labelNames: ['endpoint', 'decision', 'operation', 'dry_run', 'compute'],
      registers,
    });
    this.latency = new Histogram({
      name: 'aml_admission_request_duration_seconds',
      help: 'Time from the request reaching the server to the answer being written, by endpoint; admission reviews also by operation, dry_run and compute.',
      labelNames: ['endpoint', 'operation', 'dry_run', 'compute'],
      // Webhook answers are sub-millisecond when healthy; the API server gives up at 10-30 s.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.ruleResults = new Counter({
      name: 'aml_admission_rule_results_total',
      help: 'Rule outcomes, by rule id, enforcement action and result (pass, fail, mutated, skipped, error), operation, dry_run and compute.',
      labelNames: ['rule', 'action', 'result', 'operation', 'dry_run', 'compute'],
      registers,
    });
    this.policyReloads = new Counter({
      name: 'aml_admission_policy_reloads_total',
      help: 'Policy loads, by source (builtin, file, configmap) and result (success, failure).',
      labelNames: ['source', 'result'],
      registers,
    });
    this.certExpiry = new Gauge({
      name: 'aml_admission_certificate_expiry_timestamp_seconds',
      help: 'Unix time at which the serving certificate (and client CA, when set) expires.',
      labelNames: ['certificate'],
      aggregator: 'min', // across --workers
      registers,
    });
    const source = () => this.connectionSource?.();
    this.connections = new Gauge({
      name: 'aml_admission_connections',
      help: 'Open client connections: all of them (state="open") and those still in their TLS handshake (state="handshake").',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = source();
        if (counts === undefined) return;
        this.set({ state: 'open' }, counts.open);
        this.set({ state: 'handshake' }, counts.handshaking);
      },
    });
    this.connectionsRefused = new Counter({
      name: 'aml_admission_connections_refused_total',
      help: 'Connections closed on accept, by the limit reached (max-connections, max-handshakes).',
      labelNames: ['reason'],
      registers,
    });
    this.buildInfo = new Gauge({
      name: 'aml_admission_build_info',
      help: 'Always 1; the labels say which aml-admission version runs on which Node.js.',
      labelNames: ['version', 'node_version'],
      aggregator: 'max', // across --workers
      registers,
    });
    this.buildInfo.set({ version: PACKAGE_VERSION, node_version: process.version }, 1);
    const policy = () => this.policySource?.();
    this.policyInfo = new Gauge({
      name: 'aml_admission_policy_info',
      help: 'Always 1; digest is the sha256 of the policy in force (its JSON with keys sorted), so replicas serving different policies show.',
      labelNames: ['digest'],
      aggregator: 'max', // across --workers
      registers,
      collect() {
        const digest = policy();
        if (digest === undefined) return;
        this.reset(); // one series: the previous policy's digest goes with the reload
        this.set({ digest }, 1);
      },
    });
    const cache = () => this.cacheSource?.();
    this.extenderCache = new Gauge({
      name: 'aml_admission_extender_cache_objects',
      help: 'Objects in the node cache the extender schedules by (and the webhooks judge spec.nodeName by): kind="nodes", and kind="pods", the active pods bound to them.',
      labelNames: ['kind'],
      aggregator: 'max', // across --workers
      registers,
      collect() {
        const size = cache();
        if (size === undefined) return;
        this.set({ kind: 'nodes' }, size.nodes);
        this.set({ kind: 'pods' }, size.pods);
      },
    });
    this.informerRestarts = new Counter({
      name: 'aml_admission_informer_restarts_total',
      help: 'List-watch restarts after a failure (a reset connection, a 5xx, a failed list), by resource (nodes, pods, configmaps, ...).',
      labelNames: ['resource'],
      registers,
    });
    this.events = new Counter({
      name: 'aml_admission_events_total',
      help: 'Kubernetes Events for admission outcomes (serve --events), by reason and result: posted, failed (the API refused), rate_limited, queue_full.',
      labelNames: ['reason', 'result'],
      registers,
    });
    this.auditViolations = new Gauge({
      name: 'aml_admission_audit_violations',
      help: 'Existing pods failing a validating rule at the last background audit (serve --background-audit-interval), by rule, enforcement action and namespace.',
      labelNames: ['rule', 'action', 'namespace'],
      aggregator: 'max', // across --workers
      registers,
    });
    this.backgroundAudits = new Counter({
      name: 'aml_admission_background_audits_total',
      help: 'Background audit rounds, by result: success (every report written), failure (some not written, or no PolicyReport CRD).',
      labelNames: ['result'],
      registers,
    });
  }

  /** Counts one answered request and observes its latency; `labels` only for admission reviews. */
  recordRequest(endpoint: string, decision: string, labels: RequestLabels | undefined, seconds: number): void {
    const key =
      labels === undefined
        ? `${endpoint}\u0000${decision}`
        : `${endpoint}\u0000${decision}\u0000${labels.operation}\u0000${labels.dry_run}\u0000${labels.compute}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = { count: this.requests.labels({ endpoint, decision, ...labels }), latency: this.latency.labels({ endpoint, ...labels }) };
      this.series.set(key, series);
    }
    series.count.inc();
    series.latency.observe(seconds);
  }

  /** Where the policy digest gauge reads the digest of the policy in force. */
  observePolicy(digest: () => string): void {
    this.policySource = digest;
  }

  /** Where the extender cache gauge reads its sizes (the cache may be swapped whole: read it through a function). */
  observeExtenderCache(size: () => { readonly nodes: number; readonly pods: number }): void {
    this.cacheSource = size;
  }

  /** Where the connection gauge reads its values (the HTTPS server, once it exists). */
  observeConnections(source: () => { open: number; handshaking: number }): void {
    this.connectionSource = source;
  }
}
