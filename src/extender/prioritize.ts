import type { ClusterView } from './cache.js';
import type { Candidates } from './filter.js';
import type { PlacementIndex, PodDemand } from './placement.js';

/** kube-scheduler's MaxExtenderPriority: extender scores are integers from 0 to 10. */
export const MAX_SCORE = 10;

/** Weights when the pod's gang peers are known: staying in the peers' pool outranks packing. */
export const GANG_WEIGHT = 6;
export const PACK_WEIGHT = MAX_SCORE - GANG_WEIGHT;

/**
 * Scores each candidate 0..10 (docs/extender.md has the worked formula):
 *
 *   pack = for a GPU pod: (GPUs in use + GPUs the pod needs) / GPUs allocatable, of the kinds the
 *          pod asks for (the node the pod fills most wins, keeping whole nodes free for 8-GPU jobs);
 *          for a pod without GPUs: 1 on a node without GPUs, 0 on a GPU node.
 *   gang = the share of the pod's gang peers (same namespace and job) running in the node's pool.
 *   score = round(4 × pack + 6 × gang) when peers run somewhere, else round(10 × pack).
 *
 * Nodes the cache does not know, and nodes without enough free GPUs, score 0.
 */
export function scoreNodes(index: PlacementIndex, demand: PodDemand, view: ClusterView, candidates: Candidates): number[] {
  const gang = gangShares(index, demand, view);
  const scores = new Array<number>(candidates.names.length);
  for (let i = 0; i < scores.length; i++) {
    const node = candidates.facts[i];
    if (node === undefined) {
      scores[i] = 0;
      continue;
    }
    const placement = index.placement(node);
    const pack = packing(index, demand, view, candidates.names[i]!, placement.gpus, placement.gpuNode);
    if (pack < 0) scores[i] = 0;
    else if (gang === undefined) scores[i] = Math.round(MAX_SCORE * pack);
    else scores[i] = Math.round(PACK_WEIGHT * pack + GANG_WEIGHT * (placement.poolName === undefined ? 0 : (gang.get(placement.poolName) ?? 0)));
  }
  return scores;
}

/** The pack term in [0, 1], or -1 when the pod's GPUs do not fit on the node. */
function packing(index: PlacementIndex, demand: PodDemand, view: ClusterView, name: string, allocatable: readonly number[], gpuNode: boolean): number {
  if (demand.gpuTotal === 0) return gpuNode ? 0 : 1;
  let total = 0;
  let filled = 0;
  for (let i = 0; i < demand.gpus.length; i++) {
    const need = demand.gpus[i]!;
    if (need === 0) continue;
    const alloc = allocatable[i]!;
    const used = view.used(name, index.gpuNames[i]!);
    if (alloc - used < need) return -1;
    total += alloc;
    filled += used + need;
  }
  return filled / total;
}

/** Pool name → share of the pod's gang peers running there; undefined when no peer runs on a known node. */
function gangShares(index: PlacementIndex, demand: PodDemand, view: ClusterView): Map<string, number> | undefined {
  if (demand.jobName === undefined) return undefined;
  const peers = view.jobPeers(demand.namespace, demand.jobName, index.policy.keys.jobNameLabels);
  if (peers === undefined) return undefined;
  const byPool = new Map<string, number>();
  let total = 0;
  for (const [nodeName, count] of peers) {
    const node = view.node(nodeName);
    const pool = node === undefined ? undefined : index.placement(node).poolName;
    if (pool === undefined) continue;
    byPool.set(pool, (byPool.get(pool) ?? 0) + count);
    total += count;
  }
  if (total === 0) return undefined;
  for (const [pool, count] of byPool) byPool.set(pool, count / total);
  return byPool;
}
