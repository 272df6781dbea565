import { review, type ReviewOutcome, type Webhook } from '../admission/webhook.js';
import { jsonRoute, type JsonRouteDeps, type RawHandler } from './jsonRoute.js';

/** Told about every answered review (the audit log is one); must not throw or block. */
export type ReviewObserver = (outcome: ReviewOutcome, endpoint: string, latencyMs: number) => void;

export interface WebhookRouteDeps extends JsonRouteDeps {
  readonly observers?: readonly ReviewObserver[];
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
 * then per-rule metrics, a debug line, and the observers (the audit log writes the info line).
 */
export function webhookRoute(webhook: Webhook, deps: WebhookRouteDeps): RawHandler {
  const endpoint = `/${webhook.name}`;
  const ruleResults = deps.metrics.ruleResults;
  const observers = deps.observers ?? [];
  const { logger } = deps;
  return jsonRoute(
    endpoint,
    deps,
    (body) => {
      const outcome = review(webhook, body);
      return { payload: outcome.payload, decision: outcome.verdict.kind, outcome };
    },
    ({ outcome }, ms) => {
      for (const o of outcome.verdict.outcomes) ruleResults.inc({ rule: o.ruleId, action: o.action, result: o.result });
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
