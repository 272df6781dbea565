import { ApisApi, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { isObject } from '../k8s/json.js';
import { isNotFound, KubeError } from './errors.js';
import { listAllPages } from './pods.js';

/** A workload kind to list: its API group, kind and plural resource. */
export interface ListedKind {
  readonly group: string;
  readonly kind: string;
  readonly resource: string;
}

/**
 * The workloads of the given kinds in a namespace (or all), as `kubectl get -o json` shows them
 * (apiVersion and kind set on each item). Each kind is listed at the versions its group serves,
 * preferred first, until one serves it (mpi-operator's MPIJob is kubeflow.org/v2beta1 beside the
 * training operator's v1 kinds); a group or kind the cluster does not serve lists nothing. Objects
 * a judged kind controls (a Deployment's ReplicaSets, a CronJob's Jobs) are left out: their
 * templates are their owner's, judged with it.
 */
export async function listWorkloads(
  kc: KubeConfig,
  kinds: readonly ListedKind[],
  opts: { readonly namespace?: string; readonly pageSize: number },
): Promise<KubernetesObject[]> {
  const discovery = await kc
    .makeApiClient(ApisApi)
    .getAPIVersions()
    .catch((err: unknown) => {
      throw new KubeError('discover API groups', err);
    });
  const versions = new Map(
    discovery.groups.map((g) => [g.name, [g.preferredVersion?.version, ...g.versions.map((v) => v.version)].filter((v): v is string => !!v)]),
  );
  const custom = kc.makeApiClient(CustomObjectsApi);
  const judged = new Set(kinds.map((k) => `${k.group}/${k.kind}`));
  const out: KubernetesObject[] = [];
  for (const k of kinds) {
    for (const version of new Set(versions.get(k.group) ?? [])) {
      let items: unknown[];
      try {
        ({ items } = await listAllPages(async (token) => {
          const page = { group: k.group, version, plural: k.resource, limit: opts.pageSize, ...(token ? { _continue: token } : {}) };
          // Plain JSON, not a client-node model: the token is `metadata.continue`.
          const body = (await (opts.namespace === undefined
            ? custom.listClusterCustomObject(page)
            : custom.listNamespacedCustomObject({ ...page, namespace: opts.namespace }))) as { items: unknown[]; metadata?: { continue?: string } };
          return { items: body.items, metadata: { ...(body.metadata?.continue ? { _continue: body.metadata.continue } : {}) } };
        }));
      } catch (err) {
        if (isNotFound(err)) continue; // not served at this version
        throw new KubeError(`list ${k.resource}.${k.group}`, err);
      }
      for (const item of items)
        if (isObject(item) && !controlledByJudged(item, judged)) out.push({ ...item, apiVersion: `${k.group}/${version}`, kind: k.kind } as KubernetesObject);
      break;
    }
  }
  return out;
}

function controlledByJudged(item: Record<string, unknown>, judged: ReadonlySet<string>): boolean {
  const refs = isObject(item.metadata) && Array.isArray(item.metadata.ownerReferences) ? item.metadata.ownerReferences : [];
  return refs.some(
    (r: unknown) =>
      isObject(r) &&
      r.controller === true &&
      typeof r.apiVersion === 'string' &&
      judged.has(`${r.apiVersion.includes('/') ? r.apiVersion.slice(0, r.apiVersion.indexOf('/')) : ''}/${String(r.kind)}`),
  );
}
