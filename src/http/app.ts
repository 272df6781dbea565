import express, { type ErrorRequestHandler, type Express } from 'express';
import { ErrorCode, HttpError, toHttpError } from '../admission/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Readiness } from './health.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
}

/**
 * Everything but the hot path (webhooks, extender): health, readiness and metrics.
 * Errors always answer `{ "error": { "code", "message" } }`, never an HTML page or a stack.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    if (deps.readiness.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not ready', pending: deps.readiness.pending() });
  });

  app.get('/metrics', async (_req, res, next) => {
    try {
      const body = await deps.metrics.registry.metrics();
      res.type(deps.metrics.registry.contentType).send(body);
    } catch (err) {
      next(err);
    }
  });

  app.use((req, _res, next) => {
    next(new HttpError(ErrorCode.NotFound, `no route for ${req.method} ${req.path}`));
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const httpErr = toHttpError(err);
    if (httpErr.status >= 500) deps.logger.error({ err, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(httpErr.status).json(httpErr.toBody());
  };
  app.use(onError);
  return app;
}
