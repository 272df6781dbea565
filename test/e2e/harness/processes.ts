import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * Child processes of the suite, stopped by PID. Three layers keep any of them from outliving
 * the test process:
 * - `stop()` in the suite's teardown: SIGTERM, then SIGKILL after a grace period;
 * - on SIGINT/SIGTERM/SIGHUP and on exit (a failed or interrupted mocha): SIGKILL to every PID
 *   still registered, synchronously;
 * - `setpriv --pdeathsig SIGKILL`: the kernel kills the child when this process dies, even by
 *   SIGKILL, where no handler of ours runs.
 */

/** PIDs of the children still running. */
const live = new Set<number>();
let hooked = false;

function killAllNow(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[signal]);
    });
  }
}

export interface ProcOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export class Proc {
  readonly exited: Promise<number | null>;
  /** undefined while running; null when it was killed by a signal. */
  exitCode: number | null | undefined = undefined;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        if (child.pid !== undefined) live.delete(child.pid);
        this.exitCode = code; // null when killed by a signal
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  static async start(opts: ProcOptions): Promise<Proc> {
    hookExit();
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    await new Promise((resolve, reject) => log.once('open', resolve).once('error', reject));
    const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', opts.command, ...opts.args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', log, log],
    });
    // Registered before anything can await, so its exit is never missed.
    const proc = new Proc(opts.name, opts.logFile, child);
    if (child.pid !== undefined) live.add(child.pid);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`${opts.name}: cannot start ${opts.command}: ${err.message}`, { cause: err })));
    });
    return proc;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The last lines of the log, for error messages. */
  async tail(lines = 30): Promise<string> {
    return tailOf(this.logFile, lines);
  }
}

export async function tailOf(file: string, lines = 30): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      return buf
        .toString('utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n');
    } finally {
      await fh.close();
    }
  } catch {
    return '(no log)';
  }
}

/** PIDs this module still tracks (the teardown test checks that none is left). */
export function livePids(): number[] {
  return [...live];
}

/** A port that was free a moment ago on 127.0.0.1 (envtest's approach: bind :0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; proc?: Proc } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    if (opts.proc && !opts.proc.running) {
      throw new Error(`${opts.proc.name} exited (${opts.proc.exitCode}) while waiting for ${what}:\n${await opts.proc.tail()}`);
    }
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const tail = opts.proc ? `\n${opts.proc.name} log:\n${await opts.proc.tail()}` : '';
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}${tail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs a command to completion (tracked and pdeathsig'd like the long-lived ones). */
export function run(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  hookExit();
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) live.add(child.pid);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) live.delete(child.pid);
      resolve({ code, out, err });
    });
  });
}
