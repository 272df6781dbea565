import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { isConflict, isNotFound, KubeConflictError, KubeError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';

export const MANAGED_BY = 'aml-admission-init';

/** Concurrent writers (two init Jobs, a human with kubectl) are settled by re-reading; this bounds the loop. */
const MAX_CONFLICTS = 5;

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** What to do with the Secret as it is now: leave it (`write` absent), or store `write` (plain text values). */
export interface SecretDecision<R> {
  readonly write?: Readonly<Record<string, string>>;
  readonly result: R;
}

/**
 * Read a kubernetes.io/tls Secret, decide, and create or replace it; a 409 from a concurrent writer
 * (AlreadyExists on create, Conflict on a replace whose resourceVersion moved) means: read again
 * and decide again. An update keeps the Secret's type (immutable) and metadata.
 */
export async function reconcileSecret<R>(
  core: CoreV1Api,
  ref: { readonly namespace: string; readonly name: string; readonly component: string; readonly retry: RetryOptions },
  decide: (existing: V1Secret | undefined) => SecretDecision<R>,
): Promise<R> {
  const { namespace, name } = ref;
  const call = <T>(step: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, ref.retry).catch((err: unknown) => {
      if (isNotFound(err) || isConflict(err)) throw err; // handled below
      throw new KubeError(`${step} Secret ${namespace}/${name}`, err);
    });

  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const existing = await call('read', () => core.readNamespacedSecret({ name, namespace })).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const { write, result } = decide(existing);
    if (write === undefined) return result;
    const data = Object.fromEntries(Object.entries(write).map(([k, v]) => [k, b64(v)]));
    try {
      if (!existing) {
        const labels = { 'app.kubernetes.io/name': 'aml-admission', 'app.kubernetes.io/component': ref.component, 'app.kubernetes.io/managed-by': MANAGED_BY };
        await call('create', () =>
          core.createNamespacedSecret({
            namespace,
            body: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name, namespace, labels }, data },
          }),
        );
      } else {
        await call('update', () => core.replaceNamespacedSecret({ name, namespace, body: { ...existing, data } }));
      }
      return result;
    } catch (err) {
      if (!isConflict(err)) throw err; // 409 AlreadyExists or Conflict: someone else wrote; look again
    }
  }
  throw new KubeConflictError(`Secret ${namespace}/${name} kept changing under us (${MAX_CONFLICTS} conflicts); is another init running?`);
}
