import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, HttpError } from '../admission/errors.js';
import type { Logger } from '../observability/logger.js';
import { sendError } from './respond.js';
import { listenOn } from './listen.js';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  /** The exposition text: this process's registry, or, in the primary of `--workers`, every worker's aggregated. */
  readonly source: { readonly contentType: string; metrics(): Promise<string> };
  readonly logger: Logger;
}

/**
 * `serve --metrics-port N`: `/metrics` on plain HTTP, for a Prometheus inside the cluster that
 * scrapes pods without a client certificate or the webhook CA. It serves nothing else: the
 * webhooks and the extender stay on HTTPS only, so this port can be opened to a scraper without
 * opening an unauthenticated way to the admission decisions.
 */
export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly opts: MetricsServerOptions) {
    const registry = opts.source;
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 120_000 }, (req, res) => {
      req.resume();
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      if (path !== '/metrics') return sendError(res, new HttpError(ErrorCode.NotFound, `no route for ${req.method} ${path}; this port serves /metrics only`));
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return sendError(res, new HttpError(ErrorCode.MethodNotAllowed, '/metrics accepts GET and HEAD only'));
      }
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => {
          opts.logger.error({ err, path }, 'request failed');
          sendError(res, new HttpError(ErrorCode.Internal, 'could not collect the metrics'));
        },
      );
    });
  }

  listen(): Promise<AddressInfo> {
    return listenOn(this.server, this.opts.port, this.opts.host);
  }

  /** Stops listening and closes its connections (a scrape in flight is short; nothing to drain). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
