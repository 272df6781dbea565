import type { V1LabelSelector, V1LabelSelectorRequirement, V1MutatingWebhook, V1ValidatingWebhook } from '@kubernetes/client-node';

type Webhook = V1MutatingWebhook | V1ValidatingWebhook;

/**
 * The namespace exclusions AKS's Admissions Enforcer adds to every webhook's namespaceSelector
 * (AKS-managed namespaces are labelled so). The templates do not carry them, because elsewhere
 * they would be a label opt-out from validation; where AKS adds them they are accepted as they are
 * and kept on update, so init and AKS never undo each other's writes.
 */
export const AKS_ENFORCER_EXCLUSIONS: readonly V1LabelSelectorRequirement[] = [
  { key: 'control-plane', operator: 'NotIn', values: ['true'] },
  { key: 'kubernetes.azure.com/managedby', operator: 'NotIn', values: ['aks'] },
];

const requirementId = (r: V1LabelSelectorRequirement): string => JSON.stringify([r.key, r.operator, [...new Set(r.values ?? [])].sort()]);
const AKS_IDS = new Set(AKS_ENFORCER_EXCLUSIONS.map(requirementId));
const sorted = (values: readonly string[] | undefined) => (values === undefined ? undefined : [...new Set(values)].sort());

/** A selector as a set: requirements in a fixed order, each one's values sorted and deduplicated. */
function normalSelector(selector: V1LabelSelector | undefined, drop: ReadonlySet<string>): V1LabelSelector | undefined {
  if (selector?.matchExpressions === undefined) return selector;
  const byId = new Map<string, V1LabelSelectorRequirement>();
  for (const r of selector.matchExpressions) {
    const id = requirementId(r);
    if (!drop.has(id)) byId.set(id, { ...r, ...(r.values ? { values: sorted(r.values) } : {}) });
  }
  return { ...selector, matchExpressions: [...byId].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => r) };
}

/**
 * The webhooks as sets where the API gives lists without meaning in their order: rules' verbs,
 * groups, versions and resources, and selector requirements. (admissionReviewVersions is a
 * preference order and stays as it is.) `drop`: requirements to leave out of the selectors.
 */
export function normalWebhooks<W extends Webhook>(webhooks: readonly W[] | undefined, drop: ReadonlySet<string> = new Set()): W[] | undefined {
  return webhooks?.map((w) => ({
    ...w,
    ...(w.rules
      ? {
          rules: w.rules.map((r) => ({
            ...r,
            ...(r.operations ? { operations: sorted(r.operations) } : {}),
            ...(r.apiGroups ? { apiGroups: sorted(r.apiGroups) } : {}),
            ...(r.apiVersions ? { apiVersions: sorted(r.apiVersions) } : {}),
            ...(r.resources ? { resources: sorted(r.resources) } : {}),
          })),
        }
      : {}),
    ...(w.namespaceSelector ? { namespaceSelector: normalSelector(w.namespaceSelector, drop) } : {}),
    ...(w.objectSelector ? { objectSelector: normalSelector(w.objectSelector, drop) } : {}),
  }));
}

/** The AKS exclusions `desired` does not itself contain: what may appear in the cluster without being drift. */
export function toleratedExclusions(desired: readonly Webhook[] | undefined): ReadonlySet<string> {
  const own = new Set((desired ?? []).flatMap((w) => (w.namespaceSelector?.matchExpressions ?? []).map(requirementId)));
  return new Set([...AKS_IDS].filter((id) => !own.has(id)));
}

/**
 * `desired` plus the AKS exclusions the cluster's copy of each webhook (matched by name) carries,
 * so an update init makes keeps what the Admissions Enforcer added.
 */
export function keepingAksExclusions<W extends Webhook>(desired: readonly W[] | undefined, existing: readonly Webhook[] | undefined): W[] | undefined {
  const tolerated = toleratedExclusions(desired);
  return desired?.map((w) => {
    const theirs = (existing?.find((e) => e.name === w.name)?.namespaceSelector?.matchExpressions ?? []).filter((r) => tolerated.has(requirementId(r)));
    if (theirs.length === 0) return w;
    return { ...w, namespaceSelector: { ...w.namespaceSelector, matchExpressions: [...(w.namespaceSelector?.matchExpressions ?? []), ...theirs] } };
  });
}
