import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { caBundle, createServingCertificate, serviceNames, type ServingCertificate } from './certs.js';
import { InputError } from '../util/inputError.js';

export const CERT_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;
/** Reissue before this much validity is left, so a restart never lands on an expired certificate. */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export interface CertPaths {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

export interface KeyMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export function pathsIn(dir: string): Required<CertPaths> {
  return { ca: join(dir, CERT_FILES.ca), cert: join(dir, CERT_FILES.cert), key: join(dir, CERT_FILES.key) };
}

/** Throws a clear error when the files are missing, unreadable, or the key does not match. */
export async function loadKeyMaterial(paths: CertPaths): Promise<KeyMaterial> {
  const [cert, key] = await Promise.all([readFile(paths.cert), readFile(paths.key)]);
  checkKeyMaterial(cert, key);
  return { cert, key };
}

export function checkKeyMaterial(cert: Buffer, key: Buffer): X509Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new InputError('TLS certificate is not a valid PEM certificate', { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new InputError('TLS key is not a valid PEM private key', { cause: err });
  }
  if (!x509.checkPrivateKey(privateKey)) throw new InputError('TLS key does not match the certificate');
  return x509;
}

/** Expiry of the first certificate in a PEM bundle. */
export function notAfter(pem: Buffer | string): Date {
  return new Date(new X509Certificate(pem).validTo);
}

/**
 * A reusable certificate: parses, its key matches, it chains to the CA, it is valid for at least
 * RENEW_BEFORE_MS more, and it covers every name the Service can be reached by.
 */
export function isReusable(cert: ServingCertificate, names: readonly string[], now = new Date()): boolean {
  try {
    const x509 = checkKeyMaterial(Buffer.from(cert.certPem), Buffer.from(cert.keyPem));
    const ca = new X509Certificate(cert.caPem);
    if (!x509.verify(ca.publicKey) || !x509.checkIssued(ca)) return false;
    if (new Date(x509.validFrom) > now || new Date(x509.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
    // An IP address (v4, or v6 with its colons) is an iPAddress SAN, as certs.ts writes it.
    return names.every((n) => (/^[\d.]+$/.test(n) || n.includes(':') ? x509.checkIP(n) : x509.checkHost(n, { wildcards: false })) !== undefined);
  } catch {
    return false;
  }
}

async function readServing(dir: string): Promise<ServingCertificate | undefined> {
  const p = pathsIn(dir);
  try {
    const [caPem, certPem, keyPem] = await Promise.all([readFile(p.ca, 'utf8'), readFile(p.cert, 'utf8'), readFile(p.key, 'utf8')]);
    return { caPem, certPem, keyPem };
  } catch {
    return undefined;
  }
}

/** Writes via temp files and rename, so a reader never sees half a certificate. */
export async function writeServing(dir: string, cert: ServingCertificate): Promise<void> {
  await mkdir(dir, { recursive: true });
  const p = pathsIn(dir);
  const files: [string, string, number][] = [
    [p.ca, cert.caPem, 0o644],
    [p.key, cert.keyPem, 0o600],
    [p.cert, cert.certPem, 0o644],
  ];
  for (const [path, data, mode] of files) {
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  }
}

export interface EnsureResult {
  readonly generated: boolean;
  readonly paths: Required<CertPaths>;
  readonly caBundle: string;
}

/** Reuses the certificates in `dir` while they are valid for the Service; otherwise generates new ones. */
export async function ensureServingCerts(dir: string, opts: { service: string; namespace: string; days?: number; now?: Date }): Promise<EnsureResult> {
  const names = serviceNames(opts.service, opts.namespace);
  const existing = await readServing(dir);
  if (existing && isReusable(existing, names, opts.now)) {
    return { generated: false, paths: pathsIn(dir), caBundle: caBundle(existing.caPem) };
  }
  const fresh = createServingCertificate(opts);
  await writeServing(dir, fresh);
  return { generated: true, paths: pathsIn(dir), caBundle: caBundle(fresh.caPem) };
}
