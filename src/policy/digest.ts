import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { Policy } from './types.js';

const digests = new WeakMap<Policy, string>();

/**
 * The sha256 (hex) of the policy as loaded, over its JSON with keys sorted: replicas serving the
 * same policy report the same digest however its YAML was laid out (comments, key order), and
 * the loader fills defaults in first, so a default spelled out or left implicit hashes the same.
 * Memoized per loaded object, so a scrape never re-hashes an unchanged policy.
 */
export function policyDigest(policy: Policy): string {
  let digest = digests.get(policy);
  if (digest === undefined) digests.set(policy, (digest = createHash('sha256').update(stringify(policy)!).digest('hex')));
  return digest;
}
