import { LineCounter, parseAllDocuments } from 'yaml';
import { serviceAccountUser } from '../admission/identity.js';
import { decodeReview, type DecodedReview } from '../admission/review.js';
import type { UserInfo } from '../admission/request.js';
import { isObject } from '../k8s/json.js';
import type { Pod } from '../k8s/pod.js';
import { BUILTIN_WORKLOAD_KINDS, podFromSite, type WorkloadKinds } from '../k8s/workloads.js';
import { ClaimIndex, claimMetaOf } from '../policy/amlClaims.js';
import { isInstanceTypeDocument, isInstanceTypeListDocument } from '../policy/instanceTypeObjects.js';
import { yamlErrorText } from '../util/yamlErrors.js';

/**
 * What `dry-run` and `audit` read from files: Pods, AdmissionReviews, Lists of them (`kubectl get
 * pods -o yaml`), and the pod templates inside workload objects, from multi-document YAML or JSON;
 * and what the cluster would know: Nodes, PersistentVolumeClaims and AML InstanceType objects.
 * Pure: the commands read the files and hand the text in.
 */

export interface Where {
  readonly file: string;
  /** 1-based document number in the file (items of a List share their document's number). */
  readonly doc: number;
  /** For an item of a List: its place, `items[2]` (`items[0].items[1]` in a List of Lists). */
  readonly item?: string;
}

/**
 * `file#doc`, or `file#doc items[2]` for a List's item, as shown in reports (just `file` for what
 * concerns the whole file). The item's name is on the same line: the object's, in its report or
 * problem.
 */
export function whereText(w: Where): string {
  if (w.doc <= 0) return w.file;
  return `${w.file}#${w.doc}${w.item !== undefined ? ` ${w.item}` : ''}`;
}

export interface PodInput {
  readonly type: 'pod';
  readonly where: Where;
  /** What the pod came from, e.g. `Pod`, `Deployment/train`, `PyTorchJob/bert (Worker)`. */
  readonly origin: string;
  readonly pod: Pod;
  /** The identity that creates such pods in a cluster (the workload's controller), if known. */
  readonly creator?: UserInfo;
  /** How many pods the workload asks for from this template (this pod is replica 0), when it says. */
  readonly replicas?: number;
}

export interface ReviewInput {
  readonly type: 'review';
  readonly where: Where;
  readonly origin: string;
  readonly review: DecodedReview;
}

export type Input = PodInput | ReviewInput;

export interface Problem {
  readonly where: Where;
  readonly message: string;
}

export interface Inputs {
  readonly inputs: Input[];
  /** Bad input: unreadable YAML, a malformed AdmissionReview or workload. */
  readonly problems: Problem[];
  /** Documents of kinds that hold no pod (Service, ConfigMap, ...): listed, not judged. */
  readonly skipped: { readonly where: Where; readonly what: string }[];
  /** Node name → labels, from the Node documents: what dry-run knows of the nodes pods may name. */
  readonly nodes: Map<string, Readonly<Record<string, string>>>;
  /** AML InstanceType objects (and the items of InstanceTypeLists): the cluster's instance types offline. */
  readonly instanceTypes: { readonly where: Where; readonly object: unknown }[];
  /** The PersistentVolumeClaim documents: the PVCs of the cluster (AML's labelled ones are mounted into AML pods). */
  readonly claims: ClaimIndex;
}

/** An empty Inputs, to collect into. */
export function noInputs(): Inputs {
  return { inputs: [], problems: [], skipped: [], nodes: new Map(), instanceTypes: [], claims: new ClaimIndex() };
}

/** What reading needs to know: the namespace of documents without one, the workload kinds the policy judges. */
export interface ReadContext {
  readonly namespace: string;
  readonly kinds: WorkloadKinds;
}

/** Collects one document (a Pod, AdmissionReview, List, workload, Node, InstanceType, PVC) into `out`. */
export function collect(doc: unknown, where: Where, ctx: ReadContext, out: Inputs): void {
  if (!isObject(doc)) {
    if (doc !== null && doc !== undefined) out.problems.push({ where, message: `${where.item !== undefined ? 'item' : 'document'} is not an object` });
    return;
  }
  const kind = typeof doc.kind === 'string' ? doc.kind : '';
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const label = `${kind || 'object'}/${typeof meta.name === 'string' ? meta.name : '?'}`;
  if (kind === 'AdmissionReview') {
    try {
      out.inputs.push({ type: 'review', where, origin: 'AdmissionReview', review: decodeReview(doc) });
    } catch (err) {
      out.problems.push({ where, message: `invalid AdmissionReview: ${(err as Error).message}` });
    }
    return;
  }
  if (kind === 'Pod') {
    if (!isObject(doc.spec)) out.problems.push({ where, message: `${label} has no spec` });
    else {
      const pod = { ...doc, metadata: { ...meta, namespace: typeof meta.namespace === 'string' ? meta.namespace : ctx.namespace } } as Pod;
      out.inputs.push({ type: 'pod', where, origin: 'Pod', pod });
    }
    return;
  }
  if (kind === 'Node' && typeof meta.name === 'string' && meta.name !== '') {
    const labels = isObject(meta.labels) ? meta.labels : {};
    out.nodes.set(meta.name, Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === 'string')) as Record<string, string>);
    return;
  }
  if (kind === 'PersistentVolumeClaim' && doc.apiVersion === 'v1') {
    const claim = claimMetaOf(doc, ctx.namespace);
    if (claim === undefined) out.problems.push({ where, message: `${label} has no name` });
    else out.claims.upsert(claim);
    return;
  }
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
  if (isInstanceTypeDocument(apiVersion, kind)) {
    out.instanceTypes.push({ where, object: doc });
    return;
  }
  // AML's own example lists items without apiVersion and kind: each is an InstanceType.
  if (isInstanceTypeListDocument(apiVersion, kind)) {
    if (!Array.isArray(doc.items)) out.problems.push({ where, message: `${kind} has no items list` });
    else for (const item of doc.items) out.instanceTypes.push({ where, object: item });
    return;
  }
  if (kind === 'List' || kind.endsWith('List')) {
    if (!Array.isArray(doc.items)) out.problems.push({ where, message: `${kind} has no items list` });
    else
      doc.items.forEach((item, i) => {
        const at = `items[${i}]`;
        collect(item, { ...where, item: where.item !== undefined ? `${where.item}.${at}` : at }, ctx, out);
      });
    return;
  }
  const name = typeof meta.name === 'string' ? meta.name : 'unnamed';
  const sites = isObject(doc.spec) ? ctx.kinds.sites(apiVersion, kind, name, doc.spec) : undefined;
  if (sites === undefined) {
    out.skipped.push({ where, what: label });
    return;
  }
  if (sites.length === 0) out.problems.push({ where, message: `${label} has no pod templates` });
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : ctx.namespace;
  for (const site of sites) {
    const pod = podFromSite(site, namespace);
    const origin = site.role ? `${label} (${site.role})` : label;
    if (typeof pod === 'string') out.problems.push({ where, message: `${origin} ${pod} at ${site.at}` });
    else out.inputs.push({ type: 'pod', where, origin, pod, creator: site.creator, ...(site.replicas !== undefined ? { replicas: site.replicas } : {}) });
  }
}

/** Reads every document of every file; never throws (problems are returned). */
export function readInputs(
  files: readonly { readonly file: string; readonly text: string }[],
  opts: { readonly namespace: string; readonly kinds?: WorkloadKinds },
): Inputs {
  const ctx = { namespace: opts.namespace, kinds: opts.kinds ?? BUILTIN_WORKLOAD_KINDS };
  const out = noInputs();
  for (const { file, text } of files) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
    // parseAllDocuments returns an EmptyStream (not an array) for an empty file.
    const list = Array.isArray(docs) ? docs : [];
    if (list.length === 0) out.problems.push({ where: { file, doc: 0 }, message: 'file holds no documents' });
    list.forEach((d, i) => {
      const where = { file, doc: i + 1 };
      if (d.errors.length > 0) {
        out.problems.push({ where, message: `not valid YAML or JSON at ${yamlErrorText(d.errors[0]!, lines)}` });
        return;
      }
      collect(d.toJS({ maxAliasCount: 100 }), where, ctx, out);
    });
  }
  return out;
}
