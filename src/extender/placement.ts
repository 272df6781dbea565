import { amlPod, labelsOf, podGpus, type AmlPod, type Pod } from '../policy/pod.js';
import { podTolerations } from '../policy/scheduling.js';
import type { Policy, Toleration } from '../policy/types.js';
import type { NodeFacts } from './node.js';

/** One node pool of one compute, as the policy defines it. */
export interface PoolRef {
  readonly compute: string;
  readonly pool: string;
  readonly gpu: boolean;
  readonly reserved: boolean;
}

/** A node seen through the policy: its pools and GPUs. Computed once per node and policy. */
export interface NodePlacement {
  /** Every compute pool whose labels the node carries (pools of different computes may overlap). */
  readonly pools: readonly PoolRef[];
  /** The node's pool name from the policy's node-pool labels (first present), for gang locality. */
  readonly poolName: string | undefined;
  /** Allocatable GPUs, one entry per `policy.gpu.resourceNames` entry. */
  readonly gpus: readonly number[];
  /** Has allocatable GPUs or belongs to a GPU pool. */
  readonly gpuNode: boolean;
}

/** First present, non-empty label among `keys` (the policy's "first present wins" rule). */
export function firstLabel(labels: Readonly<Record<string, string>>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = labels[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

interface PoolMatcher {
  readonly ref: PoolRef;
  readonly labels: readonly (readonly [string, string])[];
}

/**
 * The policy flattened for per-node questions, with node placements memoised: nodes are
 * long-lived in the cache, so each node is matched against the pools once per policy, not
 * once per call.
 */
export class PlacementIndex {
  readonly policy: Policy;
  readonly gpuNames: readonly string[];
  private readonly matchers: readonly PoolMatcher[];
  private readonly poolLists = new Map<string, string>();
  private readonly memo = new WeakMap<NodeFacts, NodePlacement>();

  constructor(policy: Policy) {
    this.policy = policy;
    this.gpuNames = policy.gpu.resourceNames;
    const matchers: PoolMatcher[] = [];
    for (const [compute, c] of Object.entries(policy.computes)) {
      for (const [pool, p] of Object.entries(c.nodePools)) {
        matchers.push({ ref: { compute, pool, gpu: p.gpu, reserved: p.reserved }, labels: Object.entries(p.labels) });
      }
      this.poolLists.set(compute, Object.keys(c.nodePools).join(', '));
    }
    this.matchers = matchers;
  }

  /** The compute's pool names, for messages ("cpupool, gpupool"). */
  poolList(compute: string): string {
    return this.poolLists.get(compute) ?? '';
  }

  placement(node: NodeFacts): NodePlacement {
    let p = this.memo.get(node);
    if (p === undefined) {
      p = this.place(node);
      this.memo.set(node, p);
    }
    return p;
  }

  private place(node: NodeFacts): NodePlacement {
    const pools: PoolRef[] = [];
    for (const m of this.matchers) {
      if (m.labels.every(([k, v]) => node.labels[k] === v)) pools.push(m.ref);
    }
    const gpus = this.gpuNames.map((name) => node.allocatable[name] ?? 0);
    return {
      pools,
      poolName: firstLabel(node.labels, this.policy.keys.nodePoolLabels),
      gpus,
      gpuNode: gpus.some((n) => n > 0) || pools.some((p) => p.gpu),
    };
  }
}

const indexes = new WeakMap<Policy, PlacementIndex>();

/** One index per policy object (policies are frozen and replaced whole on reload). */
export function placementIndex(policy: Policy): PlacementIndex {
  let index = indexes.get(policy);
  if (index === undefined) indexes.set(policy, (index = new PlacementIndex(policy)));
  return index;
}

/** What the pod being scheduled asks for, resolved once per call. */
export interface PodDemand {
  readonly pod: Pod;
  readonly namespace: string;
  /** GPUs needed, one entry per `policy.gpu.resourceNames` entry. */
  readonly gpus: readonly number[];
  readonly gpuTotal: number;
  readonly tolerations: readonly Toleration[];
  /** Undefined for pods that are not AML pods. */
  readonly aml: AmlPod | undefined;
  /** The distributed job (gang) the pod belongs to, AML or not. */
  readonly jobName: string | undefined;
}

export type DemandResult = { readonly ok: true; readonly demand: PodDemand } | { readonly ok: false; readonly error: string };

export function podDemand(policy: Policy, pod: Pod): DemandResult {
  const gpus = policy.gpu.resourceNames.map((name) => podGpus(pod, [name]));
  const bad = gpus.findIndex((n) => !Number.isFinite(n));
  if (bad !== -1) return { ok: false, error: `Pod asks for ${policy.gpu.resourceNames[bad]} with a quantity that is not a whole number` };
  const meta = pod.metadata;
  return {
    ok: true,
    demand: {
      pod,
      namespace: typeof meta?.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default',
      gpus,
      gpuTotal: gpus.reduce((a, b) => a + b, 0),
      tolerations: podTolerations(pod).filter((t) => typeof t === 'object' && t !== null),
      aml: amlPod(policy, pod),
      jobName: firstLabel(labelsOf(pod), policy.keys.jobNameLabels),
    },
  };
}
