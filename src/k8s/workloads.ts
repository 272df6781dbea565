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
  ({ name, spec }) => [site('spec.template', spec.template, creator, ordinal ? { name: `${name}-0` } : { generateName: `${name}-` })];

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
          labels: {
            'training.kubeflow.org/operator-name': controller,
            'training.kubeflow.org/job-name': name,
            'training.kubeflow.org/replica-type': type,
            ...(launcherJob ? {} : { 'training.kubeflow.org/replica-index': '0' }),
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

/** The workload kinds the validating webhook judges, as webhook rules and `inScope` name them. */
export const WORKLOAD_RESOURCES: readonly { readonly group: string; readonly kind: string; readonly resource: string }[] = Object.entries(KINDS).map(
  ([key, info]) => ({ group: key.slice(0, key.indexOf('/')), kind: key.slice(key.indexOf('/') + 1), resource: info.resource }),
);

/** Is `apiVersion`/`kind` (e.g. of an owner reference) a workload kind the webhook judges? */
export function isWorkloadKind(apiVersion: string, kind: string): boolean {
  return Object.hasOwn(KINDS, `${groupOf(apiVersion).group}/${kind}`);
}

/** The template sites of a workload object, or undefined when its kind holds no pod template we know. */
export function templateSites(apiVersion: string, kind: string, name: string, spec: Record<string, unknown>): TemplateSite[] | undefined {
  const { group, version } = groupOf(apiVersion);
  const sites = group === 'kubeflow.org' && kind === 'MPIJob' && version === 'v2beta1' ? MPIJOB_V2 : KINDS[`${group}/${kind}`]?.sites;
  return sites?.({ name, spec });
}

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
