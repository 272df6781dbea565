import { serviceAccountOf } from '../../admission/identity.js';
import type { UserInfo } from '../../admission/request.js';
import { ValidatingRuleId, type IdentityClaims } from '../../policy/types.js';
import { listOf, Needs, type ValidatingRule } from '../rule.js';
import { trustedCreation } from '../trust.js';
import { WORKLOAD_KINDS } from '../../policy/workloadKinds.js';

/** True when the claims name nobody, i.e. anyone may use the compute. */
export function claimsAreOpen(c: IdentityClaims): boolean {
  return c.users.length === 0 && c.groups.length === 0 && c.serviceAccounts.length === 0 && Object.keys(c.extra).length === 0;
}

/** Does the requester match any one identity claim (user, group, service account or extra value)? */
export function satisfiesClaims(user: UserInfo, c: IdentityClaims): boolean {
  if (c.users.includes(user.username)) return true;
  if (user.groups.some((g) => c.groups.includes(g))) return true;
  const sa = serviceAccountOf(user.username);
  if (sa && c.serviceAccounts.some((claim) => claim === `${sa.ns}/${sa.name}` || claim === `${sa.ns}/*`)) return true;
  return Object.entries(c.extra).some(([key, accepted]) => (Object.hasOwn(user.extra, key) ? user.extra[key]! : []).some((v) => accepted.includes(v)));
}

/**
 * Who may create pods for a compute: the requester must satisfy the compute's identity claims,
 * and the pod's namespace must be one of the compute's namespaces. The namespace is checked here
 * (not in resource-claims) because it is part of "who": namespaces are the tenant boundary.
 * With no known requester (existing pods) only the namespace is judged, and so it is for a pod
 * a trusted controller creates for its owner (trust.ts): the owner's submitter was judged.
 */
export const identityClaims: ValidatingRule = {
  id: ValidatingRuleId.IdentityClaims,
  needs: Needs.KnownCompute,
  run({ requester, aml, namespace, policy, request, snapshot }) {
    const { compute, computeName } = aml!;
    const findings: string[] = [];
    if (compute!.namespaces.length > 0 && !compute!.namespaces.includes(namespace)) {
      findings.push(`namespace ${namespace || '(none)'} may not use compute ${computeName} (allowed: ${listOf(compute!.namespaces)})`);
    }
    const claims = compute!.claims.identity;
    if (
      requester !== undefined &&
      !claimsAreOpen(claims) &&
      !satisfiesClaims(requester, claims) &&
      trustedCreation(policy.trustedControllers, snapshot.get(WORKLOAD_KINDS), request) === undefined
    ) {
      findings.push(`${requester.username || 'anonymous requester'} is not allowed to create pods for compute ${computeName}`);
    }
    return findings;
  },
};
