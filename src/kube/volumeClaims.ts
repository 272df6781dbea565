import type { CoreV1Api, KubeConfig, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { claimMetaOf, type ClaimIndex } from '../policy/amlClaims.js';
import { apiFailure } from './errors.js';
import { Informer } from './informer.js';
import { listAllPages } from './pods.js';
import type { BackoffOptions } from './retry.js';

export interface ClaimInformerOptions {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly index: ClaimIndex;
  readonly logger: Logger;
  readonly pageSize?: number;
  readonly backoff?: BackoffOptions;
  readonly metrics?: Metrics | undefined;
}

/**
 * Every PVC's metadata, for AML's `ml.azure.com/pvc` convention (pvc-volumes). All of them, not a
 * label selection: the policy names the label (keys.pvcLabel) and a reload may change it; RBAC
 * could not narrow a label selection anyway. Only names, labels and annotations are kept.
 */
export function claimInformer(opts: ClaimInformerOptions): Informer<V1PersistentVolumeClaim> {
  const { core, index, logger } = opts;
  const limit = opts.pageSize ?? 500;
  return new Informer<V1PersistentVolumeClaim>(
    {
      kc: opts.kc,
      path: '/api/v1/persistentvolumeclaims',
      list: async () => {
        const { items, resourceVersion } = await listAllPages((token) =>
          core.listPersistentVolumeClaimForAllNamespaces({ limit, ...(token ? { _continue: token } : {}) }),
        );
        return { metadata: { resourceVersion }, items };
      },
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      metrics: opts.metrics,
      onError: (err, retryInMs) => logger.warn({ informer: 'persistentvolumeclaims', error: apiFailure(err).message, retryInMs }, 'informer failed; retrying'),
      onHandlerError: (err) => logger.error({ informer: 'persistentvolumeclaims', err }, 'a PVC could not be read; skipped'),
    },
    {
      upsert: (pvc) => {
        const meta = claimMetaOf(pvc);
        if (meta) index.upsert(meta);
      },
      remove: (pvc) => index.remove(pvc.metadata?.namespace ?? '', pvc.metadata?.name ?? ''),
    },
  );
}
