import { X509Certificate } from 'node:crypto';
import type { RetryOptions } from '../../src/kube/retry.js';

/** Retries without real waiting: the backoff schedule is unit-tested separately. */
export const FAST_RETRY: RetryOptions = { attempts: 4, backoff: { initialMs: 1, maxMs: 2 } };
export const FAST_BACKOFF = { initialMs: 5, maxMs: 20 };

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** The certificates of a PEM bundle, in order. */
export function certsIn(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
}

export const DAY_MS = 86_400_000;
