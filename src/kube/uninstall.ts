import type { KubeClients } from './client.js';
import { isNotFound, KubeError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import { loadWebhookTemplates, WebhookKind } from './webhookConfigs.js';

export interface UninstallOptions {
  /** Folder of webhook configuration templates: the configurations to delete are named there. */
  readonly templatesDir: string;
  readonly namespace: string;
  /** Secrets to delete too (the CA and the serving certificate); none by default. */
  readonly secrets?: readonly string[];
  readonly retry: RetryOptions;
}

export type UninstallAction = 'deleted' | 'not found';

export interface UninstallStep {
  readonly kind: string;
  readonly name: string;
  readonly action: UninstallAction;
}

/**
 * `aml-admission uninstall`: the webhook configurations first, validating before mutating (it
 * fails closed: once it is gone no pod create waits on us), then any Secrets asked for. Run it
 * before deleting the server, so no moment exists where the API server must call a webhook that
 * nobody answers. Idempotent: what is already gone is reported as not found.
 */
export async function runUninstall(clients: Pick<KubeClients, 'core' | 'admission'>, opts: UninstallOptions): Promise<UninstallStep[]> {
  const templates = await loadWebhookTemplates(opts.templatesDir);
  const ordered = [...templates].sort((a, b) => Number(b.kind === WebhookKind.Validating) - Number(a.kind === WebhookKind.Validating));
  const remove = async (kind: string, name: string, del: () => Promise<unknown>): Promise<UninstallStep> => {
    try {
      await withRetry(del, opts.retry);
      return { kind, name, action: 'deleted' };
    } catch (err) {
      if (isNotFound(err)) return { kind, name, action: 'not found' };
      throw new KubeError(`delete ${kind} ${name}`, err);
    }
  };
  const steps: UninstallStep[] = [];
  for (const t of ordered) {
    const name = t.metadata.name;
    steps.push(
      await remove(t.kind, name, () =>
        t.kind === WebhookKind.Validating
          ? clients.admission.deleteValidatingWebhookConfiguration({ name })
          : clients.admission.deleteMutatingWebhookConfiguration({ name }),
      ),
    );
  }
  for (const name of opts.secrets ?? []) {
    steps.push(await remove('Secret', `${opts.namespace}/${name}`, () => clients.core.deleteNamespacedSecret({ namespace: opts.namespace, name })));
  }
  return steps;
}
