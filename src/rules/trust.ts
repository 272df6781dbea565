import type { AdmissionRequest } from '../admission/request.js';
import { isObject } from '../k8s/json.js';
import type { WorkloadKinds } from '../k8s/workloads.js';
import type { TrustedControllers } from '../policy/types.js';

const SA_PREFIX = 'system:serviceaccount:';

/** Is `username` one of the trusted controllers (a listed user, or `system:serviceaccount:NS:NAME` listed as `NS/NAME`)? */
export function isTrustedController(trusted: TrustedControllers, username: string): boolean {
  if (trusted.users.includes(username)) return true;
  if (!username.startsWith(SA_PREFIX)) return false;
  const [ns, name, ...rest] = username.slice(SA_PREFIX.length).split(':');
  return rest.length === 0 && name !== undefined && trusted.serviceAccounts.includes(`${ns}/${name}`);
}

/**
 * Whose identity the object stands for, when not the requester's: a trusted controller creating
 * it for a controlling owner of a kind the validating webhook judges (a ReplicaSet's pod, a
 * CronJob's Job). Then the owner's submitter was judged when the owner was admitted, and identity
 * claims are not judged again. Undefined otherwise: a pod that merely names an owner, created by
 * anyone else, is judged as its requester.
 */
export function trustedCreation(trusted: TrustedControllers, kinds: WorkloadKinds, request: AdmissionRequest): string | undefined {
  const { username } = request.userInfo;
  if (!isTrustedController(trusted, username)) return undefined;
  const meta = isObject(request.object) && isObject(request.object.metadata) ? request.object.metadata : {};
  const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  const owner = refs.find(
    (r: unknown) =>
      isObject(r) && r.controller === true && typeof r.apiVersion === 'string' && typeof r.kind === 'string' && kinds.judges(r.apiVersion, r.kind),
  ) as { kind: string; name?: unknown } | undefined;
  return owner ? `${owner.kind}/${typeof owner.name === 'string' ? owner.name : '?'}` : undefined;
}
