import type { Command } from 'commander';
import { DEFAULT_POLICY_CONFIGMAP, DEFAULT_POLICY_KEY, type ConfigMapRef } from '../kube/configMapRef.js';
import { isNotFound, KubeConfigError, KubeError } from '../kube/errors.js';
import { listPods } from '../kube/pods.js';
import { formatErrors } from '../policy/loader.js';
import type { Policy } from '../policy/types.js';
import { intArg } from './args.js';
import { ExitCode } from './exitCodes.js';
import { collect, noInputs, type Inputs } from './inputs.js';
import { WORKLOAD_RESOURCES, type WorkloadKinds } from '../k8s/workloads.js';
import { configMapArg } from './serveCluster.js';

/** `audit` reading pods from a cluster instead of files (the options added to the command). */
export interface ClusterAuditOptions {
  readonly filename?: string[];
  readonly kubeconfig?: string;
  readonly allNamespaces?: boolean;
  readonly namespace: string;
  /** Pods per list request (default 500). */
  readonly pageSize?: number;
  /** The policy the cluster enforces, read when no --policy file is given. */
  readonly policyConfigmap?: ConfigMapRef;
  readonly policyKey?: string;
}

/** Adds the cluster source to `audit`; `-f` becomes optional (no files means: read the cluster). */
export function addClusterAuditOptions(cmd: Command): Command {
  cmd.options.find((opt) => opt.long === '--filename')?.makeOptionMandatory(false);
  return cmd
    .option('--kubeconfig <file>', 'read pods from this cluster (without -f the default kubeconfig or in-cluster account is used)')
    .option('-A, --all-namespaces', 'read pods of every namespace (else the -n namespace)')
    .option('--page-size <n>', 'pods per list request', intArg('--page-size', 1, 5000), 500)
    .option(
      '--policy-configmap <ns/name>',
      `reading a cluster without --policy: judge by the policy in this ConfigMap, the one the webhooks enforce (default: ${DEFAULT_POLICY_CONFIGMAP})`,
      configMapArg,
    )
    .option('--policy-key <key>', 'data key of the policy in --policy-configmap', DEFAULT_POLICY_KEY);
}

/** The cluster when asked (--kubeconfig, -A) or when no -f was given; otherwise the files. */
export function readsCluster(o: ClusterAuditOptions): boolean {
  return o.kubeconfig !== undefined || o.allNamespaces === true || o.filename === undefined;
}

/**
 * The pods of a namespace (or all) as audit inputs, listed in pages, with the cluster's InstanceType
 * objects (none without their CRD). A failure to list (no kubeconfig, RBAC, unreachable API server)
 * is thrown as a KubeError or KubeConfigError, so `audit` exits Cluster rather than reporting no
 * violations among pods it could not look at.
 */
export async function clusterInputs(o: ClusterAuditOptions, kinds: WorkloadKinds): Promise<Inputs> {
  const source = o.allNamespaces ? 'cluster (all namespaces)' : `cluster (namespace ${o.namespace})`;
  const out = noInputs();
  const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
  const kc = loadKubeConfig(o.kubeconfig);
  const { core } = kubeClients(kc);
  let items: Awaited<ReturnType<typeof listPods>>['items'];
  try {
    ({ items } = await listPods(core, { pageSize: o.pageSize ?? 500, ...(o.allNamespaces ? {} : { namespace: o.namespace }) }));
    // The pods were admitted with the cluster's InstanceType objects as instance types: judge them so too.
    const { listInstanceTypes } = await import('../kube/instanceTypes.js');
    (await listInstanceTypes(kc)).forEach((object, i) => out.instanceTypes.push({ where: { file: 'cluster (instancetypes)', doc: i + 1 }, object }));
    // The workloads too: a template the policy now refuses fails its next pod, though no pod of it exists yet.
    const { listWorkloads } = await import('../kube/workloads.js');
    const workloads = await listWorkloads(kc, [...WORKLOAD_RESOURCES, ...kinds.customResources], {
      pageSize: o.pageSize ?? 500,
      ...(o.allNamespaces ? {} : { namespace: o.namespace }),
    });
    const ctx = { namespace: o.namespace, kinds };
    workloads.forEach((w, i) => collect(w, { file: source.replace('cluster', 'cluster workloads'), doc: i + 1 }, ctx, out));
  } catch (err) {
    throw err instanceof KubeError || err instanceof KubeConfigError ? err : new KubeError('list pods', err);
  }
  items.forEach((pod, i) => {
    // Plain JSON, as `kubectl get pods -o json` shows it (client-node hands back model objects).
    out.inputs.push({ type: 'pod', where: { file: source, doc: i + 1 }, origin: 'Pod', pod: JSON.parse(JSON.stringify(pod)) as typeof pod });
  });
  return out;
}

/**
 * The policy the webhooks of the cluster enforce: its ConfigMap, read once. Missing or unreadable
 * is a cluster error, invalid an invalid policy; never a silent fall-back to the built-in policy,
 * which describes example computes: judging real pods by it would report violations that are not there.
 */
export async function clusterPolicy(o: Pick<ClusterAuditOptions, 'kubeconfig' | 'policyConfigmap' | 'policyKey'>): Promise<ClusterPolicy> {
  const ref = o.policyConfigmap ?? configMapArg(DEFAULT_POLICY_CONFIGMAP);
  const key = o.policyKey ?? DEFAULT_POLICY_KEY;
  const source = `ConfigMap ${ref.namespace}/${ref.name} (key ${key})`;
  const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
  const { readConfigMapPolicy } = await import('../kube/policyConfigMap.js');
  let cm;
  try {
    cm = await kubeClients(loadKubeConfig(o.kubeconfig)).core.readNamespacedConfigMap({ namespace: ref.namespace, name: ref.name });
  } catch (err) {
    if (isNotFound(err))
      return {
        ok: false,
        code: ExitCode.Cluster,
        notFound: true,
        message: `policy ${source} not found; name the policy with --policy-configmap NS/NAME or --policy FILE`,
      };
    const error = err instanceof KubeConfigError ? err : new KubeError(`read ConfigMap ${ref.namespace}/${ref.name}`, err);
    return { ok: false, code: ExitCode.Cluster, error, message: `cannot read the policy: ${error.message}` };
  }
  const { loaded } = readConfigMapPolicy(cm, key);
  if (!loaded.ok) return { ok: false, code: ExitCode.InvalidPolicy, message: `policy ${source} is invalid:\n${formatErrors(loaded.errors)}` };
  return { ok: true, policy: loaded.policy, source };
}

export type ClusterPolicy =
  | { readonly ok: true; readonly policy: Policy; readonly source: string }
  | {
      readonly ok: false;
      readonly code: ExitCode;
      readonly message: string;
      /** The ConfigMap does not exist. */
      readonly notFound?: true;
      /** Why it could not be read, when the cluster refused or failed. */
      readonly error?: KubeError | KubeConfigError;
    };
