import type { V1OwnerReference } from '@kubernetes/client-node';
import { caBundle, DEFAULT_CERT_DAYS } from '../tls/certs.js';
import { RENEW_BEFORE_MS, writeServing } from '../tls/files.js';
import { ensureCaSecret, type CaSecretResult } from './caSecret.js';
import { ensureCertSecret, type CertSecretResult } from './certSecret.js';
import type { KubeClients } from './client.js';
import { clusterRoleOwner } from './owner.js';
import type { RetryOptions } from './retry.js';
import { rollOnCaBundle, type RollAction } from './schedulerRoll.js';
import { applyWebhookConfig, loadWebhookTemplates, renderWebhookConfig, urlHost, type ApplyAction, type WebhookKind } from './webhookConfigs.js';

const DAY_MS = 86_400_000;

export interface InitOptions {
  /** Where the webhook Service, the Secrets and the scheduler Deployment live. */
  readonly namespace: string;
  readonly service: string;
  /** The serving certificate Secret (tls.crt, tls.key, ca.crt), mounted by the admission pods. */
  readonly secretName: string;
  /** The CA's own Secret (its certificate and key); nothing mounts it. */
  readonly caSecretName: string;
  /** Folder of webhook configuration templates (webhook-config/). */
  readonly templatesDir: string;
  /** The ClusterRole the webhook configurations are owned by (deleted with it); undefined: no owner. */
  readonly ownerClusterRole?: string;
  /** The kube-scheduler Deployment (in `namespace`) to roll when the CA bundle changes; undefined: none. */
  readonly schedulerDeployment?: string;
  /**
   * Out-of-cluster runs: register the webhooks by this URL instead of the Service, and have the
   * certificate name its host (`parseWebhookUrl` checks it).
   */
  readonly url?: URL;
  /** Also write the Secret's ca.crt, tls.crt and tls.key here, for a `serve` that runs outside the cluster. */
  readonly certsDir?: string;
  /** Namespaces no webhook is called for, beside kube-system and `namespace` (an admin's list). */
  readonly excludeNamespaces?: readonly string[];
  /** The policy's own workload kinds, registered with the validating webhook (policy `workloads`); read after the Secrets. */
  readonly workloads?: () => Promise<readonly { readonly group: string; readonly resource: string }[]>;
  /** Validity of a newly issued serving certificate, and of a new CA, in days. */
  readonly days?: number;
  readonly caDays?: number;
  readonly now?: Date;
  readonly retry: RetryOptions;
}

export interface InitReport {
  readonly ca: CaSecretResult;
  readonly secret: CertSecretResult;
  /** Undefined when no owner was asked for; `found: false` when the ClusterRole does not exist. */
  readonly owner?: { readonly name: string; readonly found: boolean };
  readonly scheduler?: { readonly name: string; readonly action: RollAction };
  /** `url`: where the API server calls the configuration's first webhook, when registered by URL. */
  readonly webhooks: readonly { readonly kind: WebhookKind; readonly name: string; readonly action: ApplyAction; readonly url?: string }[];
}

/**
 * `aml-admission init`: the CA Secret, the serving certificate Secret it signs, the webhook
 * configurations trusting the CA bundle (owned by the install's ClusterRole), and a scheduler roll
 * when that bundle changed. Templates are read first so a broken file fails before anything in the
 * cluster changes. Running it again changes nothing unless the serving certificate is due (only it
 * is reissued), the CA is due (years apart), or the certificate must cover a new `url` host. With
 * `url` and `certsDir` it sets up a server on a development machine.
 */
export async function runInit(clients: Pick<KubeClients, 'core' | 'admission' | 'apps' | 'rbac'>, opts: InitOptions): Promise<InitReport> {
  const templates = await loadWebhookTemplates(opts.templatesDir);
  const now = opts.now ?? new Date();
  const days = opts.days ?? DEFAULT_CERT_DAYS;
  const ca = await ensureCaSecret(clients.core, {
    namespace: opts.namespace,
    name: opts.caSecretName,
    // The CA must outlive every serving certificate it signs, including one issued now.
    minValidityMs: days * DAY_MS + RENEW_BEFORE_MS,
    ...(opts.caDays ? { days: opts.caDays } : {}),
    now,
    retry: opts.retry,
  });
  const secret = await ensureCertSecret(clients.core, {
    namespace: opts.namespace,
    name: opts.secretName,
    service: opts.service,
    ca: ca.ca,
    ...(opts.url ? { extraNames: [urlHost(opts.url)] } : {}),
    retry: opts.retry,
    days,
    now,
  });
  if (opts.certsDir) await writeServing(opts.certsDir, secret.certificate);

  let ownerReference: V1OwnerReference | undefined;
  if (opts.ownerClusterRole) ownerReference = await clusterRoleOwner(clients.rbac, opts.ownerClusterRole, opts.retry);
  const bundle = caBundle(secret.caBundlePem);
  const workloads = await opts.workloads?.();
  const webhooks = [];
  for (const template of templates) {
    const desired = renderWebhookConfig(template, {
      namespace: opts.namespace,
      service: opts.service,
      caBundle: bundle,
      ...(opts.url ? { url: opts.url } : {}),
      ...(opts.excludeNamespaces ? { excludeNamespaces: opts.excludeNamespaces } : {}),
      ...(workloads ? { workloads } : {}),
      ...(ownerReference ? { ownerReference } : {}),
    });
    const action = await applyWebhookConfig(clients.admission, desired, opts.retry);
    const url = desired.webhooks?.[0]?.clientConfig.url;
    webhooks.push({ kind: desired.kind, name: desired.metadata.name, action, ...(url ? { url } : {}) });
  }
  // Last: the API server already trusts the new bundle when the new scheduler pods start.
  const scheduler = opts.schedulerDeployment
    ? {
        name: opts.schedulerDeployment,
        action: await rollOnCaBundle(clients.apps, {
          namespace: opts.namespace,
          name: opts.schedulerDeployment,
          bundlePem: secret.caBundlePem,
          retry: opts.retry,
        }),
      }
    : undefined;
  return {
    ca,
    secret,
    ...(opts.ownerClusterRole ? { owner: { name: opts.ownerClusterRole, found: ownerReference !== undefined } } : {}),
    ...(scheduler ? { scheduler } : {}),
    webhooks,
  };
}
