import { parse } from 'yaml';
import type { AdmissionRequest, Operation } from '../../src/admission/request.js';
import type { ValidationVerdict, Verdict } from '../../src/admission/verdict.js';
import { loadPolicyObject } from '../../src/policy/loader.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import type { Policy } from '../../src/policy/types.js';
import { mutate } from '../../src/rules/mutate.js';
import { validate, type ValidateOptions } from '../../src/rules/validate.js';

/** A policy from YAML, after `edit` changed the parsed document (defaults are filled in after the edit). */
export function policyFrom(yaml: string, edit: (doc: any) => void = () => undefined): Policy {
  const doc = parse(yaml) as Record<string, unknown>;
  edit(doc);
  const result = loadPolicyObject(doc);
  if (!result.ok) throw new Error(`test policy is invalid: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

export interface RequestOpts {
  uid?: string;
  operation?: Operation;
  namespace?: string;
  username?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  dryRun?: boolean;
  oldObject?: unknown;
}

/** A Pod request as the wire codec builds it; namespace and name default to the pod's. */
export function podRequest(pod: unknown, o: RequestOpts = {}): AdmissionRequest {
  const meta = ((pod as { metadata?: { name?: string; namespace?: string } } | null)?.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    uid: o.uid ?? 'test-uid-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: o.operation ?? 'CREATE',
    namespace: o.namespace ?? meta.namespace ?? 'default',
    name: meta.name ?? '',
    userInfo: { username: o.username ?? 'alice@contoso.com', groups: o.groups ?? ['system:authenticated'], extra: o.extra ?? {} },
    object: pod,
    oldObject: o.oldObject ?? null,
    dryRun: o.dryRun ?? false,
  };
}

/** The same request as an AdmissionReview on the wire (with the fields the API server adds). */
export function podReview(pod: object, opts: RequestOpts & { apiVersion?: string } = {}): Record<string, any> {
  const { userInfo, ...request } = podRequest(pod, opts);
  return {
    apiVersion: opts.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      ...request,
      userInfo: { username: userInfo.username, groups: userInfo.groups },
      requestKind: request.kind,
      requestResource: request.resource,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** The mutating webhook's verdict under `policy`. */
export function mutatePod(policy: Policy, request: AdmissionRequest): Verdict {
  return mutate(new PolicySnapshot(policy), request).verdict;
}

/** The validating webhook's verdict under `policy`. */
export function validatePod(policy: Policy, request: AdmissionRequest, options?: ValidateOptions): ValidationVerdict {
  return validate(new PolicySnapshot(policy), request, options).verdict;
}
