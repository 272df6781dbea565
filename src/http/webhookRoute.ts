import { review, type ReviewOutcome, type Webhook } from '../admission/webhook.js';
import { requestLabels, type RequestLabels } from '../observability/metrics.js';
import { jsonRoute, type JsonRouteDeps, type RawHandler } from './jsonRoute.js';

/**
 * Told about every review before its answer is written (the audit log is one), so what it
 * records survives a crash right after the answer; must not throw, and must be quick.
 */
export type ReviewObserver = (outcome: ReviewOutcome, endpoint: string, latencyMs: number) => void;

export interface WebhookRouteDeps extends JsonRouteDeps {
  readonly observers?: readonly ReviewObserver[];
  /** Whether the policy in force defines a compute (the metrics' `compute` label is one it does, or `other`). */
  readonly definedCompute: (compute: string) => boolean;
}

function logFields(outcome: ReviewOutcome, endpoint: string, ms: number) {
  const r = outcome.request;
  return {
    endpoint,
    uid: r.uid,
    kind: r.kind.kind,
    operation: r.operation,
    namespace: r.namespace,
    name: r.name,
    decision: outcome.verdict.kind,
    dryRun: r.dryRun,
    latencyMs: Math.round(ms * 1000) / 1000,
  };
}

/**
 * An admission webhook on the hot path (see jsonRoute): AdmissionReview in, AdmissionReview out;
 * per-rule metrics, a debug line and the observers (the audit log writes the info line), then the answer.
 */
export function webhookRoute(webhook: Webhook, deps: WebhookRouteDeps): RawHandler {
  const endpoint = `/${webhook.spec.name}`;
  // prom-client hashes label objects on every inc; the label sets are few, so keep their children.
  const ruleCounters = new Map<string, { inc(): void }>();
  const countRule = (rule: string, action: string, result: string, labels: RequestLabels) => {
    const key = `${rule}\u0000${action}\u0000${result}\u0000${labels.operation}\u0000${labels.dry_run}\u0000${labels.compute}`;
    let counter = ruleCounters.get(key);
    if (counter === undefined) ruleCounters.set(key, (counter = deps.metrics.ruleResults.labels({ rule, action, result, ...labels })));
    counter.inc();
  };
  const observers = deps.observers ?? [];
  const { logger } = deps;
  return jsonRoute(
    endpoint,
    deps,
    (body) => {
      const outcome = review(webhook, body);
      const labels = requestLabels(outcome.request, outcome.facts.compute, deps.definedCompute);
      return { payload: outcome.payload, decision: outcome.verdict.kind, labels, outcome };
    },
    ({ outcome, labels }, ms) => {
      for (const o of outcome.verdict.outcomes) countRule(o.ruleId, o.action, o.result, labels);
      if (outcome.failure !== undefined) logger.error({ ...logFields(outcome, endpoint, ms), err: outcome.failure }, 'webhook handler failed');
      else if (logger.isLevelEnabled('debug')) logger.debug(logFields(outcome, endpoint, ms), 'admission review');
      for (const observe of observers) {
        try {
          observe(outcome, endpoint, ms);
        } catch (err) {
          logger.error({ err, uid: outcome.request.uid }, 'review observer failed');
        }
      }
    },
  );
}
