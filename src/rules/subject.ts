import type { AdmissionRequest, UserInfo } from '../admission/request.js';
import type { ReviewFacts } from '../admission/webhook.js';
import type { PlacementFit } from '../k8s/placement.js';
import { decodePod, podAmount, viewPod, type PodView } from '../k8s/pod.js';
import { amlFacts, type AmlFacts } from '../policy/aml.js';
import { NO_CLAIMS, type ClaimLookup } from '../policy/amlClaims.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { Policy } from '../policy/types.js';

const NO_POD = viewPod(Object.freeze({}));

/**
 * What the webhook knows about nodes (from its node informer or the extender's state file), for
 * pods that name one in spec.nodeName and so skip the scheduler. `labels` is undefined for a node
 * it has not seen.
 */
export interface NodeLookup {
  labels(name: string): Readonly<Record<string, string>> | undefined;
}

/** The node a pod names, and its labels when the webhook knows the node. */
export interface NamedNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
}

/**
 * The object under review with what the rules need, resolved once per request from one policy
 * snapshot. Today it is a Pod; a pod template inside a workload is the same subject with `at`
 * naming where the template sits, judged with the workload's requester.
 */
export class Subject {
  private gpuCount: number | undefined;
  private fit: PlacementFit | null | undefined;
  private reachable: readonly string[] | undefined;
  private derived: Map<object, unknown> | undefined;

  constructor(
    readonly snapshot: PolicySnapshot,
    readonly request: AdmissionRequest,
    readonly pod: PodView,
    /** The pod's AML facts (as submitted); undefined for a pod that is not an AML pod. */
    readonly aml: AmlFacts | undefined,
    /** Who asked; undefined when nobody is known (the `audit` command judging existing pods). */
    readonly requester: UserInfo | undefined,
    /** Why the object is not a Pod the rules can read (then `pod` is empty); undefined for a valid one. */
    readonly invalid?: string,
    /** Where the pod sits in the object under review: '' for a Pod itself. */
    readonly at = '',
    /**
     * Node knowledge, for judging spec.nodeName as placement (admission, dry-run); a lookup that
     * knows no node makes every named node unknown. Undefined: nodeName is not judged (`audit`,
     * whose pods were bound by the scheduler).
     */
    readonly nodes?: NodeLookup,
    /** The PVCs the webhook knows (AML's `ml.azure.com/pvc` convention, pvc-volumes); none by default. */
    readonly claims: ClaimLookup = NO_CLAIMS,
  ) {}

  get policy(): Policy {
    return this.snapshot.policy;
  }

  /** The pod's namespace: the request's, else the object's. */
  get namespace(): string {
    return this.request.namespace || this.pod.namespace;
  }

  /** GPUs the pod asks for, as the scheduler counts them; NaN when a GPU quantity is not a whole number. */
  get gpus(): number {
    return (this.gpuCount ??= podAmount(this.pod, this.policy.gpu.resourceNames));
  }

  /** Any container or init container requests or limits a GPU (a malformed quantity counts). */
  get requestsGpu(): boolean {
    return this.gpus !== 0;
  }

  /** A value computed from this subject once, however many rules ask (e.g. the tolerations it was granted). */
  derive<T>(key: object, build: (s: Subject) => T): T {
    this.derived ??= new Map();
    if (!this.derived.has(key)) this.derived.set(key, build(this));
    return this.derived.get(key) as T;
  }

  /** The same subject with the pod as the mutating rules have left it so far. */
  withPod(pod: PodView): Subject {
    return new Subject(this.snapshot, this.request, pod, this.aml, this.requester, this.invalid, this.at, this.nodes, this.claims);
  }

  /** How the pod's placement fits its compute's pools; undefined unless it is an AML pod of a known compute. */
  get placement(): PlacementFit | undefined {
    if (this.fit === undefined) {
      const pools = this.aml === undefined ? undefined : this.snapshot.poolLabels(this.aml.computeName);
      this.fit = pools === undefined ? null : this.snapshot.placements.fit(this.pod, pools);
    }
    return this.fit ?? undefined;
  }

  /** The node the pod names in spec.nodeName (bypassing the scheduler), when nodeName is judged. */
  get namedNode(): NamedNode | undefined {
    const name = this.pod.nodeName;
    return name === undefined || this.nodes === undefined ? undefined : { name, labels: this.nodes.labels(name) };
  }

  /**
   * The compute's pools the pod can reach, each once: those some of its placements reach, or, for
   * a pod that names its node, the pools that node belongs to (none when the node is unknown).
   */
  get reachablePools(): readonly string[] {
    if (this.reachable === undefined) {
      const pools: string[] = [];
      const node = this.namedNode;
      if (node !== undefined) {
        const labels = this.aml === undefined ? undefined : this.snapshot.poolLabels(this.aml.computeName);
        for (const [p, want] of Object.entries(labels ?? {})) if (node.labels !== undefined && inPool(node.labels, want)) pools.push(p);
      } else {
        for (const c of this.placement?.conjuncts ?? []) for (const p of c.reachable) if (!pools.includes(p)) pools.push(p);
      }
      this.reachable = pools;
    }
    return this.reachable;
  }

  /** What the audit log and the CLI report about the subject: compute, instance type, reachable pools. */
  facts(): ReviewFacts {
    const aml = this.aml;
    if (aml === undefined) return {};
    if (aml.compute === undefined) return { compute: aml.computeName };
    return { compute: aml.computeName, instanceType: aml.instanceTypeName, pools: this.reachablePools };
  }
}

/** Node knowledge of a webhook that has none: every named node is unknown. */
export const NO_NODES: NodeLookup = { labels: () => undefined };

/** A node with these labels belongs to the pool identified by `pool`'s labels. */
export function inPool(node: Readonly<Record<string, string>>, pool: Readonly<Record<string, string>>): boolean {
  for (const k in pool) if (node[k] !== pool[k]) return false;
  return true;
}

/** The subject for an object under review; an object that is not a valid Pod gives a subject that says why. */
export function subjectOf(
  snapshot: PolicySnapshot,
  request: AdmissionRequest,
  object: unknown,
  requester: UserInfo | undefined,
  nodes?: NodeLookup,
  claims?: ClaimLookup,
): Subject {
  const decoded = decodePod(object);
  if (!decoded.ok) return new Subject(snapshot, request, NO_POD, undefined, requester, decoded.error, '', nodes, claims);
  return new Subject(snapshot, request, decoded.pod, amlFacts(snapshot.policy, decoded.pod), requester, undefined, '', nodes, claims);
}
