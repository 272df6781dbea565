import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { createCA, DEFAULT_CA_DAYS, type CertificateAuthority } from '../tls/certs.js';
import type { RetryOptions } from './retry.js';
import { reconcileSecret, unb64 } from './secretWriter.js';

export interface CaSecretOptions {
  readonly namespace: string;
  readonly name: string;
  /** The CA must stay valid at least this long: longer than any serving certificate issued now. */
  readonly minValidityMs: number;
  readonly days?: number;
  readonly now?: Date;
  readonly retry: RetryOptions;
}

export type CaAction = 'created' | 'renewed' | 'unchanged';

export interface CaSecretResult {
  readonly action: CaAction;
  readonly reason?: string;
  readonly ca: CertificateAuthority;
}

/** Why a stored CA cannot sign the next serving certificate; undefined when it can. */
export function caProblem(ca: CertificateAuthority | undefined, minValidityMs: number, now: Date): string | undefined {
  if (!ca?.certPem || !ca.keyPem) return 'the Secret lacks tls.crt or tls.key';
  try {
    const cert = new X509Certificate(ca.certPem);
    if (!cert.ca) return 'tls.crt is not a CA certificate';
    if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) return 'tls.key does not match tls.crt';
    const left = new Date(cert.validTo).getTime() - now.getTime();
    if (left < minValidityMs) return `the CA expires ${new Date(cert.validTo).toISOString()}, before a certificate issued now would`;
  } catch {
    return 'tls.crt or tls.key does not parse';
  }
  return undefined;
}

const caFromSecret = (secret: V1Secret | undefined): CertificateAuthority | undefined =>
  secret ? { certPem: unb64(secret.data?.['tls.crt']), keyPem: unb64(secret.data?.['tls.key']) } : undefined;

/**
 * The long-lived CA that signs the serving certificates, with its key in a Secret of its own (the
 * serving Secret, mounted by every admission pod, never holds it). Kept for ten years; replaced only
 * when it would expire before a serving certificate issued now, or is unusable. Because serving
 * renewals keep it, kube-scheduler, which reads the extender's caFile only at start, keeps trusting
 * the extender through them.
 */
export function ensureCaSecret(core: CoreV1Api, opts: CaSecretOptions): Promise<CaSecretResult> {
  const now = opts.now ?? new Date();
  return reconcileSecret<CaSecretResult>(core, { namespace: opts.namespace, name: opts.name, component: 'ca', retry: opts.retry }, (existing) => {
    const current = caFromSecret(existing);
    const problem = existing ? caProblem(current, opts.minValidityMs, now) : 'the Secret did not exist';
    if (problem === undefined) return { result: { action: 'unchanged', ca: current! } };
    const ca = createCA({ days: opts.days ?? DEFAULT_CA_DAYS, now });
    return { write: { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem }, result: { action: existing ? 'renewed' : 'created', reason: problem, ca } };
  });
}
