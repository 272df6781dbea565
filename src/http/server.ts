import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { ErrorCode, HttpError } from '../admission/errors.js';
import type { Logger } from '../observability/logger.js';
import { Condition, type Readiness } from './health.js';
import { sendError } from './respond.js';
import type { RawHandler } from './jsonRoute.js';

export interface Timeouts {
  /** Longer than the API server's 90 s idle pool, so the server never closes a connection the client is about to reuse. */
  readonly keepAliveMs: number;
  /** A client must send all headers within this; stops slowloris-style clients. */
  readonly headersMs: number;
  /** A whole request (headers and body) within this; the API server itself gives up after at most 30 s. */
  readonly requestMs: number;
  /** The TLS handshake must finish within this. */
  readonly handshakeMs: number;
  /** How often Node checks the header/request timeouts. */
  readonly checkIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  keepAliveMs: 120_000,
  headersMs: 10_000,
  requestMs: 30_000,
  handshakeMs: 10_000,
  checkIntervalMs: 1_000,
};

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  readonly clientCa?: Buffer;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMaterial;
  /** Handles everything that is not a fast route (express). */
  readonly app: (req: IncomingMessage, res: ServerResponse) => void;
  /** POST routes served without express, keyed by path. */
  readonly fastRoutes: Readonly<Record<string, RawHandler>>;
  readonly readiness: Readiness;
  readonly logger: Logger;
  readonly timeouts?: Partial<Timeouts>;
}

export interface DrainOptions {
  /** Keep serving (not ready) this long so endpoints controllers drop us before we stop listening. */
  readonly delayMs: number;
  /** After this, connections still open are closed. */
  readonly timeoutMs: number;
}

/** The TLS settings of every secure context the server uses, the first and each reloaded one. */
export function secureOptions(tls: TlsMaterial): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...(tls.clientCa ? { ca: tls.clientCa } : {}) };
}

/** The HTTPS listener: TLS, timeouts, the fast-route dispatch, certificate swaps and graceful drain. */
export class HttpsServer {
  readonly server: Server;
  private draining = false;
  private readonly logger: Logger;
  private readonly opts: ServerOptions;

  constructor(opts: ServerOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    const mutual = opts.tls.clientCa !== undefined;
    this.server = createServer(
      {
        ...secureOptions(opts.tls),
        requestCert: mutual,
        rejectUnauthorized: mutual,
        handshakeTimeout: t.handshakeMs,
        keepAliveTimeout: t.keepAliveMs,
        headersTimeout: t.headersMs,
        requestTimeout: t.requestMs,
        connectionsCheckingInterval: t.checkIntervalMs,
      },
      (req, res) => this.dispatch(req, res),
    );
    this.server.keepAliveTimeout = t.keepAliveMs;
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
    this.server.on('tlsClientError', (err) => this.logger.debug({ err: { message: err.message } }, 'TLS handshake failed'));
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) res.setHeader('connection', 'close');
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q); // the API server appends ?timeout=10s
    const fast = this.opts.fastRoutes[path];
    if (fast === undefined) {
      this.opts.app(req, res);
    } else if (req.method === 'POST') {
      fast(req, res);
    } else {
      req.resume();
      res.setHeader('allow', 'POST');
      sendError(res, new HttpError(ErrorCode.MethodNotAllowed, `${path} accepts POST only`));
    }
  }

  /** Malformed HTTP or a header/request timeout: answer JSON if the socket can take it, then close. */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.logger.debug({ err: { code: err.code, message: err.message } }, 'client error');
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timedOut ? '408 Request Timeout' : '400 Bad Request';
    const body = JSON.stringify({ error: { code: timedOut ? 'RequestTimeout' : 'BadRequest', message: timedOut ? 'request not received in time' : 'malformed HTTP request' } });
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Swaps certificate and key for new handshakes; open connections keep the old ones. */
  updateTls(tls: TlsMaterial): void {
    this.server.setSecureContext(secureOptions(tls));
  }

  /**
   * Graceful drain: report not-ready, keep serving for `delayMs`, stop accepting, let in-flight
   * requests finish (answers carry `connection: close`), close idle keep-alive sockets, and
   * force-close what is left after `timeoutMs`.
   */
  async drain(opts: DrainOptions): Promise<void> {
    this.opts.readiness.set(Condition.NotDraining, false);
    if (opts.delayMs > 0) await new Promise((r) => setTimeout(r, opts.delayMs));
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const idleSweep = setInterval(() => this.server.closeIdleConnections(), 100);
    const force = setTimeout(() => {
      this.logger.warn('drain timeout reached; closing remaining connections');
      this.server.closeAllConnections();
    }, opts.timeoutMs);
    try {
      await closed;
    } finally {
      clearInterval(idleSweep);
      clearTimeout(force);
    }
  }
}
