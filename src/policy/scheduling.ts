import type { V1NodeSelectorRequirement, V1NodeSelectorTerm } from '@kubernetes/client-node';
import type { Pod } from './pod.js';
import type { Taint, Toleration } from './types.js';

/**
 * Kubernetes' own placement semantics, shared by validation (is a pod's targeting inside its
 * pools?), mutation (is a toleration already present?) and the extender (does a node fit?).
 */

/** v1 toleration ⇄ taint matching (k8s.io/api/core/v1 ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  // An empty key with operator Exists matches every taint.
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** True when `broad` tolerates every taint `narrow` tolerates (so `narrow` grants nothing new). */
export function subsumes(broad: Toleration, narrow: Toleration): boolean {
  if (broad.effect && broad.effect !== narrow.effect) return false;
  if (broad.key === undefined || broad.key === '') return broad.operator === 'Exists';
  if (narrow.key !== broad.key) return false;
  if (broad.operator === 'Exists') return true;
  return narrow.operator !== 'Exists' && (narrow.value ?? '') === (broad.value ?? '');
}

/** Taints that count for placement (PreferNoSchedule only steers, it never excludes). */
export function isHardTaint(taint: Taint): boolean {
  return taint.effect === 'NoSchedule' || taint.effect === 'NoExecute';
}

function intOf(s: string | undefined): number | undefined {
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/** One nodeSelectorTerm requirement against node labels (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
export function requirementMatches(labels: Readonly<Record<string, string>>, r: V1NodeSelectorRequirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(value!);
    case 'NotIn':
      return !has || !values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const left = intOf(value);
      const right = intOf(values[0]);
      if (left === undefined || right === undefined || values.length !== 1) return false;
      return r.operator === 'Gt' ? left > right : left < right;
    }
    default:
      return false; // unknown operators match nothing, as in the scheduler
  }
}

/** A term matches when all of its matchExpressions do; a term with none matches nothing. */
export function termMatches(labels: Readonly<Record<string, string>>, term: V1NodeSelectorTerm): boolean {
  const exprs = term.matchExpressions ?? [];
  // matchFields only supports metadata.name; a pool is a set of nodes by label, so treat it as
  // unresolvable here (callers that know node names handle it).
  if (exprs.length === 0) return false;
  return exprs.every((r) => requirementMatches(labels, r));
}

/** The pod's required node affinity terms (ORed), or undefined when it has none. */
export function requiredTerms(pod: Pod): V1NodeSelectorTerm[] | undefined {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return Array.isArray(terms) ? terms : undefined;
}

/** Does a node with these labels satisfy the pod's nodeSelector AND its required node affinity? */
export function podFitsLabels(pod: Pod, labels: Readonly<Record<string, string>>): boolean {
  const selector = pod.spec?.nodeSelector ?? {};
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  const terms = requiredTerms(pod);
  return terms === undefined || terms.some((t) => termMatches(labels, t));
}

export function podTolerations(pod: Pod): Toleration[] {
  const t = pod.spec?.tolerations;
  return Array.isArray(t) ? (t as Toleration[]) : [];
}
