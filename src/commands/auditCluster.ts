import type { Command } from 'commander';
import { KubeConfigError, KubeError } from '../kube/errors.js';
import { listPods } from '../kube/pods.js';
import { intArg } from './args.js';
import type { Inputs } from './inputs.js';

/** `audit` reading pods from a cluster instead of files (the options added to the command). */
export interface ClusterAuditOptions {
  readonly filename?: string[];
  readonly kubeconfig?: string;
  readonly allNamespaces?: boolean;
  readonly namespace: string;
  /** Pods per list request (default 500). */
  readonly pageSize?: number;
}

/** Adds the cluster source to `audit`; `-f` becomes optional (no files means: read the cluster). */
export function addClusterAuditOptions(cmd: Command): Command {
  cmd.options.find((opt) => opt.long === '--filename')?.makeOptionMandatory(false);
  return cmd
    .option('--kubeconfig <file>', 'read pods from this cluster (without -f the default kubeconfig or in-cluster account is used)')
    .option('-A, --all-namespaces', 'read pods of every namespace (else the -n namespace)')
    .option('--page-size <n>', 'pods per list request', intArg('--page-size', 1, 5000), 500);
}

/** The cluster when asked (--kubeconfig, -A) or when no -f was given; otherwise the files. */
export function readsCluster(o: ClusterAuditOptions): boolean {
  return o.kubeconfig !== undefined || o.allNamespaces === true || o.filename === undefined;
}

/**
 * The pods of a namespace (or all) as audit inputs, listed in pages. A failure to list (no
 * kubeconfig, RBAC, unreachable API server) is thrown as a KubeError or KubeConfigError, so
 * `audit` exits Cluster rather than reporting no violations among pods it could not look at.
 */
export async function clusterInputs(o: ClusterAuditOptions): Promise<Inputs> {
  const source = o.allNamespaces ? 'cluster (all namespaces)' : `cluster (namespace ${o.namespace})`;
  const out: Inputs = { inputs: [], problems: [], skipped: [], nodes: new Map() };
  const { kubeClients, loadKubeConfig } = await import('../kube/client.js'); // client-node only when connecting
  const { core } = kubeClients(loadKubeConfig(o.kubeconfig));
  let items: Awaited<ReturnType<typeof listPods>>['items'];
  try {
    ({ items } = await listPods(core, { pageSize: o.pageSize ?? 500, ...(o.allNamespaces ? {} : { namespace: o.namespace }) }));
  } catch (err) {
    throw err instanceof KubeError || err instanceof KubeConfigError ? err : new KubeError('list pods', err);
  }
  items.forEach((pod, i) => {
    // Plain JSON, as `kubectl get pods -o json` shows it (client-node hands back model objects).
    out.inputs.push({ type: 'pod', where: { file: source, doc: i + 1 }, origin: 'Pod', pod: JSON.parse(JSON.stringify(pod)) as typeof pod });
  });
  return out;
}
