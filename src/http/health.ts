/**
 * Readiness as a set of named conditions (policy loaded, certificates loaded, caches synced,
 * not draining). /readyz answers 200 only when every registered condition holds.
 */
export class Readiness {
  private readonly conditions = new Map<string, boolean>();

  /** Registers (or updates) a condition. */
  set(name: string, ok: boolean): void {
    this.conditions.set(name, ok);
  }

  get ready(): boolean {
    for (const ok of this.conditions.values()) if (!ok) return false;
    return true;
  }

  /** True unless `name` is registered and does not hold. */
  holds(name: string): boolean {
    return this.conditions.get(name) !== false;
  }

  /** The conditions not yet satisfied, for the /readyz body and logs. */
  pending(): string[] {
    return [...this.conditions].filter(([, ok]) => !ok).map(([name]) => name);
  }
}

export const Condition = {
  Certificates: 'certificates',
  NotDraining: 'not-draining',
  /** The policy ConfigMap's policy is in force (src/kube/cluster.ts). */
  PolicyConfigMap: 'policy-configmap',
  /** The node (and pod) caches have their first full list. */
  Informers: 'informers',
  /** The cluster's AML InstanceType objects are listed (or known not to be installed). */
  InstanceTypes: 'instance-types',
  /** The labelled PersistentVolumeClaims are listed. */
  VolumeClaims: 'volume-claims',
  /** The validating webhook configuration is listed (present or not): which policy workload kinds are registered. */
  WebhookRegistration: 'webhook-registration',
} as const;
