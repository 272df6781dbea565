import type { CoreV1Api, KubeConfig, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { apiFailure } from './errors.js';
import { Informer } from './informer.js';
import { listAllPages } from './pods.js';
import type { BackoffOptions } from './retry.js';

/**
 * Where node and pod changes go: the extender's NodeCache (src/extender/cache.ts) has this shape.
 * Objects are passed as received; the cache decides what it understands.
 */
export interface ClusterFeed {
  upsertNode(node: unknown): unknown;
  deleteNode(name: string): void;
  upsertPod(pod: unknown): void;
  deletePod(namespace: string, name: string): void;
}

/**
 * Pods that can hold GPUs: bound to a node and not finished. The API server filters, so a cluster's
 * history of completed jobs never reaches this process; a pod that finishes leaves the selection,
 * which the watch reports as a deletion.
 */
export const ACTIVE_BOUND_PODS = 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed';

export interface ClusterInformersOptions {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly feed: ClusterFeed;
  /** Watch pods too (the extender counts the GPUs they hold); default true. */
  readonly pods?: boolean;
  readonly logger: Logger;
  /** Page size of the initial lists (large clusters have tens of thousands of pods). */
  readonly pageSize?: number;
  readonly backoff?: BackoffOptions;
  readonly metrics?: Metrics | undefined;
}

const DEFAULT_PAGE_SIZE = 500;

/** Node (and pod) informers feeding the cache; `synced` resolves when every first list is in. */
export class ClusterInformers {
  readonly synced: Promise<void>;
  private readonly nodes: Informer<V1Node>;
  private readonly pods: Informer<V1Pod> | undefined;

  constructor(opts: ClusterInformersOptions) {
    const { core, feed, logger } = opts;
    const limit = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const common = (what: string) => ({
      kc: opts.kc,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      metrics: opts.metrics,
      onError: (err: unknown, retryInMs: number) => logger.warn({ informer: what, error: apiFailure(err).message, retryInMs }, 'informer failed; retrying'),
      onHandlerError: (err: unknown) => logger.error({ informer: what, err }, 'the extender cache refused an object; skipped'),
    });
    this.nodes = new Informer<V1Node>(
      {
        ...common('nodes'),
        path: '/api/v1/nodes',
        list: async () => {
          const { items, resourceVersion } = await listAllPages((token) => core.listNode({ limit, ...(token ? { _continue: token } : {}) }));
          return { metadata: { resourceVersion }, items };
        },
      },
      { upsert: (n) => feed.upsertNode(n), remove: (n) => feed.deleteNode(n.metadata?.name ?? '') },
    );
    this.pods =
      opts.pods === false
        ? undefined
        : new Informer<V1Pod>(
            {
              ...common('pods'),
              path: '/api/v1/pods',
              fieldSelector: ACTIVE_BOUND_PODS,
              list: async () => {
                const { items, resourceVersion } = await listAllPages((token) =>
                  core.listPodForAllNamespaces({ limit, fieldSelector: ACTIVE_BOUND_PODS, ...(token ? { _continue: token } : {}) }),
                );
                return { metadata: { resourceVersion }, items };
              },
            },
            { upsert: (p) => feed.upsertPod(p), remove: (p) => feed.deletePod(p.metadata?.namespace ?? '', p.metadata?.name ?? '') },
          );
    this.synced = Promise.all([this.nodes.synced, this.pods?.synced]).then(() => undefined);
  }

  start(): void {
    this.nodes.start();
    this.pods?.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.nodes.stop(), this.pods?.stop()]);
  }
}
