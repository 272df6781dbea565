import type { NodeFacts } from '../k8s/node.js';
import { firstLabel, podAmount, type PodView } from '../k8s/pod.js';
import type { Toleration } from '../k8s/tolerations.js';
import { amlFacts, type AmlFacts } from '../policy/aml.js';
import { fact, type PolicySnapshot } from '../policy/snapshot.js';
import type { Policy } from '../policy/types.js';

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

const index = fact((snapshot) => new PlacementIndex(snapshot.policy));

/** One index per policy snapshot, built when the extender first needs it. */
export function placementIndex(snapshot: PolicySnapshot): PlacementIndex {
  return snapshot.get(index);
}

/** What the pod being scheduled asks for, resolved once per call. */
export interface PodDemand {
  readonly pod: PodView;
  readonly namespace: string;
  /** GPUs needed, one entry per `policy.gpu.resourceNames` entry. */
  readonly gpus: readonly number[];
  readonly gpuTotal: number;
  readonly tolerations: readonly Toleration[];
  /** Undefined for pods that are not AML pods. */
  readonly aml: AmlFacts | undefined;
  /** The distributed job (gang) the pod belongs to, AML or not. */
  readonly jobName: string | undefined;
}

export type DemandResult = { readonly ok: true; readonly demand: PodDemand } | { readonly ok: false; readonly error: string };

export function podDemand(policy: Policy, pod: PodView): DemandResult {
  const gpus = policy.gpu.resourceNames.map((name) => podAmount(pod, [name]));
  const bad = gpus.findIndex((n) => !Number.isFinite(n));
  if (bad !== -1) return { ok: false, error: `Pod asks for ${policy.gpu.resourceNames[bad]} with a quantity that is not a whole number` };
  return {
    ok: true,
    demand: {
      pod,
      namespace: pod.namespace || 'default',
      gpus,
      gpuTotal: gpus.reduce((a, b) => a + b, 0),
      tolerations: pod.tolerations,
      aml: amlFacts(policy, pod),
      jobName: firstLabel(pod.labels, policy.keys.jobNameLabels),
    },
  };
}
