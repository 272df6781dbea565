import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, HttpError, toHttpError } from '../admission/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, RequestLabels } from '../observability/metrics.js';
import { parseJson, readJsonBody } from './body.js';
import { sendError, sendJson } from './respond.js';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface JsonRouteDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bodyLimit: number;
  /**
   * Why the route cannot answer yet (undefined: it can). Asked per request; the answer is a 503,
   * so the API server applies the webhook's failurePolicy instead of trusting a guess.
   */
  readonly unavailable?: () => string | undefined;
}

/** What a hot-path handler answers with HTTP 200: the encoded body and the decision label for metrics. */
export interface JsonAnswer {
  readonly payload: string;
  readonly decision: string;
  /** An admission review's operation, dry_run and compute, for the request metrics. */
  readonly labels?: RequestLabels;
}

/**
 * A POST route on plain node:http objects (no express): one bounded body read, one JSON.parse,
 * `handle`, one write. Input that is not a JSON body under the limit gets the JSON error shape
 * (400/413); `observe` (metrics, logs, audit) runs before the answer is written, with the time
 * the decision took. Never throws.
 */
export function jsonRoute<A extends JsonAnswer>(
  endpoint: string,
  deps: JsonRouteDeps,
  handle: (body: unknown) => A,
  observe: (answer: A, latencyMs: number) => void,
): RawHandler {
  const { metrics } = deps;
  return (req, res) => {
    const start = performance.now();
    readJsonBody(req, deps.bodyLimit)
      .then((raw) => {
        const reason = deps.unavailable?.();
        if (reason !== undefined) throw new HttpError(ErrorCode.Unavailable, reason);
        const answer = handle(parseJson(raw));
        // Before answering: a crash right after the answer must not lose its audit line.
        observe(answer, performance.now() - start);
        sendJson(res, 200, answer.payload);
        metrics.recordRequest(endpoint, answer.decision, answer.labels, (performance.now() - start) / 1000);
      })
      .catch((err: unknown) => {
        const httpErr = toHttpError(err);
        sendError(res, httpErr);
        const ms = performance.now() - start;
        const unavailable = httpErr.code === ErrorCode.Unavailable;
        metrics.recordRequest(endpoint, unavailable ? 'unavailable' : httpErr.status >= 500 ? 'error' : 'bad_request', undefined, ms / 1000);
        const fields = { endpoint, status: httpErr.status, code: httpErr.code, latencyMs: Math.round(ms * 1000) / 1000 };
        if (unavailable) deps.logger.warn({ ...fields, reason: httpErr.message }, 'not ready to answer');
        else if (httpErr.status >= 500) deps.logger.error({ ...fields, err }, 'request failed');
        else deps.logger.warn({ ...fields, reason: httpErr.message }, 'bad request');
      });
  };
}
