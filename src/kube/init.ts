import { caBundle } from '../tls/certs.js';
import { ensureCertSecret, type CertSecretResult } from './certSecret.js';
import type { KubeClients } from './client.js';
import type { RetryOptions } from './retry.js';
import { applyWebhookConfig, loadWebhookTemplates, renderWebhookConfig, type ApplyAction, type WebhookKind } from './webhookConfigs.js';

export interface InitOptions {
  /** Where the webhook Service and the certificate Secret live. */
  readonly namespace: string;
  readonly service: string;
  readonly secretName: string;
  /** Folder of webhook configuration templates (webhook-config/). */
  readonly templatesDir: string;
  readonly days?: number;
  readonly now?: Date;
  readonly retry: RetryOptions;
}

export interface InitReport {
  readonly secret: CertSecretResult;
  readonly webhooks: readonly { readonly kind: WebhookKind; readonly name: string; readonly action: ApplyAction }[];
}

/**
 * `aml-admission init`: the serving certificate Secret, then the webhook configurations trusting
 * its CA. Templates are read first so a broken file fails before anything in the cluster changes.
 * Running it again changes nothing unless the certificate is due for renewal.
 */
export async function runInit(clients: Pick<KubeClients, 'core' | 'admission'>, opts: InitOptions): Promise<InitReport> {
  const templates = await loadWebhookTemplates(opts.templatesDir);
  const secret = await ensureCertSecret(clients.core, {
    namespace: opts.namespace,
    name: opts.secretName,
    service: opts.service,
    retry: opts.retry,
    ...(opts.days ? { days: opts.days } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const bundle = caBundle(secret.caBundlePem);
  const webhooks = [];
  for (const template of templates) {
    const desired = renderWebhookConfig(template, { namespace: opts.namespace, service: opts.service, caBundle: bundle });
    const action = await applyWebhookConfig(clients.admission, desired, opts.retry);
    webhooks.push({ kind: desired.kind, name: desired.metadata.name, action });
  }
  return { secret, webhooks };
}
