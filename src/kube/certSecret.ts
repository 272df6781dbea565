import { X509Certificate } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { createServingCertificate, serviceNames, type ServingCertificate } from '../tls/certs.js';
import { isReusable, notAfter, RENEW_BEFORE_MS } from '../tls/files.js';
import { isConflict, isNotFound, KubeError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';

export const SECRET_KEYS = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;
export const MANAGED_BY = 'aml-admission-init';

export interface CertSecretOptions {
  readonly namespace: string;
  readonly name: string;
  /** The webhook Service the certificate is for. */
  readonly service: string;
  /** More names the certificate must cover (the host of `init --webhook-url`); a Secret without them is reissued. */
  readonly extraNames?: readonly string[];
  readonly days?: number;
  readonly now?: Date;
  readonly retry: RetryOptions;
}

export type SecretAction = 'created' | 'renewed' | 'unchanged';

export interface CertSecretResult {
  readonly action: SecretAction;
  /** Why a certificate was (re)issued, for the log. */
  readonly reason?: string;
  /** What the webhook configurations must trust: the current CA, followed by the previous one while rotating. */
  readonly caBundlePem: string;
  /** What the Secret now holds (`caPem` is the whole bundle). */
  readonly certificate: ServingCertificate;
}

/** Concurrent writers (two init Jobs, a human with kubectl) are settled by re-reading; this bounds the loop. */
const MAX_CONFLICTS = 5;

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The certificate a Secret holds; the first certificate of `ca.crt` is the CA that issued `tls.crt`. */
export function certFromSecret(secret: V1Secret): ServingCertificate {
  const data = secret.data ?? {};
  return { caPem: unb64(data[SECRET_KEYS.ca]), certPem: unb64(data[SECRET_KEYS.cert]), keyPem: unb64(data[SECRET_KEYS.key]) };
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

function stillValid(pem: string, now: Date): boolean {
  try {
    return new Date(new X509Certificate(pem).validTo) > now;
  } catch {
    return false;
  }
}

/**
 * The `ca.crt` to store with a fresh certificate: the new CA, then the old one while it is valid.
 * The API server trusts the whole bundle, so pods still serving the old certificate (the kubelet
 * refreshes mounted Secrets within a minute or so) keep answering while the rotation rolls out.
 */
export function rotatedBundle(freshCaPem: string, previous: ServingCertificate | undefined, now: Date): string {
  const old = previous ? pemBlocks(previous.caPem)[0] : undefined;
  const keep = old && old.trim() !== freshCaPem.trim() && stillValid(old, now) ? [old] : [];
  return [freshCaPem, ...keep].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

function renewalReason(cert: ServingCertificate | undefined, now: Date): string {
  if (!cert || !cert.certPem || !cert.keyPem || !cert.caPem) return 'the Secret lacks tls.crt, tls.key or ca.crt';
  try {
    const expiry = notAfter(cert.certPem);
    if (expiry.getTime() - now.getTime() < RENEW_BEFORE_MS)
      return `the certificate expires ${expiry.toISOString()}, within ${RENEW_BEFORE_MS / 86_400_000} days`;
  } catch {
    return 'tls.crt is not a valid certificate';
  }
  return 'the certificate does not match its key, its CA or the names it must cover';
}

/**
 * Makes sure the serving certificate Secret exists and is good for at least 30 more days:
 * reuse it if so, otherwise issue a new CA and certificate. Idempotent; a 409 from a concurrent
 * writer is answered by reading again and deciding again.
 */
export async function ensureCertSecret(core: CoreV1Api, opts: CertSecretOptions): Promise<CertSecretResult> {
  const { namespace, name } = opts;
  const now = opts.now ?? new Date();
  const names = [...new Set([...serviceNames(opts.service, namespace), ...(opts.extraNames ?? [])])];
  const call = <T>(step: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, opts.retry).catch((err: unknown) => {
      if (isNotFound(err) || isConflict(err)) throw err; // handled below
      throw new KubeError(`${step} Secret ${namespace}/${name}`, err);
    });

  for (let round = 0; round < MAX_CONFLICTS; round++) {
    const existing = await call('read', () => core.readNamespacedSecret({ name, namespace })).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const current = existing ? certFromSecret(existing) : undefined;
    if (current && isReusable(current, names, now)) return { action: 'unchanged', caBundlePem: current.caPem, certificate: current };

    const fresh = createServingCertificate({ service: opts.service, namespace, now, extraNames: names, ...(opts.days ? { days: opts.days } : {}) });
    const caBundlePem = rotatedBundle(fresh.caPem, current, now);
    const certificate = { caPem: caBundlePem, certPem: fresh.certPem, keyPem: fresh.keyPem };
    const data = { [SECRET_KEYS.ca]: b64(caBundlePem), [SECRET_KEYS.cert]: b64(fresh.certPem), [SECRET_KEYS.key]: b64(fresh.keyPem) };
    try {
      if (!existing) {
        await call('create', () =>
          core.createNamespacedSecret({
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              type: 'kubernetes.io/tls',
              metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'aml-admission', 'app.kubernetes.io/managed-by': MANAGED_BY } },
              data,
            },
          }),
        );
        return { action: 'created', reason: 'the Secret did not exist', caBundlePem, certificate };
      }
      const reason = renewalReason(current, now);
      // Keep the Secret's type (immutable) and metadata; the resourceVersion makes the write conditional.
      await call('update', () => core.replaceNamespacedSecret({ name, namespace, body: { ...existing, data } }));
      return { action: 'renewed', reason, caBundlePem, certificate };
    } catch (err) {
      if (!isConflict(err)) throw err; // 409 AlreadyExists or Conflict: someone else wrote; look again
    }
  }
  throw new Error(`Secret ${namespace}/${name} kept changing under us (${MAX_CONFLICTS} conflicts); is another init running?`);
}
