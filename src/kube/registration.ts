import type { AdmissionregistrationV1Api, KubeConfig, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import type { RegisteredResources } from '../k8s/workloads.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { apiFailure } from './errors.js';
import { Informer } from './informer.js';
import type { BackoffOptions } from './retry.js';

/** Nothing registered: the state before the first list, and after the configuration is deleted. */
export const NONE_REGISTERED: RegisteredResources = () => false;

/** `group/resource` of every rule of a validating webhook configuration, as a lookup. */
export function registeredResources(config: V1ValidatingWebhookConfiguration | undefined): RegisteredResources {
  const names = new Set<string>();
  for (const webhook of config?.webhooks ?? [])
    for (const rule of webhook.rules ?? [])
      for (const group of rule.apiGroups ?? []) for (const resource of rule.resources ?? []) names.add(`${group}/${resource}`);
  return (group, resource) => names.has(`${group}/${resource}`) || names.has(`${group}/*`) || names.has(`*/${resource}`) || names.has('*/*');
}

/**
 * Watches the validating webhook configuration by name and publishes what its rules name. The
 * policy's own workload kinds count as judged only when it names them (k8s/workloads.ts): init
 * registers them, but until it has run, their objects reach no webhook, and trusting their
 * controllers' pods would skip identity claims nobody checked. Reads one object by name, so RBAC
 * can limit it to that name.
 */
export function registrationInformer(opts: {
  readonly kc: KubeConfig;
  readonly admission: AdmissionregistrationV1Api;
  readonly name: string;
  readonly publish: (registered: RegisteredResources) => void;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly backoff?: BackoffOptions;
}): Informer<V1ValidatingWebhookConfiguration> {
  const { admission, name, publish, logger } = opts;
  return new Informer<V1ValidatingWebhookConfiguration>(
    {
      kc: opts.kc,
      path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      fieldSelector: `metadata.name=${name}`,
      list: async () => {
        const list = await admission.listValidatingWebhookConfiguration({ fieldSelector: `metadata.name=${name}` });
        return { metadata: { resourceVersion: list.metadata?.resourceVersion ?? '' }, items: list.items };
      },
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      metrics: opts.metrics,
      onError: (err, retryInMs) =>
        logger.warn({ informer: 'validatingwebhookconfigurations', error: apiFailure(err).message, retryInMs }, 'informer failed; retrying'),
      onHandlerError: (err) => logger.error({ informer: 'validatingwebhookconfigurations', err }, 'the webhook configuration could not be read; skipped'),
    },
    {
      upsert: (config) => publish(registeredResources(config)),
      remove: () => publish(NONE_REGISTERED),
    },
  );
}
