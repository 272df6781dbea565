import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { LoadResult } from './loader.js';
import type { PolicyStore } from './store.js';

/** What a policy source (the file poller, the ConfigMap watch) needs to put a policy in force. */
export interface PolicyTarget {
  readonly store: PolicyStore;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
}

const LABELS = { file: 'file', configmap: 'ConfigMap' } as const;

/**
 * The step every source shares: a valid policy replaces the one in force; an invalid one is
 * refused with every error and its path, and the last good policy stays. Both are logged (with
 * `where` the source read it) and counted. Answers whether the policy is now in force.
 */
export function applyLoaded(loaded: LoadResult, source: keyof typeof LABELS, where: Record<string, unknown>, target: PolicyTarget): boolean {
  const { store, logger, metrics } = target;
  const label = LABELS[source];
  if (!loaded.ok) {
    metrics?.policyReloads.inc({ source, result: 'failure' });
    logger.error({ ...where, errors: loaded.errors, keeping: store.source }, `policy ${label} rejected; keeping the last good policy`);
    return false;
  }
  store.replace(loaded.policy, source);
  metrics?.policyReloads.inc({ source, result: 'success' });
  logger.info({ ...where, generation: store.generation }, `policy loaded from ${label}`);
  return true;
}
