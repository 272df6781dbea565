import { X509Certificate } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { issueServingCertificate, serviceNames, type CertificateAuthority, type ServingCertificate } from '../tls/certs.js';
import { isReusable, notAfter, RENEW_BEFORE_MS } from '../tls/files.js';
import type { RetryOptions } from './retry.js';
import { reconcileSecret, unb64 } from './secretWriter.js';

export const SECRET_KEYS = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

export interface CertSecretOptions {
  readonly namespace: string;
  readonly name: string;
  /** The webhook Service the certificate is for. */
  readonly service: string;
  /** The CA that signs it (caSecret.ts). A certificate another CA signed is reissued. */
  readonly ca: CertificateAuthority;
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
  /** What the webhook configurations and the scheduler must trust: the CA, followed by the previous one while rotating. */
  readonly caBundlePem: string;
  /** What the Secret now holds (`caPem` is the whole bundle). */
  readonly certificate: ServingCertificate;
}

/** The certificate a Secret holds; the first certificate of `ca.crt` is the CA that issued `tls.crt`. */
export function certFromSecret(secret: V1Secret): ServingCertificate {
  const data = secret.data ?? {};
  return { caPem: unb64(data[SECRET_KEYS.ca]), certPem: unb64(data[SECRET_KEYS.cert]), keyPem: unb64(data[SECRET_KEYS.key]) };
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

const samePem = (a: string | undefined, b: string) => a !== undefined && a.trim() === b.trim();

function stillValid(pem: string, now: Date): boolean {
  try {
    return new Date(new X509Certificate(pem).validTo) > now;
  } catch {
    return false;
  }
}

/**
 * The `ca.crt` to store with a certificate `caPem` signed: that CA, then the previous Secret's
 * first CA when it differs and is still valid. The API server and kube-scheduler trust the whole
 * bundle, so replicas still serving a certificate of the old CA (the kubelet refreshes mounted
 * Secrets within a minute or so) keep answering while a CA change rolls out. A renewal under the
 * same CA keeps a previous CA that is still listed, so a second run soon after a CA change does not
 * drop it.
 */
export function rotatedBundle(caPem: string, previous: ServingCertificate | undefined, now: Date): string {
  const blocks = previous ? pemBlocks(previous.caPem) : [];
  const old = samePem(blocks[0], caPem) ? blocks[1] : blocks[0];
  const keep = old && !samePem(old, caPem) && stillValid(old, now) ? [old] : [];
  return [caPem, ...keep].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

function signedBy(certPem: string, caPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

function renewalReason(cert: ServingCertificate | undefined, ca: CertificateAuthority, now: Date): string {
  if (!cert || !cert.certPem || !cert.keyPem || !cert.caPem) return 'the Secret lacks tls.crt, tls.key or ca.crt';
  try {
    const expiry = notAfter(cert.certPem);
    if (expiry.getTime() - now.getTime() < RENEW_BEFORE_MS)
      return `the certificate expires ${expiry.toISOString()}, within ${RENEW_BEFORE_MS / 86_400_000} days`;
  } catch {
    return 'tls.crt is not a valid certificate';
  }
  if (!signedBy(cert.certPem, ca.certPem)) return 'the certificate is not signed by the current CA';
  return 'the certificate does not match its key or the names it must cover';
}

/**
 * Makes sure the serving certificate Secret holds a certificate `ca` signed that is good for at
 * least 30 more days and covers every name: reuse it if so, otherwise issue a new one (the CA
 * stays). Idempotent; concurrent writers are settled by secretWriter.ts.
 */
export function ensureCertSecret(core: CoreV1Api, opts: CertSecretOptions): Promise<CertSecretResult> {
  const { namespace, ca } = opts;
  const now = opts.now ?? new Date();
  const names = [...new Set([...serviceNames(opts.service, namespace), ...(opts.extraNames ?? [])])];
  return reconcileSecret<CertSecretResult>(core, { namespace, name: opts.name, component: 'admission', retry: opts.retry }, (existing) => {
    const current = existing ? certFromSecret(existing) : undefined;
    if (current && samePem(pemBlocks(current.caPem)[0], ca.certPem) && signedBy(current.certPem, ca.certPem) && isReusable(current, names, now)) {
      return { result: { action: 'unchanged', caBundlePem: current.caPem, certificate: current } };
    }
    const leaf = issueServingCertificate(ca, { service: opts.service, namespace, now, extraNames: names, ...(opts.days ? { days: opts.days } : {}) });
    const caBundlePem = rotatedBundle(ca.certPem, current, now);
    const certificate = { caPem: caBundlePem, certPem: leaf.certPem, keyPem: leaf.keyPem };
    const write = { [SECRET_KEYS.ca]: caBundlePem, [SECRET_KEYS.cert]: leaf.certPem, [SECRET_KEYS.key]: leaf.keyPem };
    const result: CertSecretResult = existing
      ? { action: 'renewed', reason: renewalReason(current, ca, now), caBundlePem, certificate }
      : { action: 'created', reason: 'the Secret did not exist', caBundlePem, certificate };
    return { write, result };
  });
}
