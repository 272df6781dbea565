import { formatTaint, tolerates } from '../../k8s/tolerations.js';
import { ValidatingRuleId } from '../../policy/types.js';
import { ownTolerations, reservedPools as reserved } from '../grants.js';
import { Needs, skip, type ValidatingRule } from '../rule.js';

/**
 * Only AML pods of the owning compute may target or tolerate a reserved pool. "Target" means a
 * nodeSelector or `In` requirement names the pool's label value; "tolerate" means a toleration
 * the pod brought itself covers one of the pool's own taints (see grants.ts reservationTaints).
 */
export const reservedPools: ValidatingRule = {
  id: ValidatingRuleId.ReservedPools,
  needs: Needs.Pod,
  run(s) {
    const all = s.snapshot.get(reserved);
    if (!all.any) return skip('the policy has no reserved pools');
    const { aml } = s;
    const kept = all.keptFrom(aml?.compute ? aml.computeName : undefined);
    if (kept.pools.length === 0) return [];
    const who = aml === undefined ? 'a non-AML pod' : `a pod of compute ${aml.computeName}`;
    const targeted = new Set(s.snapshot.placements.fit(s.pod, kept.labels).conjuncts.flatMap((c) => c.named));
    const own = ownTolerations(s);
    const findings: string[] = [];
    for (const r of kept.pools) {
      const pool = `reserved pool ${r.poolName} of compute ${r.computeName}`;
      if (targeted.has(r.key)) findings.push(`${who} may not target ${pool}`);
      const taint = r.taints.find((t) => own.some((tol) => tolerates(tol, t)));
      if (taint) findings.push(`${who} may not tolerate ${formatTaint(taint)} of ${pool}`);
    }
    return findings;
  },
};
