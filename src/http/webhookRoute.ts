import type { IncomingMessage, ServerResponse } from 'node:http';
import { toHttpError } from '../admission/errors.js';
import { review, type ReviewOutcome, type Webhook } from '../admission/webhook.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { parseJson, readJsonBody } from './body.js';
import { sendError, sendJson } from './respond.js';

/** Told about every answered review (the audit log is one); must not throw or block. */
export type ReviewObserver = (outcome: ReviewOutcome, endpoint: string, latencyMs: number) => void;

export interface WebhookRouteDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bodyLimit: number;
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

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The admission hot path on plain node:http objects: one body read, one JSON.parse, one
 * JSON.stringify, no express middleware. Never throws; every failure is a JSON answer.
 */
export function webhookRoute(webhook: Webhook, deps: WebhookRouteDeps): RawHandler {
  const endpoint = `/${webhook.name}`;
  const requests = deps.metrics.requests;
  const latency = deps.metrics.latency.labels(endpoint);
  const ruleResults = deps.metrics.ruleResults;
  const observers = deps.observers ?? [];
  return (req, res) => {
    const start = performance.now();
    readJsonBody(req, deps.bodyLimit)
      .then((body) => {
        const outcome = review(webhook, parseJson(body));
        sendJson(res, 200, outcome.payload);
        const ms = performance.now() - start;
        latency.observe(ms / 1000);
        requests.inc({ endpoint, decision: outcome.verdict.kind });
        for (const o of outcome.verdict.outcomes) ruleResults.inc({ rule: o.ruleId, action: o.action, result: o.result });
        // The audit log (an observer) writes the per-decision info line; this one is for debugging.
        if (outcome.failure !== undefined) deps.logger.error({ ...logFields(outcome, endpoint, ms), err: outcome.failure }, 'webhook handler failed');
        else if (deps.logger.isLevelEnabled('debug')) deps.logger.debug(logFields(outcome, endpoint, ms), 'admission review');
        for (const observe of observers) {
          try {
            observe(outcome, endpoint, ms);
          } catch (err) {
            deps.logger.error({ err, uid: outcome.request.uid }, 'review observer failed');
          }
        }
      })
      .catch((err: unknown) => {
        const httpErr = toHttpError(err);
        sendError(res, httpErr);
        const ms = performance.now() - start;
        latency.observe(ms / 1000);
        requests.inc({ endpoint, decision: httpErr.status >= 500 ? 'error' : 'bad_request' });
        const fields = { endpoint, status: httpErr.status, code: httpErr.code, latencyMs: Math.round(ms * 1000) / 1000 };
        if (httpErr.status >= 500) deps.logger.error({ ...fields, err }, 'request failed');
        else deps.logger.warn({ ...fields, reason: httpErr.message }, 'bad request');
      });
  };
}
