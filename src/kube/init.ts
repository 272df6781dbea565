import { caBundle } from '../tls/certs.js';
import { writeServing } from '../tls/files.js';
import { ensureCertSecret, type CertSecretResult } from './certSecret.js';
import type { KubeClients } from './client.js';
import type { RetryOptions } from './retry.js';
import { applyWebhookConfig, loadWebhookTemplates, renderWebhookConfig, urlHost, type ApplyAction, type WebhookKind } from './webhookConfigs.js';

export interface InitOptions {
  /** Where the webhook Service and the certificate Secret live. */
  readonly namespace: string;
  readonly service: string;
  readonly secretName: string;
  /** Folder of webhook configuration templates (webhook-config/). */
  readonly templatesDir: string;
  /**
   * Out-of-cluster runs: register the webhooks by this URL instead of the Service, and have the
   * certificate name its host (`parseWebhookUrl` checks it).
   */
  readonly url?: URL;
  /** Also write the Secret's ca.crt, tls.crt and tls.key here, for a `serve` that runs outside the cluster. */
  readonly certsDir?: string;
  /** Namespaces no webhook is called for, beside kube-system and `namespace` (an admin's list). */
  readonly excludeNamespaces?: readonly string[];
  readonly days?: number;
  readonly now?: Date;
  readonly retry: RetryOptions;
}

export interface InitReport {
  readonly secret: CertSecretResult;
  /** `url`: where the API server calls the configuration's first webhook, when registered by URL. */
  readonly webhooks: readonly { readonly kind: WebhookKind; readonly name: string; readonly action: ApplyAction; readonly url?: string }[];
}

/**
 * `aml-admission init`: the serving certificate Secret, then the webhook configurations trusting
 * its CA. Templates are read first so a broken file fails before anything in the cluster changes.
 * Running it again changes nothing unless the certificate is due for renewal (or must cover a new
 * `url` host). With `url` and `certsDir` it sets up a server on a development machine.
 */
export async function runInit(clients: Pick<KubeClients, 'core' | 'admission'>, opts: InitOptions): Promise<InitReport> {
  const templates = await loadWebhookTemplates(opts.templatesDir);
  const secret = await ensureCertSecret(clients.core, {
    namespace: opts.namespace,
    name: opts.secretName,
    service: opts.service,
    ...(opts.url ? { extraNames: [urlHost(opts.url)] } : {}),
    retry: opts.retry,
    ...(opts.days ? { days: opts.days } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  if (opts.certsDir) await writeServing(opts.certsDir, secret.certificate);
  const bundle = caBundle(secret.caBundlePem);
  const webhooks = [];
  for (const template of templates) {
    const desired = renderWebhookConfig(template, {
      namespace: opts.namespace,
      service: opts.service,
      caBundle: bundle,
      ...(opts.url ? { url: opts.url } : {}),
      ...(opts.excludeNamespaces ? { excludeNamespaces: opts.excludeNamespaces } : {}),
    });
    const action = await applyWebhookConfig(clients.admission, desired, opts.retry);
    const url = desired.webhooks?.[0]?.clientConfig.url;
    webhooks.push({ kind: desired.kind, name: desired.metadata.name, action, ...(url ? { url } : {}) });
  }
  return { secret, webhooks };
}
