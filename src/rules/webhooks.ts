import { Operation, type AdmissionRequest } from '../admission/request.js';
import { WORKLOAD_RESOURCES } from '../k8s/workloads.js';
import { WORKLOAD_KINDS } from '../policy/workloadKinds.js';
import { FailurePolicy, WebhookName, type Webhook, type WebhookSpec } from '../admission/webhook.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { NO_CLAIMS, type ClaimLookup } from '../policy/amlClaims.js';
import { mutate, MUTATING_RULES } from './mutate.js';
import { NO_NODES, type NodeLookup } from './subject.js';
import { validate } from './validate.js';
import { validateWorkload } from './validateWorkload.js';

const PODS = { group: '', kind: 'Pod', resource: 'pods' } as const;
const isPod = (request: AdmissionRequest) => request.kind.group === '' && request.kind.kind === 'Pod';

/**
 * The two webhooks as webhook-config/ registers them (a test holds the YAML to these).
 * Mutation: Pod specs are immutable after creation, so only CREATE is worth patching; it fails
 * open because it only adds conveniences and validation still judges an unmutated pod.
 * Validation: UPDATE too (a label change can move a pod into a compute); it fails closed because
 * failing open would let anyone bypass reserved pools and claims by causing an outage. It judges
 * the workloads whose controllers create pods as well, with their submitter's identity
 * (validateWorkload.ts), so a bad job fails at `kubectl apply`, not in a controller's log.
 */
/** The name init registers the ValidatingWebhookConfiguration under (webhook-config/validating.yaml; a test holds it). */
export const VALIDATING_WEBHOOK_CONFIGURATION = 'azureml-connector-admission';

export const MUTATING_WEBHOOK: WebhookSpec = {
  name: WebhookName.Mutate,
  operations: [Operation.Create],
  resources: [PODS],
  failurePolicy: FailurePolicy.Ignore,
};
export const VALIDATING_WEBHOOK: WebhookSpec = {
  name: WebhookName.Validate,
  operations: [Operation.Create, Operation.Update],
  resources: [PODS, ...WORKLOAD_RESOURCES],
  failurePolicy: FailurePolicy.Fail,
};

/**
 * Both webhooks, each deciding with the snapshot `current()` returns at the time of the request.
 * `nodes()` is what the server knows about nodes then (its informer or state file); without it
 * every node a pod names in spec.nodeName is unknown, and such pods fail closed where it matters.
 * `claims()` is the PVCs it knows (its informer), for AML's labelled PVCs; without it none.
 */
export function admissionWebhooks(
  current: () => PolicySnapshot,
  nodes: () => NodeLookup = () => NO_NODES,
  claims: () => ClaimLookup = () => NO_CLAIMS,
): Webhook[] {
  return [
    { spec: MUTATING_WEBHOOK, decide: (request) => mutate(current(), request, MUTATING_RULES, claims()) },
    {
      spec: VALIDATING_WEBHOOK,
      decide: (request) => (isPod(request) ? validate(current(), request, { nodes: nodes() }) : validateWorkload(current(), request, { nodes: nodes() })),
      alsoJudges: (kind) => current().get(WORKLOAD_KINDS).isCustom(kind.group, kind.kind),
    },
  ];
}
