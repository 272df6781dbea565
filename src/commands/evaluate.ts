import fastJsonPatch, { type Operation as PatchOperation } from 'fast-json-patch';
import type { AdmissionRequest, UserInfo } from '../admission/request.js';
import { errored, type RuleOutcome, type Verdict } from '../admission/verdict.js';
import { mutatingWebhook, validatingWebhook } from '../admission/webhook.js';
import { mutatePod } from '../policy/mutation/pipeline.js';
import { amlPod, asPod } from '../policy/pod.js';
import type { Policy } from '../policy/types.js';
import { validatePod } from '../policy/validation/pipeline.js';
import { whereText, type Input } from './inputs.js';

/**
 * One offline admission, as the API server would run it: the mutating webhook, its patch
 * applied, then the validating webhook on the mutated object (skipped when mutation refused).
 */
export interface Evaluation {
  readonly where: string;
  readonly origin: string;
  readonly request: AdmissionRequest;
  readonly compute?: string;
  readonly instanceType?: string;
  readonly mutation: VerdictSummary & { readonly patch: readonly PatchOperation[] };
  /** The object after the patch (the object as given when there is none). */
  readonly mutated: unknown;
  /** Absent when mutation refused the object (the API server stops there). */
  readonly validation?: VerdictSummary;
  readonly allowed: boolean;
}

export interface VerdictSummary {
  readonly decision: Verdict['kind'];
  readonly code?: number;
  readonly message?: string;
  readonly warnings: readonly string[];
  readonly outcomes: readonly RuleOutcome[];
}

function summary(v: Verdict): VerdictSummary {
  return {
    decision: v.kind,
    ...(v.kind === 'denied' || v.kind === 'errored' ? { code: v.code, message: v.message } : {}),
    warnings: v.warnings,
    outcomes: v.outcomes,
  };
}

/** The request the API server would send for an input; `as` replaces the requester. */
export function requestFor(input: Input, as: UserInfo | undefined, fallback: UserInfo): AdmissionRequest {
  if (input.type === 'review') return as ? { ...input.review.request, userInfo: as } : input.review.request;
  const meta = input.pod.metadata ?? {};
  return {
    uid: `dry-run-${whereText(input.where).replace(/[^A-Za-z0-9]+/g, '-')}`,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: meta.namespace ?? '',
    // The API server sends an empty name for generateName pods.
    name: meta.name ?? '',
    userInfo: as ?? input.creator ?? fallback,
    object: input.pod,
    oldObject: null,
    dryRun: true,
  };
}

function applyPatch(object: unknown, ops: readonly PatchOperation[]): unknown {
  if (ops.length === 0) return object;
  return fastJsonPatch.applyPatch(structuredClone(object), [...ops], true, true).newDocument;
}

export function evaluate(policy: Policy, input: Input, request: AdmissionRequest): Evaluation {
  const mutate = mutatingWebhook((r) => mutatePod(policy, r));
  const validate = validatingWebhook((r) => validatePod(policy, r));
  let mutation = mutate.handle(request);
  const ops = mutation.kind === 'patched' ? mutation.ops : [];
  let mutated: unknown = request.object;
  try {
    mutated = applyPatch(request.object, ops);
  } catch (err) {
    mutation = errored(`the mutating webhook's patch does not apply: ${(err as Error).message}`, { outcomes: mutation.outcomes, warnings: mutation.warnings });
  }
  const refused = mutation.kind === 'denied' || mutation.kind === 'errored';
  const validation = refused ? undefined : validate.handle({ ...request, object: mutated });
  const pod = asPod(mutated);
  const aml = pod ? amlPod(policy, pod) : undefined;
  return {
    where: whereText(input.where),
    origin: input.origin,
    request,
    ...(aml ? { compute: aml.computeName, instanceType: aml.instanceTypeName } : {}),
    mutation: { ...summary(mutation), patch: ops },
    mutated,
    ...(validation ? { validation: summary(validation) } : {}),
    allowed: !refused && validation !== undefined && (validation.kind === 'allowed' || validation.kind === 'patched'),
  };
}
