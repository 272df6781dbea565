import { pathToFileURL } from 'node:url';
import { MemoryNodeCache } from '../src/extender/cache.js';
import { filter, prioritize, type ExtenderContext } from '../src/extender/extender.js';
import { parseJson } from '../src/http/body.js';
import { loadPolicy } from '../src/policy/loader.js';
import { PolicySnapshot } from '../src/policy/snapshot.js';
import type { Policy } from '../src/policy/types.js';

/**
 * Scheduler extender latency, in process: one call is what the HTTP route does between reading
 * the body and writing the answer (JSON.parse, decode, judge every node, encode), in NodeNames
 * mode against a cache of 500 or 5,000 nodes. Target: median ≤ 2 ms per call at 5,000 nodes.
 *
 *   npm run bench:extender
 */

export interface Stats {
  readonly medianMs: number;
  readonly p99Ms: number;
}

export interface ExtenderBenchSize {
  readonly nodes: number;
  readonly iterations: number;
  readonly filter: Stats;
  readonly prioritize: Stats;
  /** One filter call plus one prioritize call, as kube-scheduler makes per pod. */
  readonly both: Stats;
  /** Nodes kept by the benchmark pod's filter call (sanity: the work is real). */
  readonly kept: number;
}

export interface ExtenderBenchResult {
  readonly sizes: readonly ExtenderBenchSize[];
  readonly targetMedianMs: number;
  /** Median per call at the largest size is within the target. */
  readonly pass: boolean;
}

export const TARGET_MEDIAN_MS = 2;

const POLICY = `apiVersion: aml-admission.azure.com/v1alpha1
kind: AdmissionPolicy
computes:
  gpu-cluster:
    nodePools:
      cpupool: {}
      gpupool: { gpu: true, reserved: true, taints: [{ key: sku, value: gpu, effect: NoSchedule }, { key: ml.azure.com/compute, value: gpu-cluster, effect: NoSchedule }] }
      gpu4pool: { gpu: true, taints: [{ key: sku, value: gpu, effect: NoSchedule }] }
    defaultInstanceType: cpu
    instanceTypes:
      cpu: { nodeSelector: { agentpool: cpupool } }
  cpu-cluster:
    nodePools:
      batchpool: {}
    defaultInstanceType: cpu
    instanceTypes:
      cpu: { nodeSelector: { agentpool: batchpool } }
`;

function benchPolicy(): Policy {
  const loaded = loadPolicy(POLICY);
  if (!loaded.ok) throw new Error(`bench policy is invalid: ${JSON.stringify(loaded.errors)}`);
  return loaded.policy;
}

/** A deterministic generator, so every run measures the same cluster. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const GPU_TAINT = { key: 'sku', value: 'gpu', effect: 'NoSchedule' };

/** A cluster of `size` nodes: 30% CPU, 40% 8-GPU (reserved), 20% 4-GPU, 10% another compute; GPUs partly used; a few NotReady or cordoned. */
export function benchCluster(size: number): { cache: MemoryNodeCache; names: string[] } {
  const random = prng(size);
  const cache = new MemoryNodeCache();
  const names: string[] = [];
  for (let i = 0; i < size; i++) {
    const r = random();
    const [pool, gpus] = r < 0.3 ? ['cpupool', 0] : r < 0.7 ? ['gpupool', 8] : r < 0.9 ? ['gpu4pool', 4] : ['batchpool', 0];
    const name = `aks-${pool}-${String(10000000 + (i % 97)).slice(0, 8)}-vmss${String(i).padStart(6, '0')}`;
    names.push(name);
    cache.upsertNode({
      metadata: {
        name,
        labels: {
          agentpool: pool,
          'kubernetes.azure.com/agentpool': pool,
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'topology.kubernetes.io/zone': `westeurope-${(i % 3) + 1}`,
        },
      },
      spec: { ...(random() < 0.01 ? { unschedulable: true } : {}), ...(gpus > 0 ? { taints: [GPU_TAINT] } : {}) },
      status: {
        allocatable: { cpu: '94', memory: '1800Gi', pods: '110', ...(gpus > 0 ? { 'nvidia.com/gpu': String(gpus) } : {}) },
        conditions: [{ type: 'Ready', status: random() < 0.01 ? 'False' : 'True' }],
      },
    });
    // Partly used GPU nodes: 0..gpus GPUs held by 1-GPU..4-GPU pods, some of them gang members.
    let used = Math.floor(random() * (gpus + 1));
    for (let p = 0; used > 0; p++) {
      const take = Math.min(used, 1 + Math.floor(random() * 4));
      used -= take;
      cache.upsertPod({
        metadata: { name: `job-${i}-${p}`, namespace: 'azureml', labels: { 'training.kubeflow.org/job-name': `job-${i % 50}` } },
        spec: { nodeName: name, containers: [{ name: 'main', resources: { limits: { 'nvidia.com/gpu': String(take) } } }] },
        status: { phase: 'Running' },
      });
    }
  }
  return { cache, names };
}

function benchPod(): object {
  return {
    metadata: { name: 'llama-ft-worker-3', namespace: 'azureml', labels: { 'ml.azure.com/compute': 'gpu-cluster', 'training.kubeflow.org/job-name': 'job-7' } },
    spec: {
      containers: [
        {
          name: 'main',
          resources: { limits: { cpu: '40', memory: '400Gi', 'nvidia.com/gpu': '2' }, requests: { cpu: '40', memory: '400Gi', 'nvidia.com/gpu': '2' } },
        },
      ],
      tolerations: [GPU_TAINT, { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { medianMs: round(at(0.5)), p99Ms: round(at(0.99)) };
}

function measure(size: number, iterations: number, warmup: number): ExtenderBenchSize {
  const { cache, names } = benchCluster(size);
  const ctx: ExtenderContext = { snapshot: new PolicySnapshot(benchPolicy()), view: cache.view() };
  const body = Buffer.from(JSON.stringify({ Pod: benchPod(), Nodes: null, NodeNames: names }));
  const f: number[] = [];
  const p: number[] = [];
  const both: number[] = [];
  let kept = 0;
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = performance.now();
    const answer = filter(parseJson(body), ctx);
    const t1 = performance.now();
    prioritize(parseJson(body), ctx);
    const t2 = performance.now();
    if (i < warmup) continue;
    kept = answer.kept ?? 0;
    f.push(t1 - t0);
    p.push(t2 - t1);
    both.push(t2 - t0);
  }
  return { nodes: size, iterations, filter: stats(f), prioritize: stats(p), both: stats(both), kept };
}

export async function runExtenderBench(opts: { sizes?: readonly number[]; iterations?: number } = {}): Promise<ExtenderBenchResult> {
  const sizes = (opts.sizes ?? [500, 5000]).map((n) => measure(n, opts.iterations ?? (n > 1000 ? 400 : 2000), 100));
  const largest = sizes[sizes.length - 1]!;
  return {
    sizes,
    targetMedianMs: TARGET_MEDIAN_MS,
    pass: largest.filter.medianMs <= TARGET_MEDIAN_MS && largest.prioritize.medianMs <= TARGET_MEDIAN_MS,
  };
}

export function formatExtenderBench(result: ExtenderBenchResult): string {
  const rows = [['nodes', 'call', 'median ms', 'p99 ms', 'kept']];
  for (const s of result.sizes) {
    rows.push([String(s.nodes), 'filter', String(s.filter.medianMs), String(s.filter.p99Ms), String(s.kept)]);
    rows.push([String(s.nodes), 'prioritize', String(s.prioritize.medianMs), String(s.prioritize.p99Ms), '']);
    rows.push([String(s.nodes), 'filter+prioritize', String(s.both.medianMs), String(s.both.p99Ms), '']);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  lines.push(
    `target: median ≤ ${result.targetMedianMs} ms per call at ${result.sizes[result.sizes.length - 1]!.nodes} nodes: ${result.pass ? 'met' : 'MISSED'}`,
  );
  return `scheduler extender (NodeNames mode, in process, Node ${process.version})\n${lines.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runExtenderBench();
  process.stdout.write(formatExtenderBench(result));
  process.exitCode = result.pass ? 0 : 1;
}
