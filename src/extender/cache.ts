import { isObject } from '../k8s/json.js';
import { nodeFacts, type NodeFacts } from '../k8s/node.js';
import { decodePod, extendedResources, firstLabel, podAmount } from '../k8s/pod.js';

/**
 * What filter and prioritize read about the cluster. A view is used synchronously for one call,
 * so it is consistent without copying: JavaScript finishes the call before any informer event
 * can change the cache.
 */
export interface ClusterView {
  /** The node as last seen, or undefined when the cache has never seen it. */
  node(name: string): NodeFacts | undefined;
  /** How much of an extended resource (e.g. nvidia.com/gpu) the active pods bound to the node request. */
  used(nodeName: string, resource: string): number;
  /**
   * Where the active, bound pods of one distributed job run: node name → pod count; undefined
   * when none do. `jobLabels` are the policy's job-name labels (first present wins).
   */
  jobPeers(namespace: string, jobName: string, jobLabels: readonly string[]): ReadonlyMap<string, number> | undefined;
}

/** The view's nodes as the admission rules ask about them (a pod's spec.nodeName). */
export function nodeLookup(view: ClusterView): { labels(name: string): Readonly<Record<string, string>> | undefined } {
  return { labels: (name) => view.node(name)?.labels };
}

/**
 * The extender's picture of the cluster, fed by informers (src/kube) or a state file. Every
 * method takes the raw v1 JSON object and never throws on malformed input: what cannot be
 * understood is ignored (a node without a name) or counted as zero (a non-integer GPU quantity).
 */
export interface NodeCache {
  /** Adds or replaces a Node; returns false (and changes nothing) when it is not a named Node. */
  upsertNode(node: unknown): boolean;
  deleteNode(name: string): void;
  /**
   * Adds or replaces a Pod. Only pods bound to a node (`spec.nodeName`) and not terminated
   * (phase other than Succeeded/Failed) hold resources; any other pod is forgotten.
   */
  upsertPod(pod: unknown): void;
  deletePod(namespace: string, name: string): void;
  /** The read side, for filter and prioritize. */
  view(): ClusterView;
  readonly size: { readonly nodes: number; readonly pods: number };
}

/** A pod that holds resources on a node. */
interface HeldPod {
  readonly namespace: string;
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Effective amount of each extended resource (what the scheduler counts for the pod). */
  readonly extended: Readonly<Record<string, number>>;
}

const TERMINATED: ReadonlySet<unknown> = new Set(['Succeeded', 'Failed']);

function heldPod(raw: unknown): { key: string; held: HeldPod | undefined } | undefined {
  const decoded = decodePod(raw);
  if (!decoded.ok || decoded.pod.name === '') return undefined;
  const { pod } = decoded;
  const namespace = pod.namespace || 'default';
  const key = podKey(namespace, pod.name);
  const phase = isObject(pod.object.status) ? pod.object.status.phase : undefined;
  if (pod.nodeName === undefined || TERMINATED.has(phase)) return { key, held: undefined };
  const extended: Record<string, number> = {};
  for (const name of extendedResources(pod)) {
    const n = podAmount(pod, [name]); // as the scheduler counts, sidecars included
    if (Number.isFinite(n) && n > 0) extended[name] = n;
  }
  return { key, held: { namespace, nodeName: pod.nodeName, labels: { ...pod.labels }, extended } };
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function jobKey(namespace: string, jobName: string): string {
  return `${namespace}\n${jobName}`; // a newline cannot occur in a namespace or label value
}

/** Gang membership for one set of job labels, kept up to date incrementally once built. */
interface JobIndex {
  readonly signature: string;
  readonly labels: readonly string[];
  readonly nodesByJob: Map<string, Map<string, number>>;
}

function addCount(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next > 0) map.set(key, next);
  else map.delete(key);
}

/** The in-memory NodeCache: maps keyed by name, with GPU usage and gang membership summed as pods come and go. */
export class MemoryNodeCache implements NodeCache, ClusterView {
  private readonly nodes = new Map<string, NodeFacts>();
  private readonly pods = new Map<string, HeldPod>();
  /** node name → extended resource → amount requested by its active pods. */
  private readonly usage = new Map<string, Map<string, number>>();
  private jobs: JobIndex | undefined;

  upsertNode(node: unknown): boolean {
    const facts = nodeFacts(node);
    if (facts === undefined) return false;
    this.nodes.set(facts.name, facts);
    return true;
  }

  deleteNode(name: string): void {
    this.nodes.delete(name);
  }

  upsertPod(pod: unknown): void {
    const parsed = heldPod(pod);
    if (parsed === undefined) return;
    this.forget(parsed.key);
    if (parsed.held === undefined) return;
    this.pods.set(parsed.key, parsed.held);
    this.account(parsed.held, 1);
  }

  deletePod(namespace: string, name: string): void {
    this.forget(podKey(namespace, name));
  }

  view(): ClusterView {
    return this;
  }

  get size(): { nodes: number; pods: number } {
    return { nodes: this.nodes.size, pods: this.pods.size };
  }

  node(name: string): NodeFacts | undefined {
    return this.nodes.get(name);
  }

  used(nodeName: string, resource: string): number {
    return this.usage.get(nodeName)?.get(resource) ?? 0;
  }

  jobPeers(namespace: string, jobName: string, jobLabels: readonly string[]): ReadonlyMap<string, number> | undefined {
    return this.jobIndex(jobLabels).nodesByJob.get(jobKey(namespace, jobName));
  }

  private forget(key: string): void {
    const old = this.pods.get(key);
    if (old === undefined) return;
    this.pods.delete(key);
    this.account(old, -1);
  }

  private account(pod: HeldPod, sign: 1 | -1): void {
    const names = Object.keys(pod.extended);
    if (names.length > 0) {
      let perNode = this.usage.get(pod.nodeName);
      if (perNode === undefined) this.usage.set(pod.nodeName, (perNode = new Map()));
      for (const name of names) addCount(perNode, name, sign * pod.extended[name]!);
      if (perNode.size === 0) this.usage.delete(pod.nodeName);
    }
    if (this.jobs !== undefined) this.indexJob(this.jobs, pod, sign);
  }

  private indexJob(index: JobIndex, pod: HeldPod, sign: 1 | -1): void {
    const job = firstLabel(pod.labels, index.labels);
    if (job === undefined) return;
    const key = jobKey(pod.namespace, job);
    let nodes = index.nodesByJob.get(key);
    if (nodes === undefined) index.nodesByJob.set(key, (nodes = new Map()));
    addCount(nodes, pod.nodeName, sign);
    if (nodes.size === 0) index.nodesByJob.delete(key);
  }

  /** Built on first use and rebuilt only if the policy's job labels change. */
  private jobIndex(jobLabels: readonly string[]): JobIndex {
    const signature = jobLabels.join('\n');
    if (this.jobs?.signature === signature) return this.jobs;
    const index: JobIndex = { signature, labels: [...jobLabels], nodesByJob: new Map() };
    for (const pod of this.pods.values()) this.indexJob(index, pod, 1);
    this.jobs = index;
    return index;
  }
}
