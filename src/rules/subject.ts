import type { AdmissionRequest, UserInfo } from '../admission/request.js';
import type { ReviewFacts } from '../admission/webhook.js';
import type { PlacementFit } from '../k8s/placement.js';
import { decodePod, podAmount, viewPod, type PodView } from '../k8s/pod.js';
import { amlFacts, type AmlFacts } from '../policy/aml.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { Policy } from '../policy/types.js';

const NO_POD = viewPod(Object.freeze({}));

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
    return new Subject(this.snapshot, this.request, pod, this.aml, this.requester, this.invalid, this.at);
  }

  /** How the pod's placement fits its compute's pools; undefined unless it is an AML pod of a known compute. */
  get placement(): PlacementFit | undefined {
    if (this.fit === undefined) {
      const pools = this.aml === undefined ? undefined : this.snapshot.poolLabels(this.aml.computeName);
      this.fit = pools === undefined ? null : this.snapshot.placements.fit(this.pod, pools);
    }
    return this.fit ?? undefined;
  }

  /** The compute's pools some of the pod's placements reach, each once. */
  get reachablePools(): readonly string[] {
    if (this.reachable === undefined) {
      const pools: string[] = [];
      for (const c of this.placement?.conjuncts ?? []) for (const p of c.reachable) if (!pools.includes(p)) pools.push(p);
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

/** The subject for an object under review; an object that is not a valid Pod gives a subject that says why. */
export function subjectOf(snapshot: PolicySnapshot, request: AdmissionRequest, object: unknown, requester: UserInfo | undefined): Subject {
  const decoded = decodePod(object);
  if (!decoded.ok) return new Subject(snapshot, request, NO_POD, undefined, requester, decoded.error);
  return new Subject(snapshot, request, decoded.pod, amlFacts(snapshot.policy, decoded.pod), requester);
}
