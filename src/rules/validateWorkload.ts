import fastJsonPatch from 'fast-json-patch';
import type { AdmissionRequest } from '../admission/request.js';
import { allowed, denied, type RuleOutcome, type ValidationVerdict } from '../admission/verdict.js';
import type { Decision } from '../admission/webhook.js';
import { isObject } from '../k8s/json.js';
import { podFromSite, type TemplateSite, type WorkloadKinds } from '../k8s/workloads.js';
import { WORKLOAD_KINDS } from '../policy/workloadKinds.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { mutate } from './mutate.js';
import { validate, type ValidateOptions } from './validate.js';

/**
 * The validating webhook's decision for a workload (Deployment, Job, PyTorchJob, Volcano Job...):
 * each pod template is judged as the pods its controller will create, after the mutating webhook
 * has changed them, with the identity of whoever submitted the workload. Controllers then create
 * the pods, and those are judged again (trust.ts spares them identity claims), so a workload that
 * passes here does not fail later in its controller's logs. Denials name the template.
 */
export function validateWorkload(
  snapshot: PolicySnapshot,
  request: AdmissionRequest,
  options: ValidateOptions = {},
): Decision & { verdict: ValidationVerdict } {
  const kinds = snapshot.get(WORKLOAD_KINDS);
  const sites = sitesOf(kinds, request.object);
  if (sites === undefined) return { verdict: allowed(), facts: {} };
  const oldSites = request.oldObject === null ? undefined : sitesOf(kinds, request.oldObject);
  const namespace = request.namespace;
  const owners = ownerReferencesOf(request.object);
  const denials: string[] = [];
  const warnings: string[] = [];
  const outcomes: RuleOutcome[] = [];
  const auditAnnotations: Record<string, string> = {};
  let malformed = false;
  for (const site of sites) {
    const pod = podFromSite(site, namespace);
    if (typeof pod === 'string') {
      denials.push(`${site.at}: [policy-input] ${pod}`);
      malformed = true;
      continue;
    }
    const old = oldSites?.find((o) => o.at === site.at);
    const oldPod = old === undefined ? undefined : podFromSite(old, namespace);
    const asPod = (object: unknown): AdmissionRequest => ({
      ...request,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: '',
      // The workload's owners stand in for the pod's: a trusted controller's workload is trusted (trust.ts).
      object: isObject(object) ? { ...object, metadata: { ...(object.metadata as object), ownerReferences: owners } } : object,
      oldObject: null,
    });
    const mutated = admitted(snapshot, asPod(pod));
    const oldMutated = typeof oldPod === 'object' ? admitted(snapshot, asPod(oldPod)) : undefined;
    const { verdict } = validate(
      snapshot,
      { ...asPod(mutated), ...(oldMutated ? { operation: request.operation, oldObject: asPod(oldMutated).object } : {}) },
      options,
    );
    for (const o of verdict.outcomes) outcomes.push({ ...o, message: o.message === undefined ? undefined : `${site.at}: ${o.message}` });
    warnings.push(...verdict.warnings.map((w) => `${site.at}: ${w}`));
    for (const [k, v] of Object.entries(verdict.auditAnnotations ?? {}))
      auditAnnotations[k] = auditAnnotations[k] ? `${auditAnnotations[k]}; ${site.at}: ${v}` : `${site.at}: ${v}`;
    if (verdict.kind === 'denied' || verdict.kind === 'errored') {
      denials.push(`${site.at}: ${verdict.message}`);
      malformed ||= verdict.code === 422;
    }
  }
  const opts = { warnings, outcomes, auditAnnotations };
  return { verdict: denials.length === 0 ? allowed(opts) : denied(malformed ? 422 : 403, denials.join('; '), opts), facts: {} };
}

function sitesOf(kinds: WorkloadKinds, object: unknown): TemplateSite[] | undefined {
  if (!isObject(object) || !isObject(object.spec)) return undefined;
  const meta = isObject(object.metadata) ? object.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : 'unnamed';
  return kinds.sites(String(object.apiVersion ?? ''), String(object.kind ?? ''), name, object.spec);
}

function ownerReferencesOf(object: unknown): unknown[] {
  const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  return Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
}

/** The pod as it reaches validation: the mutating webhook's patch applied (unpatched if it refused or fails to apply). */
export function admitted(snapshot: PolicySnapshot, request: AdmissionRequest): unknown {
  const { verdict } = mutate(snapshot, request);
  if (verdict.kind !== 'patched') return request.object;
  try {
    return fastJsonPatch.applyPatch(structuredClone(request.object), structuredClone([...verdict.ops]), true, false).newDocument;
  } catch {
    return request.object;
  }
}
