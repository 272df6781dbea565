import assert from 'node:assert/strict';
import { rotatedBundle } from '../../src/kube/certSecret.js';
import { createCA } from '../../src/tls/certs.js';
import { certsIn, DAY_MS } from './support.js';

describe('the CA bundle written with a renewed certificate', () => {
  const now = new Date();
  const fresh = createCA({ now });
  const old = createCA({ now: new Date(now.getTime() - 400 * DAY_MS), days: 3650 });
  const expired = createCA({ now: new Date(now.getTime() - 400 * DAY_MS), days: 10 });
  const older = createCA({ now: new Date(now.getTime() - 800 * DAY_MS), days: 3650 });
  const secretWith = (caPem: string) => ({ caPem, certPem: '', keyPem: '' });
  const fingerprints = (pem: string) => certsIn(pem).map((c) => c.fingerprint256);
  const fp = (pem: string) => certsIn(pem)[0]!.fingerprint256;

  const cases: { name: string; given: { caPem: string } | undefined; want: string[] }[] = [
    { name: 'holds only the new CA when there was no Secret', given: undefined, want: [fp(fresh.certPem)] },
    { name: 'keeps the previous CA after the new one while it is valid', given: secretWith(old.certPem), want: [fp(fresh.certPem), fp(old.certPem)] },
    { name: 'drops a previous CA that has expired', given: secretWith(expired.certPem), want: [fp(fresh.certPem)] },
    {
      name: 'keeps only the newest previous CA, never a growing chain',
      given: secretWith(old.certPem + older.certPem),
      want: [fp(fresh.certPem), fp(old.certPem)],
    },
    { name: 'drops unreadable previous contents', given: secretWith('not a certificate'), want: [fp(fresh.certPem)] },
  ];
  for (const { name, given, want } of cases) {
    it(name, () => assert.deepEqual(fingerprints(rotatedBundle(fresh.certPem, given && secretWith(given.caPem), now)), want));
  }
});
