import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import {
  clusterInstanceTypes,
  INSTANCE_TYPE_GROUP,
  INSTANCE_TYPE_PLURAL,
  INSTANCE_TYPE_VERSION,
  type ClusterInstanceTypes,
} from '../policy/instanceTypeObjects.js';
import { apiFailure, isNotFound, KubeError } from './errors.js';
import { Informer } from './informer.js';
import type { BackoffOptions } from './retry.js';

export const INSTANCE_TYPE_CRD = `${INSTANCE_TYPE_PLURAL}.${INSTANCE_TYPE_GROUP}`;

/** The cluster's InstanceType objects once (`audit`); none when their CRD is not installed. */
export async function listInstanceTypes(kc: KubeConfig): Promise<KubernetesObject[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  try {
    const list = (await api.listClusterCustomObject({
      group: INSTANCE_TYPE_GROUP,
      version: INSTANCE_TYPE_VERSION,
      plural: INSTANCE_TYPE_PLURAL,
    })) as KubernetesListObject<KubernetesObject>;
    return list.items;
  } catch (err) {
    if (isNotFound(err)) return [];
    throw new KubeError(`list ${INSTANCE_TYPE_CRD}`, err);
  }
}

export interface InstanceTypeSourceOptions {
  readonly kc: KubeConfig;
  /** Told the cluster's InstanceType objects after every change (the PolicyStore's setInstanceTypes). */
  readonly publish: (types: ClusterInstanceTypes) => void;
  readonly logger: Logger;
  readonly backoff?: BackoffOptions;
  readonly metrics?: Metrics | undefined;
}

/**
 * Watches AML's InstanceType objects (cluster-scoped) and publishes them, read, on every change.
 * A cluster without the CRD (no AML extension, deploy/crds not applied) is a state, not an
 * error: said once, with no instance types from the cluster, and the list is retried (with the
 * informer's capped backoff) until the CRD appears. `settled` resolves at the first list or at
 * that answer: a replica knows which types exist before it is ready.
 */
export class InstanceTypeSource {
  readonly settled: Promise<void>;
  private settle!: () => void;
  private readonly informer: Informer<KubernetesObject>;
  private readonly objects = new Map<string, KubernetesObject>();
  private readonly warned = new Map<string, string>();
  private absent = false;

  constructor(private readonly opts: InstanceTypeSourceOptions) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    const api = opts.kc.makeApiClient(CustomObjectsApi);
    const { logger } = opts;
    this.informer = new Informer<KubernetesObject>(
      {
        kc: opts.kc,
        path: `/apis/${INSTANCE_TYPE_GROUP}/${INSTANCE_TYPE_VERSION}/${INSTANCE_TYPE_PLURAL}`,
        list: async () => {
          const list = (await api.listClusterCustomObject({
            group: INSTANCE_TYPE_GROUP,
            version: INSTANCE_TYPE_VERSION,
            plural: INSTANCE_TYPE_PLURAL,
          })) as KubernetesListObject<KubernetesObject>;
          if (this.absent) logger.info({ crd: INSTANCE_TYPE_CRD }, 'InstanceType CRD found; watching the cluster instance types');
          this.absent = false;
          return list;
        },
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        metrics: opts.metrics,
        onError: (err, retryInMs) => this.failed(err, retryInMs),
        onHandlerError: (err) => logger.error({ err, crd: INSTANCE_TYPE_CRD }, 'an InstanceType object could not be read; skipped'),
      },
      { upsert: (obj) => this.changed(obj, true), remove: (obj) => this.changed(obj, false) },
    );
    void this.informer.synced.then(() => this.settle());
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private failed(err: unknown, retryInMs: number): void {
    const failure = apiFailure(err);
    if (failure.code !== 404) {
      this.opts.logger.warn({ informer: 'instancetypes', error: failure.message, retryInMs }, 'informer failed; retrying');
      return;
    }
    if (!this.absent) {
      this.opts.logger.warn(
        { crd: INSTANCE_TYPE_CRD },
        'the InstanceType CRD is not installed: serving with the policy instance types only; checking again until it is (deploy/crds has it)',
      );
      this.absent = true;
      // A CRD that was deleted took its objects with it.
      if (this.objects.size > 0) {
        this.objects.clear();
        this.publish();
      }
    }
    this.settle();
  }

  private changed(obj: KubernetesObject, present: boolean): void {
    const name = obj.metadata?.name ?? '';
    if (present) this.objects.set(name, obj);
    else this.objects.delete(name);
    this.publish();
  }

  private publish(): void {
    const types = clusterInstanceTypes(this.objects.values());
    // Each refusal is logged once, until its reason changes.
    for (const [name, reason] of types.refused) {
      if (this.warned.get(name) === reason) continue;
      this.warned.set(name, reason);
      this.opts.logger.warn({ instanceType: name, reason }, 'InstanceType object refused: pods naming it are denied (policy-input)');
    }
    for (const name of this.warned.keys()) if (!types.refused.has(name)) this.warned.delete(name);
    this.opts.publish(types);
  }
}
