import { INT64_MAX, INT64_MIN, intOf, requirementMatches, type NodeSelectorRequirement } from './affinity.js';
import { deepFreeze } from './json.js';
import type { PodView } from './pod.js';

/**
 * Where can a pod land, in terms of node pools?
 *
 * A pod's effective placement is its nodeSelector AND (the OR of its required node affinity
 * terms), so it is a union of conjuncts: nodeSelector ∧ term₁, nodeSelector ∧ term₂, ...
 * A pool is a set of nodes identified by a label map: a node belongs to pool P when its labels
 * include all of P's labels. Nodes may carry any other labels, so a conjunct is "contained" in
 * a set of pools only if EVERY label set it admits includes some pool's labels — a conjunct that
 * leaves a pool key unconstrained, or allows its absence, or allows a value no pool uses, escapes.
 *
 * The analysis is exact for all six operators. For one key, every value a requirement or pool
 * does not name behaves alike for In/NotIn/Exists/DoesNotExist, and Gt/Lt only look at the
 * integer value (which has endlessly many spellings: 7, 07, 007); so testing the named values,
 * "absent", one unnamed string and one unnamed integer spelling in range decides every case.
 * Matching itself is the scheduler's (affinity.ts `requirementMatches`).
 */

/** Pool name → the node labels that identify the pool. */
export type PoolLabels = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** One way the pod can be placed. */
export interface ConjunctFit {
  /** `nodeSelector` or `affinity term N` (1-based), for messages. */
  readonly source: string;
  /** Some node labels satisfy it. */
  readonly satisfiable: boolean;
  /** Every node it admits belongs to one of the pools (vacuously true when unsatisfiable). */
  readonly contained: boolean;
  /** Pools some of whose nodes it admits. */
  readonly reachable: readonly string[];
  /** Reachable pools whose label value it names with `In` (or the nodeSelector): explicit targeting. */
  readonly named: readonly string[];
}

export interface PlacementFit {
  /** The pod sets neither a nodeSelector nor required node affinity. */
  readonly unrestricted: boolean;
  readonly conjuncts: readonly ConjunctFit[];
}

interface Conjunct {
  readonly source: string;
  readonly requirements: readonly NodeSelectorRequirement[];
  /** An empty term or an empty key: matches no node (the API server rejects these). */
  readonly matchesNothing: boolean;
}

/** The pod's placement as conjuncts; nodeSelector entries become `In [value]` requirements. */
function conjunctsOf(pod: PodView): { unrestricted: boolean; conjuncts: Conjunct[] } {
  const fromSelector: NodeSelectorRequirement[] = Object.entries(pod.nodeSelector).map(([key, v]) => ({ key, operator: 'In', values: [v] }));
  const terms = pod.requiredTerms;
  if (terms === undefined) {
    return { unrestricted: fromSelector.length === 0, conjuncts: [{ source: 'nodeSelector', requirements: fromSelector, matchesNothing: false }] };
  }
  const conjuncts = terms.map((term, i): Conjunct => {
    const exprs = term.matchExpressions ?? [];
    // matchFields (metadata.name) only narrow a term further; a term with neither part matches nothing.
    const empty = exprs.length === 0 && (term.matchFields ?? []).length === 0;
    return { source: `affinity term ${i + 1}`, requirements: [...fromSelector, ...exprs], matchesNothing: empty || exprs.some((r) => r.key === '') };
  });
  return { unrestricted: false, conjuncts };
}

/** `null` stands for "the node has no such label". */
type Value = string | null;

/** An integer inside every Gt/Lt bound on the key, if the bounds leave room for one. */
function integerInRange(reqs: readonly NodeSelectorRequirement[]): bigint | undefined {
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  for (const r of reqs) {
    if (r.operator !== 'Gt' && r.operator !== 'Lt') continue;
    const n = r.values?.length === 1 ? intOf(r.values[0]) : undefined;
    if (n === undefined) return undefined; // a malformed bound matches nothing anyway
    if (r.operator === 'Gt') lo = lo === undefined || n > lo ? n : lo;
    else hi = hi === undefined || n < hi ? n : hi;
  }
  if (lo === undefined && hi === undefined) return undefined;
  const n = lo !== undefined ? lo + 1n : hi! - 1n;
  return (hi !== undefined && n >= hi) || n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** A spelling of `n` that is not among `taken` (leading zeros keep the integer value). */
function unnamedSpelling(n: bigint, taken: ReadonlySet<string>): string {
  const digits = String(n < 0n ? -n : n);
  const sign = n < 0 ? '-' : '';
  let zeros = '0';
  while (taken.has(`${sign}${zeros}${digits}`)) zeros += '0';
  return `${sign}${zeros}${digits}`;
}

/** The values of `key` (representatives, see above) that satisfy every requirement on it. */
function admittedValues(key: string, reqs: readonly NodeSelectorRequirement[], poolValues: ReadonlySet<string>): Value[] {
  const named = new Set(poolValues);
  for (const r of reqs) for (const v of r.values ?? []) named.add(v);
  let other = 'x';
  while (named.has(other)) other += 'x';
  const candidates: Value[] = [null, ...named, other];
  const n = integerInRange(reqs);
  if (n !== undefined) candidates.push(unnamedSpelling(n, named));
  return candidates.filter((v) => reqs.every((r) => requirementMatches(v === null ? {} : { [key]: v }, r)));
}

function fitConjunct(c: Conjunct, pools: PoolLabels): ConjunctFit {
  const unsatisfiable: ConjunctFit = { source: c.source, satisfiable: false, contained: true, reachable: [], named: [] };
  if (c.matchesNothing) return unsatisfiable;

  const byKey = new Map<string, NodeSelectorRequirement[]>();
  for (const r of c.requirements) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  const poolValues = new Map<string, Set<string>>();
  for (const labels of Object.values(pools)) {
    for (const [k, v] of Object.entries(labels)) poolValues.set(k, (poolValues.get(k) ?? new Set()).add(v));
  }
  // Keys with requirements: the values they admit. Keys without: anything, including absence.
  const admitted = new Map<string, Value[]>();
  for (const [key, reqs] of byKey) {
    const values = admittedValues(key, reqs, poolValues.get(key) ?? new Set());
    if (values.length === 0) return unsatisfiable;
    admitted.set(key, values);
  }
  const admits = (key: string, v: string) => admitted.get(key)?.includes(v) ?? true;
  const poolNames = Object.keys(pools);
  const reachable = poolNames.filter((p) => Object.entries(pools[p]!).every(([k, v]) => admits(k, v)));
  const named = reachable.filter((p) =>
    Object.entries(pools[p]!).some(([k, v]) => (byKey.get(k) ?? []).some((r) => r.operator === 'In' && (r.values ?? []).includes(v))),
  );

  // A key escapes when the conjunct admits a value for it that no pool uses (or its absence):
  // a node with that value belongs to none of the pools that have the key.
  const escapes = (key: string) => {
    const values = admitted.get(key);
    if (values === undefined) return true;
    const used = poolValues.get(key)!;
    return values.some((v) => v === null || !used.has(v));
  };
  const live = reachable.filter((p) => !Object.keys(pools[p]!).some(escapes));
  return {
    source: c.source,
    satisfiable: true,
    contained: coversAll(
      live.map((p) => pools[p]!),
      admitted,
    ),
    reachable,
    named,
  };
}

/**
 * Does every choice of values (one admitted value per key) match some pool? Only keys whose
 * admitted values are all pool values are left here, so the search is over a few small sets.
 */
function coversAll(
  live: readonly Readonly<Record<string, string>>[],
  admitted: ReadonlyMap<string, Value[]>,
  assigned: ReadonlyMap<string, string> = new Map(),
): boolean {
  if (live.length === 0) return false;
  if (live.some((p) => Object.keys(p).every((k) => assigned.has(k)))) return true;
  const key = Object.keys(live.find((p) => Object.keys(p).some((k) => !assigned.has(k)))!).find((k) => !assigned.has(k))!;
  return admitted.get(key)!.every((v) => {
    const next = new Map(assigned).set(key, v!);
    return coversAll(
      live.filter((p) => !Object.hasOwn(p, key) || p[key] === v),
      admitted,
      next,
    );
  });
}

/** How the pod's placement relates to the given pools (name → labels). */
export function fitPlacement(pod: PodView, pools: PoolLabels): PlacementFit {
  const { unrestricted, conjuncts } = conjunctsOf(pod);
  return { unrestricted, conjuncts: conjuncts.map((c) => fitConjunct(c, pools)) };
}

/** Bounds the memo per pools object; it starts over when full (placements are few in practice). */
const MEMO_SIZE = 512;

/**
 * fitPlacement remembered per pools object and placement: the answer depends only on the
 * nodeSelector and the required node affinity, and the pods of one job share theirs. A policy
 * snapshot owns one, so it lives and dies with the pools objects it is keyed by.
 */
export class PlacementMemo {
  private readonly byPools = new Map<PoolLabels, Map<string, PlacementFit>>();

  fit(pod: PodView, pools: PoolLabels): PlacementFit {
    let byPlacement = this.byPools.get(pools);
    if (byPlacement === undefined) this.byPools.set(pools, (byPlacement = new Map()));
    const key = JSON.stringify([pod.nodeSelector, pod.requiredTerms ?? null]);
    let fit = byPlacement.get(key);
    if (fit === undefined) {
      if (byPlacement.size >= MEMO_SIZE) byPlacement.clear();
      fit = deepFreeze(fitPlacement(pod, pools));
      byPlacement.set(key, fit);
    }
    return fit;
  }
}
