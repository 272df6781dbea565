import type { CoreV1Api, V1ListMeta, V1Pod } from '@kubernetes/client-node';
import { apiFailure } from './errors.js';

/** One page of a list, as client-node returns it (the `continue` token is the `_continue` property). */
export interface Page<T> {
  readonly items: T[];
  readonly metadata?: V1ListMeta;
}

export interface Listed<T> {
  readonly items: T[];
  /** The resourceVersion of the (consistent) list: where a watch of the same collection starts. */
  readonly resourceVersion: string;
}

/**
 * Follows `continue` tokens until the list is complete, so neither side holds a huge response.
 * A token that expired mid-way (410: the list took longer than etcd keeps history) restarts the
 * list once from the beginning, as client-go's pager does.
 */
export async function listAllPages<T>(fetchPage: (token: string | undefined) => Promise<Page<T>>): Promise<Listed<T>> {
  for (let attempt = 1; ; attempt++) {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const page = await fetchPage(token);
        items.push(...page.items);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?._continue || undefined;
      } while (token);
      return { items, resourceVersion };
    } catch (err) {
      if (token === undefined || apiFailure(err).code !== 410 || attempt > 1) throw err;
    }
  }
}

export interface PodListOptions {
  /** One namespace, or undefined for every namespace. */
  readonly namespace?: string;
  readonly pageSize: number;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

/** Every pod of a namespace or of the cluster, read in pages of `pageSize`. */
export function listPods(core: CoreV1Api, opts: PodListOptions): Promise<Listed<V1Pod>> {
  const selectors = {
    ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
  };
  return listAllPages((token) => {
    const page = { limit: opts.pageSize, ...selectors, ...(token ? { _continue: token } : {}) };
    return opts.namespace ? core.listNamespacedPod({ namespace: opts.namespace, ...page }) : core.listPodForAllNamespaces(page);
  });
}
