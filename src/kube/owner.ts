import type { RbacAuthorizationV1Api, V1OwnerReference } from '@kubernetes/client-node';
import { isNotFound, KubeError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';

/**
 * The owner the webhook configurations are registered under: a cluster-scoped object of the install
 * (deploy/'s init ClusterRole). Deleting the install deletes it, and the garbage collector then
 * deletes the configurations, so an uninstall never leaves a fail-closed webhook that nobody
 * answers (which would refuse every pod in the cluster). Undefined when it does not exist.
 */
export async function clusterRoleOwner(rbac: RbacAuthorizationV1Api, name: string, retry: RetryOptions): Promise<V1OwnerReference | undefined> {
  const role = await withRetry(() => rbac.readClusterRole({ name }), retry).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw new KubeError(`read ClusterRole ${name}`, err);
  });
  if (role?.metadata?.uid === undefined) return undefined;
  // Not blockOwnerDeletion: setting it needs delete rights on the owner, and nothing must wait for it.
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name, uid: role.metadata.uid };
}
