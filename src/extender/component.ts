import { readFile } from 'node:fs/promises';
import type { RawHandler } from '../http/jsonRoute.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PolicyStore } from '../policy/store.js';
import { FilePoller } from '../util/watch.js';
import { MemoryNodeCache, type ClusterView, type NodeCache } from './cache.js';
import { extenderRoutes } from './route.js';
import { loadStateText } from './stateFile.js';
import { InputError } from '../util/inputError.js';

export interface ExtenderOptions {
  readonly policy: PolicyStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bodyLimit: number;
  /** A cache someone else feeds (the cluster informers). */
  readonly cache?: NodeCache;
  /** Or: a Node/Pod list file, reloaded when it changes (ignored when `cache` is given). */
  readonly stateFile?: string;
  readonly reloadIntervalMs: number;
}

export interface ExtenderComponent {
  /** `/scheduler/filter` and `/scheduler/prioritize`, for the server's fast routes. */
  readonly routes: Record<string, RawHandler>;
  /** The cluster as the extender sees it now (the state file's, after a reload the new one). */
  view(): ClusterView;
  stop(): void;
}

/**
 * The scheduler extender as `serve` runs it. Without a cache or a state file, the cache starts
 * empty: NodeNames calls then fail every node as not cached, and Nodes calls work as usual.
 */
export async function startExtender(opts: ExtenderOptions): Promise<ExtenderComponent> {
  const { logger } = opts;
  let cache: NodeCache = opts.cache ?? new MemoryNodeCache();
  let poller: FilePoller | undefined;
  if (opts.cache === undefined && opts.stateFile !== undefined) {
    const file = opts.stateFile;
    const load = (text: string) => {
      const loaded = loadStateText(text);
      cache = loaded.cache; // swapped whole: a call never sees half a file
      logger.info({ file, nodes: loaded.nodes, pods: loaded.pods, skipped: loaded.skipped }, 'extender state loaded');
    };
    try {
      load(await readFile(file, 'utf8'));
    } catch (err) {
      throw new InputError(`--extender-state ${file}: ${(err as Error).message}`, { cause: err });
    }
    poller = new FilePoller(
      [file],
      opts.reloadIntervalMs,
      (contents) => load(contents[0]!.toString('utf8')),
      (err) => logger.error({ err, file }, 'extender state reload failed; keeping the previous state'),
    );
    await poller.start();
  }
  const routes = extenderRoutes({
    logger,
    metrics: opts.metrics,
    bodyLimit: opts.bodyLimit,
    context: () => ({ snapshot: opts.policy.current(), view: cache.view() }),
  });
  return { routes, view: () => cache.view(), stop: () => poller?.stop() };
}
