import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { PolicyStore } from '../../src/policy/store.js';
import { Component, serve, type Running, type ServeOptions } from '../../src/serve.js';

/** Polls `check` until it returns true or `ms` passes (for background work, never for timing assertions). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
}

/** Log lines captured in memory (pino writes JSON lines to this stream). */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    cb();
  }
}

export interface TestServer {
  readonly running: Running;
  readonly port: number;
  readonly dir: string;
  readonly ca: Buffer;
  readonly logs: LogCapture;
  readonly logger: Logger;
  readonly agent: Agent;
  post(path: string, body: string | Buffer | object, headers?: Record<string, string>): Promise<HttpResult>;
  get(path: string): Promise<HttpResult>;
  stop(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = any>(): T;
}

/** One HTTPS request that trusts only `ca` (real verification, never rejectUnauthorized: false). */
export function httpsCall(opts: {
  port: number;
  ca: Buffer;
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  agent?: Agent;
  cert?: Buffer;
  key?: Buffer;
}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: opts.port,
        method: opts.method,
        path: opts.path,
        ca: opts.ca,
        ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
        ...(opts.agent ? { agent: opts.agent } : { agent: false }),
        headers: opts.headers ?? {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Starts the real server on an ephemeral loopback port with certificates generated into a temp dir. */
export async function startTestServer(overrides: Partial<ServeOptions> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'aml-admission-test-'));
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs });
  const running = await serve({
    host: '127.0.0.1',
    port: 0,
    certsDir: dir,
    service: 'aml-admission',
    namespace: 'azureml',
    components: [Component.Admission, Component.Extender],
    policy: new PolicyStore(builtinPolicy(), 'builtin'),
    reloadIntervalMs: 50,
    drain: { delayMs: 0, timeoutMs: 2000 },
    logger,
    metrics: new Metrics({ defaultMetrics: false }),
    ...overrides,
  });
  const ca = await readFile(join(overrides.tlsCert ? dirname(overrides.tlsCert) : dir, 'ca.crt'));
  const agent = new Agent({ keepAlive: true, ca });
  const port = running.port;
  return {
    running,
    port,
    dir,
    ca,
    logs,
    logger,
    agent,
    post: (path, body, headers) =>
      httpsCall({
        port,
        ca,
        agent,
        method: 'POST',
        path,
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      }),
    get: (path) => httpsCall({ port, ca, agent, method: 'GET', path }),
    async stop() {
      agent.destroy();
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly ca: Buffer;
  /** Every JSON line the process wrote to stdout so far (stdout is always read, so it never blocks). */
  readonly lines: Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGKILLs the process if it still runs and removes its certificate dir. */
  cleanup(): Promise<void>;
}

const repoRoot = new URL('../..', import.meta.url).pathname;

/**
 * Runs `aml-admission serve ARGS` from the sources (tsx) on an ephemeral loopback port with
 * certificates generated into a temp dir, and resolves once `listeners` processes log
 * `listening` (one per worker; so --log-level must be info or lower). With `nofile`, the process
 * runs under `ulimit -n nofile`.
 */
export async function spawnServe(args: readonly string[], opts: { nofile?: number; listeners?: number } = {}): Promise<ServeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'aml-serve-'));
  const argv = [process.execPath, '--import', 'tsx', 'src/main.ts', 'serve', '--host', '127.0.0.1', '--port', '0', '--certs-dir', dir, ...args];
  const child =
    opts.nofile === undefined
      ? spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('bash', ['-c', `ulimit -n ${opts.nofile} && exec "$@"`, 'bash', ...argv], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lines: Record<string, unknown>[] = [];
  const ports: number[] = [];
  const listening = new Promise<void>((resolve, reject) => {
    exited.then(
      (code) => reject(new Error(`serve exited with ${code} before listening`)),
      () => {},
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      lines.push(rec);
      if (rec.msg === 'listening') ports.push(rec.port as number);
      if (ports.length === (opts.listeners ?? 1)) resolve();
    });
  });
  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await listening;
    return { child, port: ports[0]!, ca: await readFile(join(dir, 'ca.crt')), lines, exited, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
