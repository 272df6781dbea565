import { LineCounter, parseAllDocuments } from 'yaml';
import { serviceAccountUser } from '../admission/identity.js';
import { decodeReview, type DecodedReview } from '../admission/review.js';
import type { UserInfo } from '../admission/request.js';
import { isObject } from '../k8s/json.js';
import type { Pod } from '../k8s/pod.js';
import { yamlErrorText } from '../util/yamlErrors.js';

/**
 * What `dry-run` and `audit` read from files: Pods, AdmissionReviews, Lists of them (`kubectl get
 * pods -o yaml`), and the pod templates inside workload objects, from multi-document YAML or JSON.
 * Pure: the commands read the files and hand the text in.
 */

export interface Where {
  readonly file: string;
  /** 1-based document number in the file (items of a List share their document's number). */
  readonly doc: number;
}

/** `file#doc`, as shown in reports (just `file` for what concerns the whole file). */
export function whereText(w: Where): string {
  return w.doc > 0 ? `${w.file}#${w.doc}` : w.file;
}

export interface PodInput {
  readonly type: 'pod';
  readonly where: Where;
  /** What the pod came from, e.g. `Pod`, `Deployment/train`, `PyTorchJob/bert (Worker)`. */
  readonly origin: string;
  readonly pod: Pod;
  /** The identity that creates such pods in a cluster (the workload's controller), if known. */
  readonly creator?: UserInfo;
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
}

/** Controllers that create the pods of each workload kind (kube-controller-manager and Kubeflow defaults). */
const CREATORS: Readonly<Record<string, UserInfo>> = {
  Deployment: serviceAccountUser('kube-system', 'replicaset-controller'),
  ReplicaSet: serviceAccountUser('kube-system', 'replicaset-controller'),
  StatefulSet: serviceAccountUser('kube-system', 'statefulset-controller'),
  DaemonSet: serviceAccountUser('kube-system', 'daemon-set-controller'),
  Job: serviceAccountUser('kube-system', 'job-controller'),
  CronJob: serviceAccountUser('kube-system', 'job-controller'),
  PyTorchJob: serviceAccountUser('kubeflow', 'training-operator'),
  TFJob: serviceAccountUser('kubeflow', 'training-operator'),
  XGBoostJob: serviceAccountUser('kubeflow', 'training-operator'),
  PaddleJob: serviceAccountUser('kubeflow', 'training-operator'),
  MPIJob: serviceAccountUser('mpi-operator', 'mpi-operator'),
};

const TEMPLATE_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']);

interface Template {
  readonly suffix: string;
  readonly role?: string;
  readonly template: unknown;
}

/** The pod templates of a workload, or undefined when the kind holds none. */
function templatesOf(kind: string, spec: Record<string, unknown>): Template[] | undefined {
  if (TEMPLATE_KINDS.has(kind)) return [{ suffix: kind === 'StatefulSet' ? '-0' : '', template: spec.template }];
  if (kind === 'CronJob') {
    const job = isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) ? spec.jobTemplate.spec : {};
    return [{ suffix: '', template: job.template }];
  }
  // Kubeflow jobs: spec.pytorchReplicaSpecs / tfReplicaSpecs / mpiReplicaSpecs / ..., role → {replicas, template}.
  const replicaSpecs = Object.entries(spec).filter(([k]) => k.endsWith('ReplicaSpecs'));
  if (replicaSpecs.length === 0) return undefined;
  return replicaSpecs.flatMap(([, roles]) =>
    isObject(roles)
      ? Object.entries(roles).map(([role, r]) => ({ suffix: `-${role.toLowerCase()}-0`, role, template: isObject(r) ? r.template : undefined }))
      : [],
  );
}

/** The Pod a controller would create from a template (the labels a Kubeflow operator adds included). */
function podFromTemplate(meta: Record<string, unknown>, t: Template, defaultNamespace: string): Pod | string {
  if (!isObject(t.template)) return 'has no pod template';
  const tmeta = isObject(t.template.metadata) ? t.template.metadata : {};
  if (!isObject(t.template.spec)) return 'has a pod template without spec';
  const name = typeof meta.name === 'string' ? meta.name : 'unnamed';
  const kubeflow = t.role !== undefined;
  const labels = {
    ...(isObject(tmeta.labels) ? tmeta.labels : {}),
    ...(kubeflow ? { 'training.kubeflow.org/job-name': name, 'training.kubeflow.org/replica-type': t.role!.toLowerCase() } : {}),
  };
  // Controllers name pods by generateName (Deployments, Jobs) or ordinal (StatefulSets, Kubeflow).
  const naming = t.suffix === '' ? { generateName: `${name}-` } : { name: `${name}${t.suffix}` };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...tmeta, ...naming, namespace: typeof meta.namespace === 'string' ? meta.namespace : defaultNamespace, labels },
    spec: t.template.spec,
  } as unknown as Pod;
}

function collect(doc: unknown, where: Where, defaultNamespace: string, out: Inputs): void {
  if (!isObject(doc)) {
    if (doc !== null && doc !== undefined) out.problems.push({ where, message: 'document is not an object' });
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
      const pod = { ...doc, metadata: { ...meta, namespace: typeof meta.namespace === 'string' ? meta.namespace : defaultNamespace } } as Pod;
      out.inputs.push({ type: 'pod', where, origin: 'Pod', pod });
    }
    return;
  }
  if (kind === 'Node' && typeof meta.name === 'string' && meta.name !== '') {
    const labels = isObject(meta.labels) ? meta.labels : {};
    out.nodes.set(meta.name, Object.fromEntries(Object.entries(labels).filter(([, v]) => typeof v === 'string')) as Record<string, string>);
    return;
  }
  if (kind === 'List' || kind.endsWith('List')) {
    if (!Array.isArray(doc.items)) out.problems.push({ where, message: `${kind} has no items list` });
    else for (const item of doc.items) collect(item, where, defaultNamespace, out);
    return;
  }
  const templates = isObject(doc.spec) ? templatesOf(kind, doc.spec) : undefined;
  if (templates === undefined) {
    out.skipped.push({ where, what: label });
    return;
  }
  if (templates.length === 0) out.problems.push({ where, message: `${label} has no replica specs` });
  for (const t of templates) {
    const pod = podFromTemplate(meta, t, defaultNamespace);
    const origin = t.role ? `${label} (${t.role})` : label;
    if (typeof pod === 'string') out.problems.push({ where, message: `${origin} ${pod}` });
    else out.inputs.push({ type: 'pod', where, origin, pod, ...(CREATORS[kind] ? { creator: CREATORS[kind] } : {}) });
  }
}

/** Reads every document of every file; never throws (problems are returned). */
export function readInputs(files: readonly { readonly file: string; readonly text: string }[], opts: { readonly namespace: string }): Inputs {
  const out: Inputs = { inputs: [], problems: [], skipped: [], nodes: new Map() };
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
      collect(d.toJS({ maxAliasCount: 100 }), where, opts.namespace, out);
    });
  }
  return out;
}
