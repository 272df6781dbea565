import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdmissionregistrationV1Api, V1MutatingWebhookConfiguration, V1OwnerReference, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { isConflict, isNotFound, KubeConflictError, KubeError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';
import { keepingAksExclusions, normalWebhooks, toleratedExclusions } from './webhookDrift.js';
import { InputError } from '../util/inputError.js';

export const WebhookKind = { Mutating: 'MutatingWebhookConfiguration', Validating: 'ValidatingWebhookConfiguration' } as const;
export type WebhookKind = (typeof WebhookKind)[keyof typeof WebhookKind];

/** A Mutating- or ValidatingWebhookConfiguration as plain JSON (what the templates and the API speak). */
export type WebhookConfiguration = (V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration) & {
  kind: WebhookKind;
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: V1OwnerReference[] };
};

/** The label that scopes a webhook away from namespaces by name; its list names the service's own namespace. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the shape init relies on; anything else in the template is passed to the API server as written. */
function checkTemplate(doc: unknown, source: string): WebhookConfiguration {
  if (!isObject(doc)) throw new InputError(`${source}: not a YAML object`);
  if (doc.kind !== WebhookKind.Mutating && doc.kind !== WebhookKind.Validating) {
    throw new InputError(`${source}: kind must be ${WebhookKind.Mutating} or ${WebhookKind.Validating}, got ${JSON.stringify(doc.kind)}`);
  }
  const meta = doc.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || meta.name === '') throw new InputError(`${source}: metadata.name is required`);
  if (!Array.isArray(doc.webhooks) || doc.webhooks.length === 0) throw new InputError(`${source}: webhooks must be a non-empty list`);
  for (const [i, w] of doc.webhooks.entries()) {
    const service = isObject(w) && isObject(w.clientConfig) ? w.clientConfig.service : undefined;
    if (!isObject(service) || typeof service.namespace !== 'string' || typeof service.name !== 'string') {
      throw new InputError(`${source}: webhooks[${i}].clientConfig.service needs a name and namespace`);
    }
  }
  return doc as unknown as WebhookConfiguration;
}

/** Reads every webhook configuration from the `*.yaml` files of a folder (webhook-config/). */
export async function loadWebhookTemplates(dir: string): Promise<WebhookConfiguration[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const templates: WebhookConfiguration[] = [];
  for (const file of files) {
    const path = join(dir, file);
    for (const [i, doc] of parseAllDocuments(await readFile(path, 'utf8')).entries()) {
      if (doc.errors.length > 0) throw new InputError(`${path}: ${doc.errors[0]!.message.split('\n')[0]}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      templates.push(checkTemplate(value, `${path} (document ${i + 1})`));
    }
  }
  if (templates.length === 0) throw new InputError(`${dir}: no webhook configurations found`);
  return templates;
}

export interface RenderOptions {
  readonly namespace: string;
  readonly service: string;
  /** Base64 PEM the API server uses to verify the webhook's serving certificate. */
  readonly caBundle: string;
  /**
   * Register the webhooks by URL instead of by Service: `url` + each webhook's path, for a server
   * that runs outside the cluster (a development machine; Kyverno's --serverIP). From
   * `parseWebhookUrl`.
   */
  readonly url?: URL;
  /** More namespaces no webhook is called for (an admin's list; `init --exclude-namespace`). */
  readonly excludeNamespaces?: readonly string[];
  /** The install's cluster-scoped object the configuration is deleted with (owner.ts). */
  readonly ownerReference?: V1OwnerReference;
  /** The policy's own workload kinds (policy `workloads`): the validating webhooks get a rule for each. */
  readonly workloads?: readonly { readonly group: string; readonly resource: string }[];
}

/**
 * A base URL the API server may call (admissionregistration/v1 `clientConfig.url`): https, a host,
 * no user info, query or fragment. A path is kept as a prefix of the webhook paths.
 */
export function parseWebhookUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${JSON.stringify(value)} is not a URL (expected https://HOST[:PORT][/PREFIX])`);
  }
  if (url.protocol !== 'https:') throw new Error(`${value}: the API server only calls webhooks over https`);
  if (url.username || url.password) throw new Error(`${value}: a webhook URL may not contain user info`);
  if (url.search || url.hash) throw new Error(`${value}: a webhook URL may not have a query or fragment`);
  return url;
}

/** The host a webhook URL names, as a certificate SAN (IPv6 without its brackets). */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function webhookUrl(base: URL, path: string | undefined): string {
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}${path ?? ''}`;
}

/**
 * The template made concrete: every webhook points at `service` in `namespace` (or at `url`) with
 * `caBundle`, and its namespace-name exclusion names the real namespace instead of the template's,
 * plus `excludeNamespaces`; a validating webhook also judges the policy's own workload kinds.
 */
export function renderWebhookConfig(template: WebhookConfiguration, opts: RenderOptions): WebhookConfiguration {
  const config = structuredClone(template);
  if (opts.ownerReference) config.metadata.ownerReferences = [opts.ownerReference];
  for (const webhook of config.webhooks ?? []) {
    const service = webhook.clientConfig.service!;
    const templateNamespace = service.namespace;
    if (opts.url) {
      webhook.clientConfig = { url: webhookUrl(opts.url, service.path) };
    } else {
      service.namespace = opts.namespace;
      service.name = opts.service;
    }
    webhook.clientConfig.caBundle = opts.caBundle;
    for (const expr of webhook.namespaceSelector?.matchExpressions ?? []) {
      if (expr.key !== NAMESPACE_NAME_LABEL || !expr.values) continue;
      expr.values = [...new Set([...expr.values.map((v) => (v === templateNamespace ? opts.namespace : v)), ...(opts.excludeNamespaces ?? [])])];
    }
    if (config.kind === WebhookKind.Validating)
      for (const { group, resource } of opts.workloads ?? [])
        webhook.rules = [
          ...(webhook.rules ?? []),
          { operations: ['CREATE', 'UPDATE'], apiGroups: [group], apiVersions: ['*'], resources: [resource], scope: 'Namespaced' },
        ];
  }
  return config;
}

/**
 * True when every field `wanted` sets has the same value in `actual` (lists element by element,
 * same length). The API server adds defaults and bookkeeping; those must not count as drift.
 */
export function covers(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) return Array.isArray(actual) && actual.length === wanted.length && wanted.every((w, i) => covers(actual[i], w));
  if (isObject(wanted)) return isObject(actual) && Object.entries(wanted).every(([k, v]) => v === undefined || covers(actual[k], v));
  return actual === wanted;
}

export type ApplyAction = 'created' | 'updated' | 'unchanged';

interface Ops {
  read(name: string): Promise<WebhookConfiguration>;
  create(body: WebhookConfiguration): Promise<unknown>;
  replace(name: string, body: WebhookConfiguration): Promise<unknown>;
}

function opsFor(api: AdmissionregistrationV1Api, kind: WebhookKind): Ops {
  if (kind === WebhookKind.Mutating) {
    return {
      read: async (name) => (await api.readMutatingWebhookConfiguration({ name })) as WebhookConfiguration,
      create: (body) => api.createMutatingWebhookConfiguration({ body: body as V1MutatingWebhookConfiguration }),
      replace: (name, body) => api.replaceMutatingWebhookConfiguration({ name, body: body as V1MutatingWebhookConfiguration }),
    };
  }
  return {
    read: async (name) => (await api.readValidatingWebhookConfiguration({ name })) as WebhookConfiguration,
    create: (body) => api.createValidatingWebhookConfiguration({ body: body as V1ValidatingWebhookConfiguration }),
    replace: (name, body) => api.replaceValidatingWebhookConfiguration({ name, body: body as V1ValidatingWebhookConfiguration }),
  };
}

const MAX_CONFLICTS = 5;

/**
 * The owner references with `owner` among them: the same array when it already is (no drift),
 * else a new one where it replaces a reference to the same kind and name (a re-created owner has
 * a new uid) and keeps everyone else's.
 */
function withOwner(existing: V1OwnerReference[] | undefined, owner: V1OwnerReference | undefined): V1OwnerReference[] | undefined {
  if (owner === undefined || existing?.some((o) => o.uid === owner.uid)) return existing;
  return [...(existing ?? []).filter((o) => !(o.kind === owner.kind && o.name === owner.name)), owner];
}

/**
 * Creates the configuration, or updates it when it differs in meaning (webhookDrift.ts: order of
 * set-like lists, AKS's own exclusions); a 409 means someone else wrote, so read and decide again.
 */
export async function applyWebhookConfig(api: AdmissionregistrationV1Api, desired: WebhookConfiguration, retry: RetryOptions): Promise<ApplyAction> {
  const ops = opsFor(api, desired.kind);
  const name = desired.metadata.name;
  const what = `${desired.kind} ${name}`;
  const call = <T>(step: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, retry).catch((err: unknown) => {
      if (isNotFound(err) || isConflict(err)) throw err;
      throw new KubeError(`${step} ${what}`, err);
    });

  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const existing = await call('read', () => ops.read(name)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    try {
      if (!existing) {
        await call('create', () => ops.create(desired));
        return 'created';
      }
      const tolerated = toleratedExclusions(desired.webhooks);
      const owners = withOwner(existing.metadata.ownerReferences, desired.metadata.ownerReferences?.[0]);
      if (
        covers(normalWebhooks(existing.webhooks, tolerated), normalWebhooks(desired.webhooks)) &&
        covers(existing.metadata.labels ?? {}, desired.metadata.labels ?? {}) &&
        owners === existing.metadata.ownerReferences
      )
        return 'unchanged';
      const body = {
        ...desired,
        webhooks: keepingAksExclusions(desired.webhooks, existing.webhooks),
        // Keep what others added to metadata; the resourceVersion makes the write conditional.
        metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...desired.metadata.labels }, ...(owners ? { ownerReferences: owners } : {}) },
      } as WebhookConfiguration;
      await call('update', () => ops.replace(name, body));
      return 'updated';
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new KubeConflictError(`${what} kept changing under us (${MAX_CONFLICTS} conflicts)`);
}
