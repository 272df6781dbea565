import type { Policy } from './types.js';

export type PolicySourceKind = 'builtin' | 'file' | 'configmap';

/**
 * Holds the policy in force. Loaders (file poller, ConfigMap watch) call `replace` only with a
 * policy that passed validation, so readers always see the last good policy.
 */
export class PolicyStore {
  private policy: Policy;
  private sourceKind: PolicySourceKind;
  private gen = 1;
  private readonly listeners: ((p: Policy) => void)[] = [];

  constructor(initial: Policy, source: PolicySourceKind) {
    this.policy = initial;
    this.sourceKind = source;
  }

  current(): Policy {
    return this.policy;
  }

  get source(): PolicySourceKind {
    return this.sourceKind;
  }

  /** Increments on every replace; lets caches keyed on the policy notice a change cheaply. */
  get generation(): number {
    return this.gen;
  }

  replace(policy: Policy, source: PolicySourceKind): void {
    this.policy = policy;
    this.sourceKind = source;
    this.gen += 1;
    for (const l of this.listeners) l(policy);
  }

  onChange(listener: (p: Policy) => void): void {
    this.listeners.push(listener);
  }
}
