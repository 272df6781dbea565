import { ADD, DELETE, ERROR, ListWatch, UPDATE, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Metrics } from '../observability/metrics.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './retry.js';

export interface InformerOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  /** The collection's REST path, e.g. `/api/v1/nodes` or `/api/v1/namespaces/azureml/configmaps`. */
  readonly path: string;
  /** Lists the collection (same path and selector); its resourceVersion is where the watch starts. */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly fieldSelector?: string;
  readonly backoff?: BackoffOptions;
  /** Told about each failure; the informer retries by itself after `retryInMs`. */
  readonly onError?: (err: unknown, retryInMs: number) => void;
  /** Told when a handler throws (the object is skipped; client-node would swallow it silently). */
  readonly onHandlerError?: (err: unknown) => void;
  /** Counts each restart in aml_admission_informer_restarts_total{resource=<the path's last segment>}. */
  readonly metrics?: Metrics | undefined;
}

export interface InformerHandlers<T> {
  readonly upsert: (obj: T) => void;
  readonly remove: (obj: T) => void;
}

/**
 * client-node's ListWatch (list, then watch from the list's resourceVersion; a 410 Gone clears the
 * version so the next round relists; a watch the server closes is reopened from the last version),
 * made to survive everything else: ListWatch stops on any other error (a reset connection, a 5xx,
 * a failed list), so this restarts it with capped, jittered backoff until stopped.
 *
 * Objects arrive as plain JSON from the watch and as client-node models from the list; handlers
 * must read them by field name only.
 */
export class Informer<T extends KubernetesObject> {
  /** Resolves once the first list has been delivered to the handlers. */
  readonly synced: Promise<void>;
  private markSynced!: () => void;
  private readonly lw: ListWatch<T>;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  /** The ListWatch start in progress (a list, then opening the watch). */
  private current: Promise<void> | undefined;
  private stopped = true;
  private listed = false;
  private failedInRound = false;

  constructor(
    private readonly opts: InformerOptions<T>,
    handlers: InformerHandlers<T>,
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await opts.list();
      this.listed = true;
      return result;
    };
    this.lw = new ListWatch<T>(opts.path, new Watch(opts.kc), list, false, undefined, opts.fieldSelector);
    const guarded = (handler: (obj: T) => void) => (obj: T) => {
      try {
        handler(obj);
      } catch (err) {
        opts.onHandlerError?.(err);
      }
    };
    this.lw.on(ADD, guarded(handlers.upsert));
    this.lw.on(UPDATE, guarded(handlers.upsert));
    this.lw.on(DELETE, guarded(handlers.remove));
    this.lw.on(ERROR, (err: unknown) => this.failed(err));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.current = this.round();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.lw.stop();
    // ListWatch checks for a stop before it lists, not after: stopped during the list, it still
    // opens the watch. Let that round finish, then close what it opened.
    await this.current;
    await this.lw.stop();
  }

  /** One ListWatch start: a list if there is no version to resume from, then a watch. */
  private async round(): Promise<void> {
    this.failedInRound = false;
    await this.lw.start().catch((err: unknown) => this.failed(err));
    // ListWatch only looks at its stop flag before it lists: a stop() while the list or the watch
    // request was in flight would leave the watch it then opens running for good. Close it now.
    if (this.stopped) await this.lw.stop();
    // ListWatch hands a list's items to the handlers before it opens the watch, so once a list
    // has succeeded the cache is synced, even if this round's watch then failed.
    if (this.listed) this.markSynced();
    if (!this.stopped && !this.failedInRound) this.backoff.reset(); // the watch is open
  }

  private failed(err: unknown): void {
    this.failedInRound = true;
    if (this.stopped || this.timer) return; // stop() aborts the watch, which reports an error too
    this.opts.metrics?.informerRestarts.inc({ resource: this.opts.path.slice(this.opts.path.lastIndexOf('/') + 1) });
    const delay = this.backoff.next();
    this.opts.onError?.(err, delay);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.current = this.round();
    }, delay);
    this.timer.unref();
  }
}
