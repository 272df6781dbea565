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

  /** The conditions not yet satisfied, for the /readyz body and logs. */
  pending(): string[] {
    return [...this.conditions].filter(([, ok]) => !ok).map(([name]) => name);
  }
}

export const Condition = {
  Certificates: 'certificates',
  NotDraining: 'not-draining',
} as const;
