import type { V1NodeSelectorRequirement, V1NodeSelectorTerm } from '@kubernetes/client-node';

/** Node selection as the scheduler does it: nodeSelector AND any one required node-affinity term. */

export type NodeSelectorRequirement = V1NodeSelectorRequirement;
export type NodeSelectorTerm = V1NodeSelectorTerm;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * The integer a Gt/Lt requirement compares (a label value or the requirement's one value), read as
 * the scheduler reads it: Go's strconv.ParseInt(s, 10, 64), so `+5` and `007` count, and anything
 * outside int64 is not an integer at all.
 */
export function intOf(s: string | undefined): bigint | undefined {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** One requirement against node labels (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
export function requirementMatches(labels: Readonly<Record<string, string>>, r: NodeSelectorRequirement): boolean {
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

/**
 * A term matches when all of its matchExpressions do; a term with none matches nothing.
 * matchFields only supports metadata.name: a question about node names, not labels, which callers
 * that know the names answer themselves.
 */
export function termMatches(labels: Readonly<Record<string, string>>, term: NodeSelectorTerm): boolean {
  const exprs = term.matchExpressions ?? [];
  return exprs.length > 0 && exprs.every((r) => requirementMatches(labels, r));
}

/** Does a node with these labels satisfy the nodeSelector AND the required terms (undefined: none)? */
export function fitsLabels(
  selector: Readonly<Record<string, string>>,
  terms: readonly NodeSelectorTerm[] | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return terms === undefined || terms.some((t) => termMatches(labels, t));
}
