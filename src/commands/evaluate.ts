import fastJsonPatch, { type Operation as PatchOperation } from 'fast-json-patch';
import type { AdmissionRequest, UserInfo } from '../admission/request.js';
import { errored, type RuleOutcome, type Verdict } from '../admission/verdict.js';
import { decide, type ReviewFacts } from '../admission/webhook.js';
import { isObject } from '../k8s/json.js';
import { NO_CLAIMS, type ClaimLookup } from '../policy/amlClaims.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { NO_NODES, type NodeLookup } from '../rules/subject.js';
import { admissionWebhooks } from '../rules/webhooks.js';
import { DEFAULT_REQUESTER } from './commonOptions.js';
import { whereText, type Input } from './inputs.js';
import type { PodSchemaCheck } from './podSchema.js';
import { reach, type RegisteredWebhook } from '../admission/reach.js';

/**
 * One offline admission, as the API server would run it: the mutating webhook, its patch
 * applied, then the validating webhook on the mutated object (skipped when mutation refused).
 */
export interface Evaluation {
  readonly where: string;
  readonly origin: string;
  /** For a workload's pod: the controller that creates it (trusted to act for the submitter). */
  readonly createdBy?: string;
  /** The pods the workload asks for from the template; this one stands for all (workloads.ts replicaOf). */
  readonly replicas?: number;
  readonly request: AdmissionRequest;
  /** What the deciding webhook resolved (compute, instance type, pools). */
  readonly facts: ReviewFacts;
  readonly mutation: VerdictSummary & { readonly patch: readonly PatchOperation[] };
  /** The object after the patch (the object as given when there is none). */
  readonly mutated: unknown;
  /** Absent when mutation refused the object (the API server stops there). */
  readonly validation?: VerdictSummary;
  /** Why the API server's own Pod validation would refuse the mutated object (empty: it would not). */
  readonly schemaErrors: readonly string[];
  /**
   * The webhooks that, as registered (webhook-config/), would never be called for this object,
   * with why (reach.ts). The verdicts above are what they answer when called; the API server
   * itself admits the object unmutated and unjudged.
   */
  readonly unseenBy?: { readonly mutate?: string; readonly validate?: string };
  readonly allowed: boolean;
}

/** What an evaluation knows beyond the policy. */
export interface EvaluationContext {
  /** The nodes known to the run (Node documents among the inputs), for pods that name one. */
  readonly nodes?: NodeLookup;
  /** The Pod schema check, when the caller loaded it (podSchema.ts). */
  readonly podSchema?: PodSchemaCheck;
  /** The webhooks as registered, to tell which of them the API server would call (reach.ts). */
  readonly registered?: { readonly mutate?: RegisteredWebhook; readonly validate?: RegisteredWebhook };
  /** The PVCs known to the run (PersistentVolumeClaim documents among the inputs). */
  readonly claims?: ClaimLookup;
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

/**
 * The request the API server would send for an input: a review as it is, a pod from a file as a
 * CREATE (with an empty name for a generateName pod, as the API server sends it). The requester
 * is `as` (--as), else a default user; for a workload's pods that is the workload's submitter.
 */
export function requestFor(input: Input, as: UserInfo | undefined, uidPrefix: string): AdmissionRequest {
  if (input.type === 'review') return as ? { ...input.review.request, userInfo: as } : input.review.request;
  const meta = isObject(input.pod) && isObject(input.pod.metadata) ? input.pod.metadata : {};
  return {
    uid: `${uidPrefix}-${whereText(input.where).replace(/[^A-Za-z0-9]+/g, '-')}`,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    name: typeof meta.name === 'string' ? meta.name : '',
    // A workload's pods are judged as its submitter, as the validating webhook judges the
    // workload (the controller that creates them is trusted to act for it).
    userInfo: as ?? DEFAULT_REQUESTER,
    object: input.pod,
    oldObject: null,
    dryRun: true,
  };
}

function applyPatch(object: unknown, ops: readonly PatchOperation[]): unknown {
  if (ops.length === 0) return object;
  return fastJsonPatch.applyPatch(structuredClone(object), structuredClone([...ops]), true, true).newDocument;
}

export function evaluate(snapshot: PolicySnapshot, input: Input, request: AdmissionRequest, context: EvaluationContext = {}): Evaluation {
  const nodes = context.nodes ?? NO_NODES;
  const claims = context.claims ?? NO_CLAIMS;
  const [mutate, validate] = admissionWebhooks(
    () => snapshot,
    () => nodes,
    () => claims,
  );
  const mutation = decide(mutate!, request);
  let verdict = mutation.verdict;
  const ops = verdict.kind === 'patched' ? verdict.ops : [];
  let mutated: unknown = request.object;
  try {
    mutated = applyPatch(request.object, ops);
  } catch (err) {
    verdict = errored(`the mutating webhook's patch does not apply: ${(err as Error).message}`, { outcomes: verdict.outcomes, warnings: verdict.warnings });
  }
  const refused = verdict.kind === 'denied' || verdict.kind === 'errored';
  const validation = refused ? undefined : decide(validate!, { ...request, object: mutated });
  const schemaErrors = !refused && context.podSchema && request.kind.kind === 'Pod' ? context.podSchema(mutated) : [];
  const why = (w: RegisteredWebhook | undefined, r: AdmissionRequest) => {
    const reached = w ? reach(w, r) : undefined;
    return reached?.reached === false ? reached.why : undefined;
  };
  const mutateUnseen = why(context.registered?.mutate, request);
  const validateUnseen = why(context.registered?.validate, { ...request, object: mutateUnseen === undefined ? mutated : request.object });
  const unseenBy = {
    ...(mutateUnseen !== undefined ? { mutate: mutateUnseen } : {}),
    ...(validateUnseen !== undefined ? { validate: validateUnseen } : {}),
  };
  return {
    where: whereText(input.where),
    origin: input.origin,
    ...(input.type === 'pod' && input.creator ? { createdBy: input.creator.username } : {}),
    ...(input.type === 'pod' && input.replicas !== undefined ? { replicas: input.replicas } : {}),
    request,
    facts: validation?.facts ?? mutation.facts,
    mutation: { ...summary(verdict), patch: ops },
    mutated,
    ...(validation ? { validation: summary(validation.verdict) } : {}),
    schemaErrors,
    ...(Object.keys(unseenBy).length > 0 ? { unseenBy } : {}),
    allowed: validation !== undefined && (validation.verdict.kind === 'allowed' || validation.verdict.kind === 'patched') && schemaErrors.length === 0,
  };
}
