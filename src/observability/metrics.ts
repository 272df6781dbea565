import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * All metrics live on one Registry created per process (never prom-client's global one), so
 * tests build their own and read them back without module mocking.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'endpoint' | 'decision'>;
  readonly latency: Histogram<'endpoint'>;
  readonly ruleResults: Counter<'rule' | 'action' | 'result'>;
  readonly policyReloads: Counter<'source' | 'result'>;
  readonly certExpiry: Gauge<'certificate'>;
  readonly connections: Gauge<'state'>;
  readonly connectionsRefused: Counter<'reason'>;
  private connectionSource: (() => { open: number; handshaking: number }) | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'aml_admission_' });
    this.requests = new Counter({
      name: 'aml_admission_requests_total',
      help: 'Requests served, by endpoint and decision (allowed, denied, patched, errored, bad_request, ...).',
      labelNames: ['endpoint', 'decision'],
      registers,
    });
    this.latency = new Histogram({
      name: 'aml_admission_request_duration_seconds',
      help: 'Time from the request reaching the server to the answer being written, by endpoint.',
      labelNames: ['endpoint'],
      // Webhook answers are sub-millisecond when healthy; the API server gives up at 10-30 s.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.ruleResults = new Counter({
      name: 'aml_admission_rule_results_total',
      help: 'Rule outcomes, by rule id, enforcement action and result (pass, fail, mutated, skipped, error).',
      labelNames: ['rule', 'action', 'result'],
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
  }

  /** Where the connection gauge reads its values (the HTTPS server, once it exists). */
  observeConnections(source: () => { open: number; handshaking: number }): void {
    this.connectionSource = source;
  }
}
