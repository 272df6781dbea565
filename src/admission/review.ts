import { isObject } from '../k8s/json.js';
import { ErrorCode, HttpError } from './errors.js';
import { Operation, type AdmissionRequest, type UserInfo } from './request.js';
import type { Verdict } from './verdict.js';

/**
 * The AdmissionReview wire codec: the only module that knows `admission.k8s.io/v1` and `v1beta1`.
 * decode() turns a parsed body into the version-neutral AdmissionRequest; encode() turns a
 * Verdict into the same wire version the caller sent.
 */
export const ReviewVersion = {
  V1: 'admission.k8s.io/v1',
  V1beta1: 'admission.k8s.io/v1beta1',
} as const;
export type ReviewVersion = (typeof ReviewVersion)[keyof typeof ReviewVersion];

export interface DecodedReview {
  readonly apiVersion: ReviewVersion;
  readonly request: AdmissionRequest;
}

/** Kubernetes shows at most this many characters of a warning; longer ones are cut by us, not it. */
export const MAX_WARNING_LENGTH = 120;

const operations = new Set<string>(Object.values(Operation));

function invalid(message: string): HttpError {
  return new HttpError(ErrorCode.InvalidReview, message);
}

function optString(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(`${path}.${key} must be a string`);
  return v;
}

function stringList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw invalid(`${path} must be a list of strings`);
  }
  return v as string[];
}

function decodeUserInfo(v: unknown): UserInfo {
  if (v === undefined || v === null) return { username: '', groups: [], extra: {} };
  if (!isObject(v)) throw invalid('request.userInfo must be an object');
  const extra: Record<string, string[]> = {};
  if (v.extra !== undefined && v.extra !== null) {
    if (!isObject(v.extra)) throw invalid('request.userInfo.extra must be an object');
    for (const [k, vals] of Object.entries(v.extra)) extra[k] = stringList(vals, `request.userInfo.extra[${JSON.stringify(k)}]`);
  }
  const uid = optString(v, 'uid', 'request.userInfo');
  return {
    username: optString(v, 'username', 'request.userInfo'),
    ...(uid ? { uid } : {}),
    groups: stringList(v.groups, 'request.userInfo.groups'),
    extra,
  };
}

function decodeGroupVersion(v: unknown, path: string, nameKey: 'kind' | 'resource') {
  if (!isObject(v)) throw invalid(`${path} must be an object`);
  const name = v[nameKey];
  if (typeof name !== 'string' || name === '') throw invalid(`${path}.${nameKey} must be a non-empty string`);
  return { group: optString(v, 'group', path), version: optString(v, 'version', path), name };
}

/** Decodes a parsed JSON body. Throws HttpError (400) naming the first field that is wrong. */
export function decodeReview(body: unknown): DecodedReview {
  if (!isObject(body)) throw invalid('body must be an AdmissionReview object');
  const apiVersion = body.apiVersion;
  if (apiVersion !== ReviewVersion.V1 && apiVersion !== ReviewVersion.V1beta1) {
    throw new HttpError(ErrorCode.UnsupportedVersion, `apiVersion must be ${ReviewVersion.V1} or ${ReviewVersion.V1beta1}`);
  }
  if (body.kind !== 'AdmissionReview') throw invalid('kind must be AdmissionReview');
  const r = body.request;
  if (!isObject(r)) throw invalid('request is missing');
  if (typeof r.uid !== 'string' || r.uid === '') throw invalid('request.uid is missing');
  if (typeof r.operation !== 'string' || !operations.has(r.operation)) {
    throw invalid('request.operation must be one of CREATE, UPDATE, DELETE, CONNECT');
  }
  const kind = decodeGroupVersion(r.kind, 'request.kind', 'kind');
  // resource is required by the API server but some tools omit it; the kind is what we route on.
  const resource =
    r.resource === undefined ? { group: kind.group, version: kind.version, name: '' } : decodeGroupVersion(r.resource, 'request.resource', 'resource');
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== 'boolean') {
    throw invalid('request.dryRun must be a boolean');
  }
  const subResource = optString(r, 'subResource', 'request');
  return {
    apiVersion,
    request: {
      uid: r.uid,
      kind: { group: kind.group, version: kind.version, kind: kind.name },
      resource: { group: resource.group, version: resource.version, resource: resource.name },
      ...(subResource ? { subResource } : {}),
      operation: r.operation as Operation,
      namespace: optString(r, 'namespace', 'request'),
      name: optString(r, 'name', 'request'),
      userInfo: decodeUserInfo(r.userInfo),
      object: r.object ?? null,
      oldObject: r.oldObject ?? null,
      dryRun: r.dryRun === true,
    },
  };
}

/** Kubernetes cuts warnings past 120 characters; we cut first, and say so with an ellipsis. */
export function clip(text: string, max = MAX_WARNING_LENGTH): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function reasonOf(code: number): string {
  if (code === 422) return 'Invalid';
  if (code === 403) return 'Forbidden';
  if (code === 400) return 'BadRequest';
  return 'InternalError';
}

/** The `response` part of an AdmissionReview for a verdict (same shape in v1 and v1beta1). */
export function encodeResponse(uid: string, verdict: Verdict): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: verdict.kind === 'allowed' || verdict.kind === 'patched' };
  switch (verdict.kind) {
    case 'allowed':
      break;
    case 'patched':
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(verdict.ops)).toString('base64');
      break;
    case 'denied':
    case 'errored':
      response.status = { status: 'Failure', code: verdict.code, reason: reasonOf(verdict.code), message: verdict.message };
      break;
    default: {
      const never: never = verdict;
      throw new Error(`unknown verdict ${JSON.stringify(never)}`);
    }
  }
  if (verdict.warnings.length > 0) response.warnings = [...new Set(verdict.warnings.map((w) => clip(w)))];
  if (Object.keys(verdict.auditAnnotations).length > 0) response.auditAnnotations = verdict.auditAnnotations;
  return response;
}

/** Serialises the answer in the wire version the request came in. */
export function encodeReview(apiVersion: ReviewVersion, uid: string, verdict: Verdict): string {
  return JSON.stringify({ apiVersion, kind: 'AdmissionReview', response: encodeResponse(uid, verdict) });
}
