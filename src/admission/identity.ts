import type { UserInfo } from './request.js';

/**
 * Kubernetes identities as the API server builds them: service account usernames and groups, and
 * the user an impersonated request (`kubectl --as/--as-group`) carries. One place for these facts,
 * read by the dry-run CLI (requesters, controller identities) and the identity-claims rule.
 */

export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS = 'system:anonymous';
const SA_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:NS:NAME` → {ns, name}; undefined for other usernames (apiserver SplitUsername). */
export function serviceAccountOf(username: string): { ns: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { ns: parts[0]!, name: parts[1]! };
}

/** The groups the API server gives every service account of a namespace. */
export function serviceAccountGroups(ns: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${ns}`];
}

/** A service account as its token authenticates it. */
export function serviceAccountUser(ns: string, name: string): UserInfo {
  return { username: `${SA_PREFIX}${ns}:${name}`, groups: [...serviceAccountGroups(ns), AUTHENTICATED], extra: {} };
}

/**
 * The user the API server's impersonation filter makes of `Impersonate-User` and
 * `Impersonate-Group`: a service account given no groups gets its fixed ones, and every user but
 * `system:anonymous` gets `system:authenticated` unless the groups hold it or
 * `system:unauthenticated` already.
 */
export function impersonatedUser(username: string, groups: readonly string[]): UserInfo {
  const sa = serviceAccountOf(username);
  const base = groups.length === 0 && sa ? serviceAccountGroups(sa.ns) : [...groups];
  const addAuthenticated = username !== ANONYMOUS && !base.includes(AUTHENTICATED) && !base.includes(UNAUTHENTICATED);
  return { username, groups: addAuthenticated ? [...base, AUTHENTICATED] : base, extra: {} };
}
