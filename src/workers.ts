import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './observability/logger.js';

/**
 * `serve --workers N`: N copies of the server in one pod, sharing its listening socket through
 * node:cluster. Worth it only when the pod is given more than one core: one process is bound to
 * one core for JavaScript, and the webhooks are CPU-bound (JSON and TLS). The primary serves
 * nothing; it restarts a worker that dies and, on SIGTERM, lets every worker drain and exits.
 */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

export interface SuperviseOptions {
  readonly count: number;
  readonly logger: Logger;
  /** Registers the shutdown hook (the entry point wires SIGTERM/SIGINT). */
  readonly onSignal: (handler: (signal: string) => Promise<void>) => void;
  /** Wait before replacing a worker that exited on its own, so a crash loop does not spin. */
  readonly restartDelayMs?: number;
}

export function superviseWorkers(opts: SuperviseOptions): void {
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      opts.logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker exited; starting another');
      setTimeout(() => !stopping && fork(), opts.restartDelayMs ?? 1000).unref();
    });
  };
  for (let i = 0; i < opts.count; i++) fork();
  opts.logger.info({ workers: opts.count }, 'started workers');

  opts.onSignal(async (signal) => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
          }),
      ),
    );
    opts.logger.info('all workers stopped');
  });
}
