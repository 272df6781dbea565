import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { caBundle, createServingCertificate, randomSerial, serviceNames } from '../../src/tls/certs.js';
import { ensureServingCerts, isReusable } from '../../src/tls/files.js';

describe('certificates', () => {
  const cert = createServingCertificate({ service: 'aml-admission', namespace: 'azureml', days: 30 });
  const leaf = new X509Certificate(cert.certPem);
  const ca = new X509Certificate(cert.caPem);

  it('issues a serving certificate that chains to the generated CA', () => {
    assert.ok(leaf.verify(ca.publicKey));
    assert.ok(leaf.checkIssued(ca));
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
  });

  it('lists every Service name, localhost and 127.0.0.1 as subject alternative names', () => {
    assert.equal(
      leaf.subjectAltName,
      'DNS:aml-admission, DNS:aml-admission.azureml, DNS:aml-admission.azureml.svc, DNS:aml-admission.azureml.svc.cluster.local, DNS:localhost, IP Address:127.0.0.1',
    );
    for (const name of serviceNames('aml-admission', 'azureml').filter((n) => n !== '127.0.0.1')) assert.equal(leaf.checkHost(name), name);
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  });

  it('marks the serving certificate for TLS server use with signature and key encipherment usages', () => {
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    const forgeCert = forge.pki.certificateFromPem(cert.certPem);
    const ku = forgeCert.getExtension('keyUsage') as { digitalSignature: boolean; keyEncipherment: boolean; keyCertSign: boolean; critical: boolean };
    assert.equal(ku.digitalSignature, true);
    assert.equal(ku.keyEncipherment, true);
    assert.equal(ku.keyCertSign, false);
    const caKu = forge.pki.certificateFromPem(cert.caPem).getExtension('keyUsage') as { keyCertSign: boolean };
    assert.equal(caKu.keyCertSign, true);
  });

  it('gives the serving certificate the requested validity', () => {
    const days = (new Date(leaf.validTo).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `validity ${days} days`);
  });

  it('draws a fresh positive serial for every certificate', () => {
    const other = createServingCertificate({ service: 'aml-admission', namespace: 'azureml' });
    const serials = new Set([
      leaf.serialNumber,
      ca.serialNumber,
      new X509Certificate(other.certPem).serialNumber,
      new X509Certificate(other.caPem).serialNumber,
    ]);
    assert.equal(serials.size, 4);
    for (let i = 0; i < 50; i++) assert.match(randomSerial(), /^[0-7][0-9a-f]{31}$/);
  });

  it('prints the caBundle as the base64 of the CA PEM', () => {
    assert.equal(Buffer.from(caBundle(cert.caPem), 'base64').toString(), cert.caPem);
  });

  it('refuses to reuse a certificate that misses a Service name or expires within 30 days', () => {
    assert.equal(isReusable(cert, serviceNames('aml-admission', 'azureml')), false, '30-day cert is inside the renewal window');
    const long = createServingCertificate({ service: 'aml-admission', namespace: 'azureml', days: 365 });
    assert.equal(isReusable(long, serviceNames('aml-admission', 'azureml')), true);
    assert.equal(isReusable(long, serviceNames('other', 'azureml')), false);
    assert.equal(isReusable({ ...long, keyPem: cert.keyPem }, serviceNames('aml-admission', 'azureml')), false, 'key from another certificate');
  });

  it('reuses a certificate that covers extra IPv4, IPv6 and DNS names, and not one that misses one of them', () => {
    const names = [...serviceNames('aml-admission', 'azureml'), '10.1.2.3', '::1', 'dev.example.com'];
    const cert = createServingCertificate({ service: 'aml-admission', namespace: 'azureml', extraNames: names.slice(-3) });
    assert.equal(isReusable(cert, names), true);
    assert.equal(isReusable(cert, [...names, 'fd00::2']), false);
  });

  it('reuses certificates on disk while valid and regenerates them otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aml-certs-'));
    try {
      const first = await ensureServingCerts(dir, { service: 's', namespace: 'n' });
      const again = await ensureServingCerts(dir, { service: 's', namespace: 'n' });
      assert.equal(first.generated, true);
      assert.equal(again.generated, false);
      assert.equal(again.caBundle, first.caBundle);
      const renamed = await ensureServingCerts(dir, { service: 'other', namespace: 'n' });
      assert.equal(renamed.generated, true);
      assert.match(await readFile(join(dir, 'tls.crt'), 'utf8'), /BEGIN CERTIFICATE/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
