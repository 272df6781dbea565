import { fitsLabels } from '../k8s/affinity.js';
import type { NodeFacts } from '../k8s/node.js';
import { formatTaint, tolerates, type Taint } from '../k8s/tolerations.js';
import type { ClusterView } from './cache.js';
import type { PlacementIndex, PodDemand, PoolRef } from './placement.js';

/**
 * Whether one node can take the pod, and if not, why. `unresolvable` failures are ones that
 * evicting pods cannot cure (wrong pool, taint, NotReady...), so the scheduler's preemption
 * skips those nodes; only a shortage of free GPUs is resolvable.
 */
export type NodeFit = { readonly fits: true } | { readonly fits: false; readonly reason: string; readonly unresolvable: boolean };

const FITS: NodeFit = { fits: true };
const unresolvable = (reason: string): NodeFit => ({ fits: false, reason, unresolvable: true });
const resolvable = (reason: string): NodeFit => ({ fits: false, reason, unresolvable: false });

/** Reasons that do not depend on the pod; shared objects, so failing 5,000 nodes allocates nothing. */
export const Unfit = {
  NotCached: unresolvable("node is not in the extender's node cache"),
  NotReady: unresolvable('node is not Ready'),
  Cordoned: unresolvable('node is cordoned (spec.unschedulable)'),
  Labels: unresolvable("node does not match the pod's nodeSelector or required node affinity"),
} as const;

/** Candidate nodes in input order: the name the scheduler sent and what we know of it. */
export interface Candidates {
  readonly names: readonly string[];
  readonly facts: readonly (NodeFacts | undefined)[];
}

export interface FilterOutcome {
  /** One verdict per candidate, in input order (mostly shared objects: no per-node allocation). */
  readonly verdicts: readonly NodeFit[];
  /** How many candidates fit. */
  readonly kept: number;
}

/**
 * Judges nodes for one pod. Built once per call: everything that depends only on the pod (its
 * compute's pool list, its tolerations against each distinct taint set) is worked out at most
 * once, whatever the number of nodes.
 */
export class NodeFitter {
  private readonly index: PlacementIndex;
  private readonly demand: PodDemand;
  private readonly view: ClusterView;
  /** Taint signature → verdict for that set of taints (FITS when the pod tolerates them all). */
  private readonly taintVerdicts = new Map<string, NodeFit>();
  private readonly reservedVerdicts = new Map<PoolRef, NodeFit>();
  private readonly checkLabels: boolean;
  private readonly outsideCompute: NodeFit | undefined;
  private readonly gpuShort: NodeFit[];
  private readonly gpuTooSmall: NodeFit[];

  constructor(index: PlacementIndex, demand: PodDemand, view: ClusterView) {
    this.index = index;
    this.demand = demand;
    this.view = view;
    // matchFields (metadata.name, as DaemonSet pods use) is not a label question; the
    // scheduler's NodeAffinity plugin has already applied it before calling any extender.
    const { requiredTerms: terms, nodeSelector } = demand.pod;
    this.checkLabels = (terms !== undefined || Object.keys(nodeSelector).length > 0) && !(terms ?? []).some((t) => (t.matchFields ?? []).length > 0);
    const aml = demand.aml;
    if (aml !== undefined) {
      this.outsideCompute = aml.compute
        ? unresolvable(`node is not in a node pool of compute "${aml.computeName}" (${index.poolList(aml.computeName)})`)
        : unresolvable(`compute "${aml.computeName}" is not defined in the policy`);
    }
    this.gpuShort = index.gpuNames.map((name, i) => resolvable(`fewer than ${demand.gpus[i]} ${name} free on the node`));
    this.gpuTooSmall = index.gpuNames.map((name, i) => unresolvable(`node has fewer than ${demand.gpus[i]} ${name} allocatable`));
  }

  fit(name: string, node: NodeFacts | undefined): NodeFit {
    if (node === undefined) return Unfit.NotCached;
    if (!node.ready) return Unfit.NotReady;
    if (node.unschedulable) return Unfit.Cordoned;
    const placement = this.index.placement(node);
    const pools = placement.pools;
    if (this.outsideCompute !== undefined && !this.inCompute(pools)) return this.outsideCompute;
    for (let i = 0; i < pools.length; i++) {
      if (!pools[i]!.reserved) continue;
      const verdict = this.reserved(pools[i]!);
      if (verdict !== FITS) return verdict;
    }
    if (this.checkLabels && !fitsLabels(this.demand.pod.nodeSelector, this.demand.pod.requiredTerms, node.labels)) return Unfit.Labels;
    if (node.hardTaints.length > 0) {
      const verdict = this.taints(node);
      if (verdict !== FITS) return verdict;
    }
    if (this.demand.gpuTotal > 0) {
      const need = this.demand.gpus;
      for (let i = 0; i < need.length; i++) {
        const n = need[i]!;
        if (n === 0) continue;
        const allocatable = placement.gpus[i]!;
        if (allocatable < n) return this.gpuTooSmall[i]!;
        if (allocatable - this.view.used(name, this.index.gpuNames[i]!) < n) return this.gpuShort[i]!;
      }
    }
    return FITS;
  }

  private inCompute(pools: readonly PoolRef[]): boolean {
    const compute = this.demand.aml?.computeName;
    for (let i = 0; i < pools.length; i++) if (pools[i]!.compute === compute) return true;
    return false;
  }

  /** A reserved pool takes only AML pods of its compute, and a reserved GPU pool only those that need GPUs. */
  private reserved(p: PoolRef): NodeFit {
    let verdict = this.reservedVerdicts.get(p);
    if (verdict === undefined) {
      if (this.demand.aml?.computeName !== p.compute) verdict = unresolvable(`node pool "${p.pool}" is reserved for compute "${p.compute}"`);
      else if (p.gpu && this.demand.gpuTotal === 0) verdict = unresolvable(`GPU pool "${p.pool}" is reserved for pods that request GPUs`);
      else verdict = FITS;
      this.reservedVerdicts.set(p, verdict);
    }
    return verdict;
  }

  private taints(node: NodeFacts): NodeFit {
    let verdict = this.taintVerdicts.get(node.taintSignature);
    if (verdict === undefined) {
      const untolerated = node.hardTaints.find((taint: Taint) => !this.demand.tolerations.some((t) => tolerates(t, taint)));
      verdict = untolerated === undefined ? FITS : unresolvable(`node has taint ${formatTaint(untolerated)} that the pod does not tolerate`);
      this.taintVerdicts.set(node.taintSignature, verdict);
    }
    return verdict;
  }
}

/** Judges every candidate; the encoder turns the verdicts into kept, failed and unresolvable. */
export function filterNodes(fitter: NodeFitter, candidates: Candidates): FilterOutcome {
  const { names, facts } = candidates;
  const verdicts = new Array<NodeFit>(names.length);
  let kept = 0;
  for (let i = 0; i < names.length; i++) {
    const fit = fitter.fit(names[i]!, facts[i]);
    verdicts[i] = fit;
    if (fit.fits) kept += 1;
  }
  return { verdicts, kept };
}
