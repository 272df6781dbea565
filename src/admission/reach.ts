import { parse } from '@marcbachmann/cel-js';
import type { V1LabelSelector, V1MatchCondition, V1MutatingWebhook, V1RuleWithOperations, V1ValidatingWebhook } from '@kubernetes/client-node';
import { isObject } from '../k8s/json.js';
import type { AdmissionRequest } from './request.js';

/**
 * Would the API server call a webhook, as registered, for this request? Its rules, its namespace
 * and object selectors, then its matchConditions (CEL), in that order, as the API server decides
 * (admissionregistration/v1). Offline the namespace's labels are unknown beyond the name label the
 * API server sets (`kubernetes.io/metadata.name`); other labels count as absent.
 */
export type Reach = { readonly reached: true } | { readonly reached: false; readonly why: string };

/** One webhook of a Mutating- or ValidatingWebhookConfiguration, as the API server has it. */
export type RegisteredWebhook = V1MutatingWebhook | V1ValidatingWebhook;
type Webhook = RegisteredWebhook;

const NAME_LABEL = 'kubernetes.io/metadata.name';
const REACHED: Reach = { reached: true };

const anyOf = (list: readonly string[] | undefined, value: string) => list === undefined || list.includes('*') || list.includes(value);

function ruleMatches(rule: V1RuleWithOperations, request: AdmissionRequest, equivalent: boolean): boolean {
  const resource = request.subResource ? `${request.resource.resource}/${request.subResource}` : request.resource.resource;
  // `*/*` and `pods/*` name subresources; a plain `*` or `pods` does not match one.
  const resourceOk = (rule.resources ?? []).some(
    (r) => r === resource || r === '*/*' || (r === '*' && !request.subResource) || r === `${request.resource.resource}/*`,
  );
  return (
    anyOf(rule.operations, request.operation) &&
    anyOf(rule.apiGroups, request.resource.group) &&
    (equivalent || anyOf(rule.apiVersions, request.resource.version)) &&
    resourceOk
  );
}

/** LabelSelector semantics (metav1): every matchLabels pair and every requirement must hold. */
export function selects(selector: V1LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const ok =
      r.operator === 'In'
        ? has && (r.values ?? []).includes(labels[r.key]!)
        : r.operator === 'NotIn'
          ? !has || !(r.values ?? []).includes(labels[r.key]!)
          : r.operator === 'Exists'
            ? has
            : r.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

const labelsOf = (o: unknown): Record<string, string> =>
  isObject(o) && isObject(o.metadata) && isObject(o.metadata.labels) ? (o.metadata.labels as Record<string, string>) : {};

const compiled = new Map<string, (vars: Record<string, unknown>) => unknown>();
function program(expression: string): (vars: Record<string, unknown>) => unknown {
  let p = compiled.get(expression);
  if (p === undefined) compiled.set(expression, (p = parse(expression) as (vars: Record<string, unknown>) => unknown));
  return p;
}

/** The first matchCondition that is false (or fails to evaluate); undefined when all hold. */
export function failedCondition(conditions: readonly V1MatchCondition[] | undefined, request: AdmissionRequest): { name: string; error?: string } | undefined {
  // The variables the API server binds (`authorizer` needs a live API server and is not offered).
  const vars = {
    object: request.object ?? null,
    oldObject: request.oldObject ?? null,
    request: JSON.parse(JSON.stringify({ ...request, object: undefined, oldObject: undefined })),
  };
  for (const c of conditions ?? []) {
    try {
      if (program(c.expression)(vars) !== true) return { name: c.name };
    } catch (err) {
      return { name: c.name, error: (err as Error).message.split('\n')[0]! };
    }
  }
  return undefined;
}

/** Whether `webhook` is called for `request` in a namespace with `namespaceLabels` (beyond its name label). */
export function reach(webhook: Webhook, request: AdmissionRequest, namespaceLabels: Readonly<Record<string, string>> = {}): Reach {
  const equivalent = webhook.matchPolicy !== 'Exact';
  if (!(webhook.rules ?? []).some((r) => ruleMatches(r, request, equivalent)))
    return { reached: false, why: `its rules do not cover ${request.operation} of ${request.resource.resource}` };
  if (request.namespace !== '' && !selects(webhook.namespaceSelector, { ...namespaceLabels, [NAME_LABEL]: request.namespace }))
    return { reached: false, why: `its namespaceSelector excludes namespace ${request.namespace}` };
  if (!selects(webhook.objectSelector, labelsOf(request.object)) && !selects(webhook.objectSelector, labelsOf(request.oldObject)))
    return { reached: false, why: "its objectSelector does not select the object's labels" };
  const failed = failedCondition(webhook.matchConditions, request);
  if (failed === undefined) return REACHED;
  // An evaluation error is decided by failurePolicy: Fail refuses the request, Ignore skips the webhook.
  if (failed.error !== undefined)
    return webhook.failurePolicy === 'Ignore'
      ? { reached: false, why: `matchCondition ${failed.name} failed to evaluate (${failed.error}); failurePolicy Ignore skips the webhook` }
      : REACHED;
  return { reached: false, why: `matchCondition ${failed.name} is false` };
}
