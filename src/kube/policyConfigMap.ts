import { createHash } from 'node:crypto';
import type { CoreV1Api, KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { configMapPolicyText, formatErrors, loadPolicy, type LoadResult } from '../policy/loader.js';
import { applyLoaded, type PolicyTarget } from '../policy/sources.js';
import { apiFailure } from './errors.js';
import { EventType, type EventRecorder } from './events.js';
import { Informer } from './informer.js';
import type { BackoffOptions } from './retry.js';

import type { ConfigMapRef } from './configMapRef.js';

export { parseConfigMapRef, type ConfigMapRef } from './configMapRef.js';

/** Reads and checks the policy in a ConfigMap (pure), with the digest of its text. A missing key is an invalid policy with one error. */
export function readConfigMapPolicy(cm: V1ConfigMap, key: string): { readonly loaded: LoadResult; readonly digest: string } {
  const text = configMapPolicyText(cm.data, key);
  if (typeof text !== 'string') return { loaded: { ok: false, errors: [{ path: '', message: text.error }] }, digest: 'missing' };
  return { loaded: loadPolicy(text), digest: createHash('sha256').update(text).digest('hex') };
}

export interface PolicyConfigMapOptions extends PolicyTarget {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly ref: ConfigMapRef;
  readonly events: EventRecorder;
  /** Called each time a valid policy from the ConfigMap is put in force (readiness waits for the first). */
  readonly onLoaded: () => void;
  readonly backoff?: BackoffOptions;
}

/**
 * Keeps the PolicyStore in step with a ConfigMap: a valid change replaces the policy at once; an
 * invalid one is refused (the last good policy stays) and said so in the log and as a Warning
 * Event on the ConfigMap, where `kubectl describe` shows it next to the object that caused it.
 */
export class PolicyConfigMapSource {
  private readonly informer: Informer<V1ConfigMap>;
  private lastDigest: string | undefined;

  constructor(private readonly opts: PolicyConfigMapOptions) {
    const { namespace, name } = opts.ref;
    // A field selector on the name: only this ConfigMap is sent, and RBAC can grant list/watch by resourceName.
    const fieldSelector = `metadata.name=${name}`;
    this.informer = new Informer<V1ConfigMap>(
      {
        kc: opts.kc,
        path: `/api/v1/namespaces/${namespace}/configmaps`,
        list: () => opts.core.listNamespacedConfigMap({ namespace, fieldSelector }),
        fieldSelector,
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        metrics: opts.metrics,
        onError: (err, retryInMs) =>
          opts.logger.warn({ configMap: `${namespace}/${name}`, error: apiFailure(err).message, retryInMs }, 'policy ConfigMap watch failed; retrying'),
      },
      {
        upsert: (cm) =>
          void this.apply(cm).catch((err: unknown) =>
            opts.logger.error({ err, configMap: `${namespace}/${name}` }, 'applying the policy ConfigMap failed; keeping the last good policy'),
          ),
        remove: () => this.removed(),
      },
    );
  }

  start(): void {
    this.opts.logger.info({ configMap: `${this.opts.ref.namespace}/${this.opts.ref.name}`, key: this.opts.ref.key }, 'watching the policy ConfigMap');
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private async apply(cm: V1ConfigMap): Promise<void> {
    const { ref } = this.opts;
    const { loaded, digest } = readConfigMapPolicy(cm, ref.key);
    // A relist, or an edit elsewhere in the ConfigMap, delivers the same text again: nothing to do.
    if (digest === this.lastDigest) return;
    this.lastDigest = digest;
    const where = { configMap: `${ref.namespace}/${ref.name}`, key: ref.key, resourceVersion: cm.metadata?.resourceVersion };
    const involved = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ref.namespace,
      name: ref.name,
      ...(cm.metadata?.uid ? { uid: cm.metadata.uid } : {}),
      ...(cm.metadata?.resourceVersion ? { resourceVersion: cm.metadata.resourceVersion } : {}),
    };
    applyLoaded(loaded, 'configmap', where, this.opts);
    if (loaded.ok) {
      this.opts.onLoaded();
      await this.opts.events.record({ involved, type: EventType.Normal, reason: 'PolicyLoaded', message: `policy (key ${ref.key}) is in force` });
    } else {
      await this.opts.events.record({
        involved,
        type: EventType.Warning,
        reason: 'InvalidPolicy',
        message: `policy (key ${ref.key}) rejected, the last good policy stays in force: ${formatErrors(loaded.errors).replace(/\n/g, '; ')}`,
      });
    }
  }

  private removed(): void {
    this.lastDigest = undefined;
    this.opts.logger.warn({ configMap: `${this.opts.ref.namespace}/${this.opts.ref.name}` }, 'policy ConfigMap deleted; keeping the last good policy');
  }
}
