import type { AdmissionRequest, Operation } from './request.js';
import { decodeReview, encodeReview, type ReviewVersion } from './review.js';
import { allowed, errored, type Verdict } from './verdict.js';

export const WebhookName = { Mutate: 'mutate', Validate: 'validate' } as const;
export type WebhookName = (typeof WebhookName)[keyof typeof WebhookName];

/** A webhook configuration's failurePolicy: what the API server does when the webhook cannot answer. */
export const FailurePolicy = { Ignore: 'Ignore', Fail: 'Fail' } as const;
export type FailurePolicy = (typeof FailurePolicy)[keyof typeof FailurePolicy];

/** A resource a webhook judges, named as webhook-config/ rules name it (and as requests carry its kind). */
export interface WebhookResource {
  readonly group: string;
  readonly kind: string;
  readonly resource: string;
}

/**
 * What a webhook is, declared once: the scope filter reads it, an internal error follows its
 * failure policy, and a test holds webhook-config/ to it.
 */
export interface WebhookSpec {
  readonly name: WebhookName;
  readonly operations: readonly Operation[];
  readonly resources: readonly WebhookResource[];
  readonly failurePolicy: FailurePolicy;
}

/** What the rules resolved about the object under review, for the audit log and the CLI. */
export interface ReviewFacts {
  readonly compute?: string;
  readonly instanceType?: string;
  /** The compute's node pools the pod can be placed on. */
  readonly pools?: readonly string[];
}

export interface Decision {
  readonly verdict: Verdict;
  readonly facts: ReviewFacts;
}

export interface Webhook {
  readonly spec: WebhookSpec;
  /** Decides a request in scope; pure apart from what its closure was given. Throws only on a bug. */
  readonly decide: (request: AdmissionRequest) => Decision;
  /** Kinds it judges beyond the declared ones, known only at request time (the policy's workload kinds). */
  readonly alsoJudges?: (kind: { readonly group: string; readonly kind: string }) => boolean;
}

/** A declared operation on a declared kind itself (not a subresource such as pods/status). */
export function inScope(spec: WebhookSpec, request: AdmissionRequest, alsoJudges?: Webhook['alsoJudges']): boolean {
  if (request.subResource || !spec.operations.includes(request.operation)) return false;
  return spec.resources.some((r) => r.group === request.kind.group && r.kind === request.kind.kind) || alsoJudges?.(request.kind) === true;
}

/**
 * The webhook's answer to a request. Anything out of scope (another kind, a subresource, DELETE,
 * CONNECT, e.g. from a broader webhook rule) is allowed untouched. A handler that throws is a bug
 * (rules carry their own failure modes), answered as the declared failure policy would: `Fail`
 * refuses without detail; `Ignore` admits the object unchanged with a warning saying so, where an
 * HTTP 500 would let the API server admit it silently.
 */
export function decide(webhook: Webhook, request: AdmissionRequest): Decision & { readonly failure?: unknown } {
  if (!inScope(webhook.spec, request, webhook.alsoJudges)) return { verdict: allowed(), facts: {} };
  try {
    return webhook.decide(request);
  } catch (failure) {
    const { name, failurePolicy } = webhook.spec;
    const logged = `see the aml-admission log for uid ${request.uid}`;
    const verdict =
      failurePolicy === FailurePolicy.Ignore
        ? allowed({ warnings: [`internal error in the ${name} webhook; admitted unchanged (failurePolicy Ignore); ${logged}`] })
        : errored(`internal error in the ${name} webhook; ${logged}`);
    return { verdict, facts: {}, failure };
  }
}

export interface ReviewOutcome extends Decision {
  readonly apiVersion: ReviewVersion;
  readonly request: AdmissionRequest;
  /** The encoded AdmissionReview answer. */
  readonly payload: string;
  /** What a handler threw, for the log. */
  readonly failure?: unknown;
}

/** Body (already parsed JSON) → decoded request → decision → encoded answer. Throws HttpError on bad input. */
export function review(webhook: Webhook, body: unknown): ReviewOutcome {
  const { apiVersion, request } = decodeReview(body);
  const { verdict, facts, failure } = decide(webhook, request);
  // Built field by field: an object spread here cost more than the rules of a non-AML pod.
  const payload = encodeReview(apiVersion, request.uid, verdict);
  return failure === undefined ? { verdict, facts, apiVersion, request, payload } : { verdict, facts, apiVersion, request, payload, failure };
}
