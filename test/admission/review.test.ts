import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCode, HttpError } from '../../src/admission/errors.js';
import { decodeReview, encodeReview, MAX_WARNING_LENGTH } from '../../src/admission/review.js';
import { allowed, denied, errored, patched } from '../../src/admission/verdict.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/reviews/${name}`, import.meta.url), 'utf8'));

describe('AdmissionReview codec', () => {
  it('decodes a v1 review into the version-neutral request', () => {
    const { apiVersion, request } = decodeReview(fixture('pod-create-v1.json'));
    assert.equal(apiVersion, 'admission.k8s.io/v1');
    assert.equal(request.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.deepEqual(request.kind, { group: '', version: 'v1', kind: 'Pod' });
    assert.equal(request.operation, 'CREATE');
    assert.equal(request.namespace, 'azureml');
    assert.equal(request.userInfo.username, 'system:serviceaccount:kubeflow:training-operator');
    assert.deepEqual(request.userInfo.extra['authentication.kubernetes.io/pod-name'], ['training-operator-5d9c7b8f6-abcde']);
    assert.equal(request.dryRun, false);
  });

  it('decodes a v1beta1 review the same way and remembers its version', () => {
    const { apiVersion, request } = decodeReview(fixture('pod-create-v1beta1.json'));
    assert.equal(apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(request.kind.kind, 'Pod');
  });

  const bad: { name: string; given: unknown; code: ErrorCode; message: RegExp }[] = [
    { name: 'a JSON array is not a review', given: [], code: ErrorCode.InvalidReview, message: /AdmissionReview object/ },
    {
      name: 'an unknown apiVersion is refused',
      given: { apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview' },
      code: ErrorCode.UnsupportedVersion,
      message: /apiVersion/,
    },
    {
      name: 'a missing request is refused',
      given: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      code: ErrorCode.InvalidReview,
      message: /request is missing/,
    },
    {
      name: 'a missing uid is refused',
      given: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE', kind: { kind: 'Pod' } } },
      code: ErrorCode.InvalidReview,
      message: /uid/,
    },
    {
      name: 'an unknown operation is refused',
      given: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'PATCH', kind: { kind: 'Pod' } } },
      code: ErrorCode.InvalidReview,
      message: /operation/,
    },
    {
      name: 'a wrong kind is refused',
      given: { apiVersion: 'admission.k8s.io/v1', kind: 'Pod' },
      code: ErrorCode.InvalidReview,
      message: /kind must be AdmissionReview/,
    },
    {
      name: 'groups that are not strings are refused',
      given: {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'u', operation: 'CREATE', kind: { kind: 'Pod' }, userInfo: { groups: [1] } },
      },
      code: ErrorCode.InvalidReview,
      message: /groups/,
    },
  ];
  for (const t of bad) {
    it(`answers 400 when ${t.name}`, () => {
      assert.throws(
        () => decodeReview(t.given),
        (err: unknown) => err instanceof HttpError && err.code === t.code && err.status === 400 && t.message.test(err.message),
      );
    });
  }

  it('encodes an allowed verdict with the uid and no patch', () => {
    const out = JSON.parse(encodeReview('admission.k8s.io/v1', 'u1', allowed()));
    assert.deepEqual(out, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: true } });
  });

  it('encodes a patch as base64 JSONPatch in the caller’s version', () => {
    const ops = [{ op: 'add' as const, path: '/metadata/labels/a~1b', value: 'x' }];
    const out = JSON.parse(encodeReview('admission.k8s.io/v1beta1', 'u2', patched(ops)));
    assert.equal(out.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(out.response.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(out.response.patch, 'base64').toString()), ops);
  });

  it('collapses an empty patch into a plain allow', () => {
    const out = JSON.parse(encodeReview('admission.k8s.io/v1', 'u3', patched([])));
    assert.equal('patch' in out.response, false);
    assert.equal('patchType' in out.response, false);
  });

  it('encodes a denial with status code, reason and message', () => {
    const out = JSON.parse(encodeReview('admission.k8s.io/v1', 'u4', denied(403, '[reserved-pools] no')));
    assert.deepEqual(out.response, {
      uid: 'u4',
      allowed: false,
      status: { status: 'Failure', code: 403, reason: 'Forbidden', message: '[reserved-pools] no' },
    });
    const invalid = JSON.parse(encodeReview('admission.k8s.io/v1', 'u5', denied(422, 'bad')));
    assert.equal(invalid.response.status.reason, 'Invalid');
    const err = JSON.parse(encodeReview('admission.k8s.io/v1', 'u6', errored('boom')));
    assert.equal(err.response.allowed, false);
    assert.equal(err.response.status.code, 500);
  });

  it('passes warnings through, deduplicated and cut to 120 characters', () => {
    const long = 'w'.repeat(300);
    const out = JSON.parse(encodeReview('admission.k8s.io/v1', 'u7', allowed({ warnings: ['short', 'short', long] })));
    assert.equal(out.response.warnings.length, 2);
    assert.equal(out.response.warnings[0], 'short');
    assert.equal(out.response.warnings[1].length, MAX_WARNING_LENGTH);
  });

  it('passes auditAnnotations through and never sends rule outcomes', () => {
    const v = allowed({ auditAnnotations: { 'mutated-by': 'x' }, outcomes: [{ ruleId: 'r', action: 'deny', result: 'pass' }] });
    const out = JSON.parse(encodeReview('admission.k8s.io/v1', 'u8', v));
    assert.deepEqual(out.response.auditAnnotations, { 'mutated-by': 'x' });
    assert.equal(JSON.stringify(out).includes('outcomes'), false);
  });
});
