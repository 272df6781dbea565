import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { ErrorCode, HttpError } from '../admission/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { Condition, type Readiness } from './health.js';
import { sendError } from './respond.js';
import { listenOn } from './listen.js';
import type { RawHandler } from './jsonRoute.js';

export interface Timeouts {
  /** Longer than the API server's 90 s idle pool, so the server never closes a connection the client is about to reuse. */
  readonly keepAliveMs: number;
  /** A client must send all headers within this; stops slowloris-style clients. */
  readonly headersMs: number;
  /** A whole request (headers and body) within this; the API server itself gives up after at most 30 s. */
  readonly requestMs: number;
  /** The TLS handshake must finish within this; then the connection is destroyed. */
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

export interface Limits {
  /**
   * Open connections, each one file descriptor: beyond it a new connection is closed on accept.
   * Keep it below the fd limit (`ulimit -n`) with room for files and the cluster watches.
   */
  readonly maxConnections: number;
  /**
   * Connections still in their TLS handshake: beyond it a new connection is closed on accept, so
   * clients that open connections and never finish a handshake cannot take every slot.
   */
  readonly maxHandshakes: number;
  /**
   * Requests on one connection before its answer carries `connection: close` (0: no limit). The
   * client reconnects, and node:cluster and kube-proxy place connections, not requests: without
   * it a long-lived keep-alive pool never moves to a replaced worker or a new replica.
   */
  readonly maxRequestsPerConnection: number;
}

export const DEFAULT_LIMITS: Limits = {
  // Fits the common 1,024-fd soft limit; one replica answers thousands of reviews a second on far fewer.
  maxConnections: 512,
  // A burst of new connections from the API servers handshakes well within this.
  maxHandshakes: 128,
  // nginx's keepalive_requests default: one extra handshake per thousand requests.
  maxRequestsPerConnection: 1000,
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
  readonly metrics?: Metrics;
  readonly timeouts?: Partial<Timeouts>;
  readonly limits?: Partial<Limits>;
}

export interface DrainOptions {
  /** Keep serving (not ready, every answer with `connection: close`) this long so endpoints controllers drop us before we stop listening. */
  readonly delayMs: number;
  /** Then wait at most this long for in-flight requests; connections still open are destroyed. */
  readonly timeoutMs: number;
  /** After the delay, a connection with no request in flight that received nothing for this long is closed. */
  readonly quietMs?: number;
}

/** What the server keeps on each TLS connection it serves. */
const kRequests = Symbol('requests');
const kInFlight = Symbol('inFlight');
const kBytesSeen = Symbol('bytesSeen');
type Served = TLSSocket & { [kRequests]: number; [kInFlight]: number; [kBytesSeen]: number };

/** How long a connection that was answered with an error may take to close its side before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** A connection's peer address and port: unique among open connections to one listener. */
function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** The TLS settings of every secure context the server uses, the first and each reloaded one. */
export function secureOptions(tls: TlsMaterial): SecureContextOptions {
  return { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...(tls.clientCa ? { ca: tls.clientCa } : {}) };
}

/** The HTTPS listener: TLS, timeouts, connection limits, the fast-route dispatch, certificate swaps and graceful drain. */
export class HttpsServer {
  readonly server: Server;
  /** Once set (SIGTERM), every answer carries `connection: close`. */
  private closing = false;
  private readonly logger: Logger;
  private readonly opts: ServerOptions;
  private readonly limits: Limits;
  private readonly maxRequests: number;
  /** Every accepted TCP connection, handshaking or not, until it closes. */
  private readonly connections = new Set<Socket>();
  /** The connections still in their TLS handshake, oldest first, by peer address (the one fact a TCP socket and the TLS socket over it share in node's API). */
  private readonly handshaking = new Map<string, Socket>();
  /** The connections whose TLS handshake completed, as TLS sockets. */
  private readonly secured = new Set<Served>();

  constructor(opts: ServerOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.maxRequests = this.limits.maxRequestsPerConnection > 0 ? this.limits.maxRequestsPerConnection : Infinity;
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
    this.server.maxConnections = this.limits.maxConnections;
    const refused = opts.metrics?.connectionsRefused;
    this.server.on('drop', () => refused?.inc({ reason: 'max-connections' }));
    this.server.on('connection', (socket: Socket) => {
      // Runs after node:tls wrapped the socket; destroying it ends the handshake too.
      const key = peerKey(socket);
      if (this.handshaking.size >= this.limits.maxHandshakes) {
        // The longest wait goes first: a client that never finishes its handshake cannot keep
        // out the ones that do, which finish in milliseconds.
        const [oldestKey, oldest] = this.handshaking.entries().next().value!;
        this.handshaking.delete(oldestKey);
        oldest.destroy();
        refused?.inc({ reason: 'max-handshakes' });
      }
      this.connections.add(socket);
      this.handshaking.set(key, socket);
      socket.once('close', () => {
        this.connections.delete(socket);
        if (this.handshaking.get(key) === socket) this.handshaking.delete(key);
      });
    });
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.handshaking.delete(peerKey(socket));
      const served = Object.assign(socket, { [kRequests]: 0, [kInFlight]: 0, [kBytesSeen]: -1 });
      this.secured.add(served);
      socket.once('close', () => this.secured.delete(served));
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
    opts.metrics?.observeConnections(() => this.connectionCounts());
  }

  /** Connections open now: all of them, and those still in their TLS handshake. */
  connectionCounts(): { open: number; handshaking: number } {
    return { open: this.connections.size, handshaking: this.handshaking.size };
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as Served;
    socket[kInFlight]++;
    res.once('close', () => socket[kInFlight]--);
    if (this.closing || ++socket[kRequests] >= this.maxRequests) res.setHeader('connection', 'close');
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

  /**
   * A failed or timed-out TLS handshake (node:https reports those here too), malformed HTTP, or a
   * header/request timeout. A socket that never finished its handshake cannot carry an answer:
   * writing one would wait for a handshake that never comes and hold the descriptor forever. An
   * HTTP error is answered in JSON, then the socket is destroyed if the client does not close it.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.logger.debug({ err: { code: err.code, message: err.message } }, 'client error');
    if (!this.secured.has(socket as Served) || !socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timedOut ? '408 Request Timeout' : '400 Bad Request';
    const body = JSON.stringify({
      error: { code: timedOut ? 'RequestTimeout' : 'BadRequest', message: timedOut ? 'request not received in time' : 'malformed HTTP request' },
    });
    socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    socket.once('close', () => clearTimeout(grace));
  }

  listen(): Promise<AddressInfo> {
    return listenOn(this.server, this.opts.port, this.opts.host);
  }

  /** Swaps certificate and key for new handshakes; open connections keep the old ones. */
  updateTls(tls: TlsMaterial): void {
    this.server.setSecureContext(secureOptions(tls));
  }

  /**
   * Graceful drain. Report not-ready and answer every request with `connection: close` for
   * `delayMs`, so clients reconnect, through the Service, to other replicas. Then stop accepting
   * and let in-flight requests finish; close a connection once it has nothing in flight and has
   * received nothing for `quietMs`; destroy what is left after `timeoutMs`.
   *
   * Idle connections are never closed all at once: a connection is "idle" to node:http until a
   * request that already reached it has been read, so http.Server#close (which closes idle
   * connections since Node 19) resets requests in flight on busy keep-alive connections.
   */
  async drain(opts: DrainOptions): Promise<void> {
    this.opts.readiness.set(Condition.NotDraining, false);
    this.closing = true;
    if (opts.delayMs > 0) await new Promise((r) => setTimeout(r, opts.delayMs));
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const sweep = setInterval(() => this.closeQuiet(), opts.quietMs ?? 1000);
    const force = setTimeout(() => {
      this.logger.warn({ connections: this.connections.size }, 'drain timeout reached; closing remaining connections');
      for (const socket of [...this.secured, ...this.connections]) socket.destroy();
    }, opts.timeoutMs);
    try {
      await closed;
    } finally {
      clearInterval(sweep);
      clearTimeout(force);
      this.server.close(); // node:http's own cleanup (its timeout checks); the listener is already closed
    }
  }

  /** Closes connections with nothing in flight that received nothing since the previous call. */
  private closeQuiet(): void {
    for (const socket of this.secured) {
      if (socket[kInFlight] === 0 && socket.bytesRead === socket[kBytesSeen]) socket.destroy();
      else socket[kBytesSeen] = socket.bytesRead;
    }
  }
}
