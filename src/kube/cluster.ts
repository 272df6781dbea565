import type { KubeConfig } from '@kubernetes/client-node';
import { Condition, type Readiness } from '../http/health.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PolicyStore } from '../policy/store.js';
import { kubeClients } from './client.js';
import { ClusterInformers, type ClusterFeed } from './clusterFeed.js';
import { EventRecorder } from './events.js';
import { InstanceTypeSource } from './instanceTypes.js';
import { claimInformer } from './volumeClaims.js';
import { NONE_REGISTERED, registrationInformer } from './registration.js';
import type { ClaimIndex } from '../policy/amlClaims.js';
import { PolicyConfigMapSource, type ConfigMapRef } from './policyConfigMap.js';
import type { BackoffOptions } from './retry.js';

/** What `serve` needs to use a cluster: chosen on the command line, composed in serve.ts. */
export interface ClusterOptions {
  readonly kc: KubeConfig;
  /** Watch this ConfigMap for the policy. */
  readonly policyConfigMap?: ConfigMapRef;
  /** Names this replica in Events (the pod name in a cluster). */
  readonly instance: string;
  readonly backoff?: BackoffOptions;
}

export interface ClusterSources {
  /** Resolves when the node (and pod) informers have their first list; undefined without a feed. */
  readonly informersSynced: Promise<void> | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the cluster-backed sources and ties them to readiness: not ready until the ConfigMap's
 * policy is in force, the caches (nodes, pods, PVCs) have their first full list, and the
 * cluster's InstanceType objects are known (listed, or their CRD found absent). Nothing here blocks serving; a
 * replica that cannot reach the API server stays up, keeps its last good state, and says why.
 */
export function startClusterSources(
  opts: ClusterOptions & {
    readonly store: PolicyStore;
    /** Feed node informers (and pod informers with `feedPods`, for the extender) into this cache. */
    readonly feed?: ClusterFeed | undefined;
    readonly feedPods?: boolean;
    /** Feed a PVC informer into this index (AML's labelled PVCs, pvc-volumes). */
    readonly claims?: ClaimIndex;
    /** Watch AML's InstanceType objects into the store (the admission component's instance types). */
    readonly instanceTypes?: boolean;
    /** Watch this ValidatingWebhookConfiguration: which policy workload kinds it sends us (registration.ts). */
    readonly validatingWebhook?: string;
    readonly readiness: Readiness;
    readonly logger: Logger;
    readonly metrics?: Metrics;
  },
): ClusterSources {
  const { kc, readiness, logger } = opts;
  const { core, admission } = kubeClients(kc);
  const backoff = opts.backoff ? { backoff: opts.backoff } : {};
  const stops: (() => Promise<void>)[] = [];
  let informersSynced: Promise<void> | undefined;

  if (opts.policyConfigMap) {
    readiness.set(Condition.PolicyConfigMap, false);
    const source = new PolicyConfigMapSource({
      kc,
      core,
      ref: opts.policyConfigMap,
      store: opts.store,
      events: new EventRecorder(core, { instance: opts.instance, logger }),
      logger,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      onLoaded: () => readiness.set(Condition.PolicyConfigMap, true),
      ...backoff,
    });
    source.start();
    stops.push(() => source.stop());
  }

  if (opts.validatingWebhook) {
    // Until the first list: no policy workload kind is registered (their controllers' pods are not trusted).
    opts.store.setRegistered(NONE_REGISTERED);
    readiness.set(Condition.WebhookRegistration, false);
    const registration = registrationInformer({
      kc,
      admission,
      name: opts.validatingWebhook,
      publish: (registered) => opts.store.setRegistered(registered),
      logger,
      metrics: opts.metrics,
      ...backoff,
    });
    registration.start();
    void registration.synced.then(() => readiness.set(Condition.WebhookRegistration, true));
    stops.push(() => registration.stop());
  }

  // Watched whatever the policy says: a reload may turn amlExtension.instanceTypes on.
  if (opts.instanceTypes) {
    readiness.set(Condition.InstanceTypes, false);
    const instanceTypes = new InstanceTypeSource({ kc, publish: (types) => opts.store.setInstanceTypes(types), logger, metrics: opts.metrics, ...backoff });
    instanceTypes.start();
    void instanceTypes.settled.then(() => readiness.set(Condition.InstanceTypes, true));
    stops.push(() => instanceTypes.stop());
  }

  if (opts.claims) {
    readiness.set(Condition.VolumeClaims, false);
    const claims = claimInformer({ kc, core, index: opts.claims, logger, metrics: opts.metrics, ...backoff });
    claims.start();
    void claims.synced.then(() => readiness.set(Condition.VolumeClaims, true));
    stops.push(() => claims.stop());
  }

  if (opts.feed) {
    readiness.set(Condition.Informers, false);
    const informers = new ClusterInformers({ kc, core, feed: opts.feed, pods: opts.feedPods ?? true, logger, metrics: opts.metrics, ...backoff });
    informers.start();
    informersSynced = informers.synced;
    void informers.synced.then(() => {
      readiness.set(Condition.Informers, true);
      logger.info(opts.feedPods === false ? 'node cache synced' : 'node and pod caches synced');
    });
    stops.push(() => informers.stop());
  }

  return {
    informersSynced,
    async stop() {
      await Promise.all(stops.map((s) => s()));
    },
  };
}
