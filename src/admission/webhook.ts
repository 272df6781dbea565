import { isPodRequest, Operation, type AdmissionRequest } from './request.js';
import { decodeReview, encodeReview, type ReviewVersion } from './review.js';
import { allowed, errored, type ValidationVerdict, type Verdict } from './verdict.js';

/** What a webhook decides for one request; pure apart from what its closure was given. */
export type AdmissionHandler = (request: AdmissionRequest) => Verdict;
export type ValidationHandler = (request: AdmissionRequest) => ValidationVerdict;

export const WebhookName = { Mutate: 'mutate', Validate: 'validate' } as const;
export type WebhookName = (typeof WebhookName)[keyof typeof WebhookName];

export interface Webhook {
  readonly name: WebhookName;
  readonly handle: AdmissionHandler;
}

export function mutatingWebhook(handle: AdmissionHandler): Webhook {
  return { name: WebhookName.Mutate, handle: onlyPodWrites(handle) };
}

/** Typed so a validating handler cannot return a patch. */
export function validatingWebhook(handle: ValidationHandler): Webhook {
  return { name: WebhookName.Validate, handle: onlyPodWrites(handle) };
}

/**
 * Our rules judge Pods being created or updated. Anything else that reaches us (another kind, a
 * subresource, DELETE, CONNECT — e.g. from a broader webhook rule) is allowed untouched.
 */
export function onlyPodWrites<V extends Verdict>(handle: (r: AdmissionRequest) => V): (r: AdmissionRequest) => V | ReturnType<typeof allowed> {
  return (request) => {
    if (!isPodRequest(request)) return allowed();
    if (request.operation !== Operation.Create && request.operation !== Operation.Update) return allowed();
    return handle(request);
  };
}

export interface ReviewOutcome {
  readonly apiVersion: ReviewVersion;
  readonly request: AdmissionRequest;
  readonly verdict: Verdict;
  /** The encoded AdmissionReview answer. */
  readonly payload: string;
  /** A handler that threw: the verdict is an Errored (fail closed) and this is for the log. */
  readonly failure?: unknown;
}

/** Body (already parsed JSON) → decoded request → verdict → encoded answer. Throws HttpError on bad input. */
export function review(webhook: Webhook, body: unknown): ReviewOutcome {
  const { apiVersion, request } = decodeReview(body);
  let verdict: Verdict;
  let failure: unknown;
  try {
    verdict = webhook.handle(request);
  } catch (err) {
    // Rules carry their own failure modes; reaching here is a bug, so fail closed without details.
    failure = err;
    verdict = errored(`internal error in the ${webhook.name} webhook; see the aml-admission log for uid ${request.uid}`);
  }
  const payload = encodeReview(apiVersion, request.uid, verdict);
  return failure === undefined ? { apiVersion, request, verdict, payload } : { apiVersion, request, verdict, payload, failure };
}
