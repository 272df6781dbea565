import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

const { pki } = forge;

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServingCertificate {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServingCertOptions {
  service: string;
  namespace: string;
  /** Validity of the serving certificate in days (the CA lives ten times as long). */
  days?: number;
  /** Extra DNS names or IP addresses. */
  extraNames?: readonly string[];
  now?: Date;
}

export const DEFAULT_CERT_DAYS = 365;
/** The CA init keeps in its own Secret: ten years, so serving certificates renew under one trust anchor. */
export const DEFAULT_CA_DAYS = 3650;
/** Started a few minutes in the past so a peer whose clock lags a little still accepts it. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const RSA_BITS = 2048;

/** A positive, random 128-bit serial (RFC 5280 §4.1.2.2: unique per CA, at most 20 octets). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // keep the DER integer positive
  bytes[0] = bytes[0]! | 0x01; // and never starting with a zero byte
  return bytes.toString('hex');
}

/** The names the API server may use to reach `service` in `namespace`, plus loopback for local use. */
export function serviceNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, 'localhost', '127.0.0.1'];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function altName(name: string): { type: number; value?: string; ip?: string } {
  // GeneralName types: 2 = dNSName, 7 = iPAddress (RFC 5280 §4.2.1.6)
  return IPV4.test(name) || name.includes(':') ? { type: 7, ip: name } : { type: 2, value: name };
}

function newKeys(): forge.pki.rsa.KeyPair {
  // node-forge uses Node's native generator when present, so this takes milliseconds, not seconds.
  return pki.rsa.generateKeyPair({ bits: RSA_BITS, e: 0x10001 });
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * 24 * 3600 * 1000);
}

export function createCA(opts: { commonName?: string; days?: number; now?: Date } = {}): CertificateAuthority {
  const keys = newKeys();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert, opts.now ?? new Date(), opts.days ?? DEFAULT_CERT_DAYS * 10);
  const subject = [
    { name: 'commonName', value: opts.commonName ?? 'aml-admission-ca' },
    { name: 'organizationName', value: 'aml-admission' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

/** Issues a leaf certificate signed by `ca`: serverAuth with SANs, or clientAuth for a client identity. */
export function issueCertificate(
  ca: CertificateAuthority,
  opts: { commonName: string; names?: readonly string[]; usage: 'server' | 'client'; days?: number; now?: Date },
): { certPem: string; keyPem: string } {
  const caCert = pki.certificateFromPem(ca.certPem);
  const caKey = pki.privateKeyFromPem(ca.keyPem);
  const keys = newKeys();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert, opts.now ?? new Date(), opts.days ?? DEFAULT_CERT_DAYS);
  cert.setSubject([{ name: 'commonName', value: opts.commonName.slice(0, 64) }]);
  cert.setIssuer(caCert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: opts.usage === 'server', clientAuth: opts.usage === 'client' },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (opts.names && opts.names.length > 0) extensions.push({ name: 'subjectAltName', altNames: opts.names.map(altName) });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

/** A serving certificate for the webhook Service, signed by `ca`. */
export function issueServingCertificate(ca: CertificateAuthority, opts: ServingCertOptions): { certPem: string; keyPem: string } {
  const names = [...new Set([...serviceNames(opts.service, opts.namespace), ...(opts.extraNames ?? [])])];
  const days = opts.days ?? DEFAULT_CERT_DAYS;
  return issueCertificate(ca, { commonName: `${opts.service}.${opts.namespace}.svc`, names, usage: 'server', days, ...(opts.now ? { now: opts.now } : {}) });
}

/** A fresh CA and a serving certificate for the webhook Service. */
export function createServingCertificate(opts: ServingCertOptions): ServingCertificate & { ca: CertificateAuthority } {
  const now = opts.now ?? new Date();
  const ca = createCA({ days: (opts.days ?? DEFAULT_CERT_DAYS) * 10, now });
  const leaf = issueServingCertificate(ca, { ...opts, now });
  return { ca, caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

/** The caBundle field of a webhook configuration: the CA PEM, base64-encoded. */
export function caBundle(caPem: string): string {
  return Buffer.from(caPem).toString('base64');
}
