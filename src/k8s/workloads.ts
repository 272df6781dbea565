import { serviceAccountUser } from '../admission/identity.js';
import type { UserInfo } from '../admission/request.js';
import { isObject } from './json.js';
import type { Pod } from './pod.js';

/**
 * Workload kinds and the pods their controllers create from them: where the pod templates sit,
 * which controller's identity creates the pods, and the names, labels and annotations the
 * controller gives them. Kinds are told apart by API group as well as kind (a Volcano `Job` is not
 * a batch/v1 Job). Pure: the one table both dry-run and the webhooks read.
 */

const REPLICASET_CONTROLLER = serviceAccountUser('kube-system', 'replicaset-controller');
const JOB_CONTROLLER = serviceAccountUser('kube-system', 'job-controller');
const TRAINING_OPERATOR = serviceAccountUser('kubeflow', 'training-operator');
const MPI_OPERATOR = serviceAccountUser('mpi-operator', 'mpi-operator');
const VOLCANO_CONTROLLERS = serviceAccountUser('volcano-system', 'volcano-controllers');

/** One pod template of a workload, as its controller turns it into pods. */
export interface TemplateSite {
  /** Where the template sits, e.g. `spec.pytorchReplicaSpecs.Worker.template`. */
  readonly at: string;
  /** The replica type or task name, when the kind has several. */
  readonly role?: string;
  readonly template: unknown;
  /** Who creates the pods. */
  readonly creator: UserInfo;
  /** The first pod's name: `name`, or `generateName` for controllers that let the API server name it. */
  readonly naming: { readonly name: string } | { readonly generateName: string };
  /** Labels and annotations the controller adds to the template's. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** How many pods the spec asks for from this template, when it says (Kubeflow and Volcano default 1). */
  readonly replicas?: number;
}

/** A replica count as a spec writes it; `fallback` when absent or not a whole number. */
const countOf = (v: unknown, fallback?: number): number | undefined => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fallback);

const REPLICA_INDEX = 'training.kubeflow.org/replica-index';

/**
 * The site as pod `index` of its replicas: the name (`<job>-worker-3`) and replica-index label its
 * controller gives that pod. Sites whose pods the API server names (generateName) look alike
 * whatever the index. dry-run judges replica 0 for all: the others differ only in these two
 * fields, which no rule reads (a property test holds every rule to it).
 */
export function replicaOf(s: TemplateSite, index: number): TemplateSite {
  if (!('name' in s.naming)) return s;
  return {
    ...s,
    naming: { name: s.naming.name.replace(/-0$/, `-${index}`) },
    labels: REPLICA_INDEX in s.labels ? { ...s.labels, [REPLICA_INDEX]: String(index) } : s.labels,
  };
}

interface Workload {
  readonly name: string;
  readonly spec: Record<string, unknown>;
}

type Sites = (w: Workload) => TemplateSite[];

const obj = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
const site = (at: string, template: unknown, creator: UserInfo, naming: TemplateSite['naming'], extra: Partial<TemplateSite> = {}): TemplateSite => ({
  at,
  template,
  creator,
  naming,
  labels: {},
  annotations: {},
  ...extra,
});

const single =
  (creator: UserInfo, ordinal = false): Sites =>
  ({ name, spec }) => {
    const replicas = countOf(spec.replicas);
    return [
      site('spec.template', spec.template, creator, ordinal ? { name: `${name}-0` } : { generateName: `${name}-` }, replicas === undefined ? {} : { replicas }),
    ];
  };

/** The training operator's replica specs (`spec.<x>ReplicaSpecs.<Role>.template`) and its pod labels. */
function kubeflow(specsField: string, controller: string, creatorOf: (role: string) => UserInfo = () => TRAINING_OPERATOR): Sites {
  return ({ name, spec }) =>
    Object.entries(obj(spec[specsField])).map(([role, r]) => {
      const type = role.toLowerCase();
      // mpi-operator v2beta1 runs the launcher as a batch/v1 Job: the Job controller creates its pod.
      const launcherJob = creatorOf(role) === JOB_CONTROLLER;
      return site(
        `spec.${specsField}.${role}.template`,
        obj(r).template,
        creatorOf(role),
        launcherJob ? { generateName: `${name}-${type}-` } : { name: `${name}-${type}-0` },
        {
          role,
          replicas: countOf(obj(r).replicas, 1)!,
          labels: {
            'training.kubeflow.org/operator-name': controller,
            'training.kubeflow.org/job-name': name,
            'training.kubeflow.org/replica-type': type,
            ...(launcherJob ? {} : { [REPLICA_INDEX]: '0' }),
            ...(specsField === 'mpiReplicaSpecs' ? { 'training.kubeflow.org/job-role': type === 'launcher' ? 'launcher' : 'worker' } : {}),
          },
        },
      );
    });
}

/** Volcano's job controller: `spec.tasks[].template`, pods `<job>-<task>-<index>` in the job's PodGroup. */
function volcanoTasks(at: string, name: string, spec: Record<string, unknown>): TemplateSite[] {
  const tasks = Array.isArray(spec.tasks) ? spec.tasks : [];
  return tasks.map((t: unknown, i) => {
    const task = obj(t);
    const taskName = typeof task.name === 'string' && task.name !== '' ? task.name : `task${i}`;
    return site(
      `${at}.tasks[${i}].template`,
      task.template,
      VOLCANO_CONTROLLERS,
      { name: `${name}-${taskName}-0` },
      {
        role: taskName,
        replicas: countOf(task.replicas, 1)!,
        labels: { 'volcano.sh/job-name': name, 'volcano.sh/task-spec': taskName },
        // The job controller creates the job's PodGroup and names it on every pod.
        annotations: {
          'scheduling.k8s.io/group-name': name,
          'volcano.sh/task-spec': taskName,
          ...(typeof spec.queue === 'string' ? { 'volcano.sh/queue-name': spec.queue } : {}),
        },
      },
    );
  });
}

const mpiV2Creator = (role: string) => (role === 'Launcher' ? JOB_CONTROLLER : MPI_OPERATOR);

interface KindInfo {
  /** The plural resource name, as webhook rules name it. */
  readonly resource: string;
  readonly sites: Sites;
}

/** `group/kind` → the kind's resource and templates. MPIJob's depend on the version (below). */
const KINDS: Readonly<Record<string, KindInfo>> = {
  'apps/Deployment': { resource: 'deployments', sites: single(REPLICASET_CONTROLLER) },
  'apps/ReplicaSet': { resource: 'replicasets', sites: single(REPLICASET_CONTROLLER) },
  'apps/StatefulSet': { resource: 'statefulsets', sites: single(serviceAccountUser('kube-system', 'statefulset-controller'), true) },
  'apps/DaemonSet': { resource: 'daemonsets', sites: single(serviceAccountUser('kube-system', 'daemon-set-controller')) },
  'batch/Job': { resource: 'jobs', sites: single(JOB_CONTROLLER) },
  // The CronJob controller creates Jobs; their pods come from the Job controller.
  'batch/CronJob': {
    resource: 'cronjobs',
    sites: ({ name, spec }) => [site('spec.jobTemplate.spec.template', obj(obj(spec.jobTemplate).spec).template, JOB_CONTROLLER, { generateName: `${name}-` })],
  },
  'kubeflow.org/PyTorchJob': { resource: 'pytorchjobs', sites: kubeflow('pytorchReplicaSpecs', 'pytorchjob-controller') },
  'kubeflow.org/TFJob': { resource: 'tfjobs', sites: kubeflow('tfReplicaSpecs', 'tfjob-controller') },
  'kubeflow.org/XGBoostJob': { resource: 'xgboostjobs', sites: kubeflow('xgbReplicaSpecs', 'xgboostjob-controller') },
  'kubeflow.org/PaddleJob': { resource: 'paddlejobs', sites: kubeflow('paddleReplicaSpecs', 'paddlejob-controller') },
  'kubeflow.org/JAXJob': { resource: 'jaxjobs', sites: kubeflow('jaxReplicaSpecs', 'jaxjob-controller') },
  'kubeflow.org/MPIJob': { resource: 'mpijobs', sites: kubeflow('mpiReplicaSpecs', 'mpijob-controller') },
  'batch.volcano.sh/Job': { resource: 'jobs', sites: ({ name, spec }) => volcanoTasks('spec', name, spec) },
  'batch.volcano.sh/CronJob': { resource: 'cronjobs', sites: ({ name, spec }) => volcanoTasks('spec.jobTemplate.spec', name, obj(obj(spec.jobTemplate).spec)) },
};

/** kubeflow.org/v1 MPIJob is the training operator's; v2beta1 is mpi-operator's. */
const MPIJOB_V2: Sites = kubeflow('mpiReplicaSpecs', 'mpi-operator', mpiV2Creator);

function groupOf(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * A workload kind a policy adds (`workloads` in the policy: Ray, JobSet, LeaderWorkerSet...):
 * where its pod templates sit and which service account creates their pods.
 */
export interface CustomWorkload {
  readonly group: string;
  readonly kind: string;
  /** Its plural resource, as webhook rules name it. */
  readonly resource: string;
  /** Template paths: field names, `name[*]` for every item of a list, `*` for every key of a map. */
  readonly templates: readonly string[];
  /** `namespace/name` of the controller's service account that creates the pods. */
  readonly creator: string;
}

/** A template path: `spec.` then field names, `name[*]` (each list item) or `*` (each map value). */
export const TEMPLATE_PATH_PATTERN = '^spec(\\.([A-Za-z0-9_]+(\\[\\*\\])?|\\*))+$';

/** Every value at `path` in `{ spec }`, each with its concrete path (`spec.workerGroupSpecs[1].template`) and the keys `*` took. */
export function valuesAt(spec: unknown, path: string): { at: string; keys: string[]; value: unknown }[] {
  let found: { at: string; keys: string[]; value: unknown }[] = [{ at: 'spec', keys: [], value: spec }];
  for (const segment of path.split('.').slice(1)) {
    const next: typeof found = [];
    for (const { at, keys, value } of found) {
      if (segment === '*') {
        for (const [k, v] of Object.entries(obj(value))) next.push({ at: `${at}.${k}`, keys: [...keys, k], value: v });
      } else if (segment.endsWith('[*]')) {
        const field = segment.slice(0, -3);
        const list = obj(value)[field];
        if (Array.isArray(list)) list.forEach((v, i) => next.push({ at: `${at}.${field}[${i}]`, keys: [...keys, String(i)], value: v }));
      } else if (Object.hasOwn(obj(value), segment)) next.push({ at: `${at}.${segment}`, keys, value: obj(value)[segment] });
    }
    found = next;
  }
  return found;
}

/** A policy workload's sites: each template found at its paths, pods named by the API server (generateName). */
function customSites(w: CustomWorkload): Sites {
  const [namespace = '', name = ''] = w.creator.split('/');
  const creator = serviceAccountUser(namespace, name);
  return ({ name: workload, spec }) =>
    w.templates.flatMap((path) =>
      valuesAt(spec, path).map(({ at, keys, value }) =>
        site(at, value, creator, { generateName: `${workload}-` }, keys.length > 0 ? { role: keys.join('/') } : {}),
      ),
    );
}

/** Whether the validating webhook's registered rules name a group's resource. */
export type RegisteredResources = (group: string, resource: string) => boolean;
/** Offline (dry-run, audit): judged as init would register the policy. */
export const ALL_REGISTERED: RegisteredResources = () => true;

type WorkloadResource = { readonly group: string; readonly kind: string; readonly resource: string };

/**
 * The workload kinds one policy judges: the built-in ones (KINDS) and the policy's own
 * (`workloads`). One per policy snapshot (policy/snapshot.ts WORKLOAD_KINDS).
 */
export class WorkloadKinds {
  private readonly custom: ReadonlyMap<string, { readonly info: KindInfo; readonly workload: CustomWorkload }>;
  /** The policy's own kinds, as the validating webhook's rules must name them (init registers them). */
  readonly customResources: readonly WorkloadResource[];

  constructor(
    custom: readonly CustomWorkload[],
    /** Which resources the registered validating webhook names (offline: all, as init registers them). */
    private readonly registered: RegisteredResources = ALL_REGISTERED,
  ) {
    this.custom = new Map(custom.map((w) => [`${w.group}/${w.kind}`, { info: { resource: w.resource, sites: customSites(w) }, workload: w }]));
    this.customResources = custom.map(({ group, kind, resource }) => ({ group, kind, resource }));
  }

  /** The template sites of a workload object, or undefined when its kind holds no pod template we know. */
  sites(apiVersion: string, kind: string, name: string, spec: Record<string, unknown>): TemplateSite[] | undefined {
    const { group, version } = groupOf(apiVersion);
    if (group === 'kubeflow.org' && kind === 'MPIJob' && version === 'v2beta1') return MPIJOB_V2({ name, spec });
    return (KINDS[`${group}/${kind}`] ?? this.custom.get(`${group}/${kind}`)?.info)?.sites({ name, spec });
  }

  /**
   * Is `apiVersion`/`kind` (e.g. of an owner reference) a workload kind the validating webhook
   * judges? A policy's own kind counts only when the webhook's registered rules name it:
   * until init has registered it, its objects were never judged, and trusting its controller's
   * pods would let them skip the identity claims nobody checked.
   */
  judges(apiVersion: string, kind: string): boolean {
    const key = `${groupOf(apiVersion).group}/${kind}`;
    if (Object.hasOwn(KINDS, key)) return true;
    const custom = this.custom.get(key);
    return custom !== undefined && this.registered(custom.workload.group, custom.workload.resource);
  }

  /** Is this one of the policy's own kinds (the validating webhook judges it when its rules send it)? */
  isCustom(group: string, kind: string): boolean {
    return this.custom.has(`${group}/${kind}`);
  }
}

/** The built-in kinds only (no policy workloads). */
export const BUILTIN_WORKLOAD_KINDS = new WorkloadKinds([]);

/** The built-in workload kinds the validating webhook judges, as webhook-config/ and `inScope` name them. */
export const WORKLOAD_RESOURCES: readonly WorkloadResource[] = Object.entries(KINDS).map(([key, info]) => ({
  group: key.slice(0, key.indexOf('/')),
  kind: key.slice(key.indexOf('/') + 1),
  resource: info.resource,
}));

/** The Pod a controller would create from a template site; a string says why there is none. */
export function podFromSite(s: TemplateSite, namespace: string): Pod | string {
  if (!isObject(s.template)) return 'has no pod template';
  if (!isObject(s.template.spec)) return 'has a pod template without spec';
  // A template's own name is not the pod's: the controller names it.
  const { name: _name, generateName: _generateName, ...meta } = obj(s.template.metadata);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      ...s.naming,
      namespace,
      labels: { ...obj(meta.labels), ...s.labels },
      ...(Object.keys(s.annotations).length > 0 || isObject(meta.annotations) ? { annotations: { ...obj(meta.annotations), ...s.annotations } } : {}),
    },
    spec: s.template.spec,
  } as unknown as Pod;
}
