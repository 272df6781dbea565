import { podTolerations, tolerates } from '../scheduling.js';
import { ValidatingRuleId, type Taint } from '../types.js';
import { fitPlacement } from './placement.js';
import { finding, type Finding, type Subject, type ValidatingRule } from './rule.js';
import { grantedTolerations, ownTolerations, reservationTaints } from './tolerations.js';

const id = ValidatingRuleId.ReservedPools;

function taintText(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

/**
 * Only AML pods of the owning compute may target or tolerate a reserved pool. "Target" means a
 * nodeSelector or `In` requirement names the pool's label value; "tolerate" means a toleration
 * the pod brought itself covers one of the pool's own taints (see reservationTaints).
 */
export const reservedPools: ValidatingRule = {
  id,
  skip: ({ policy }) => (Object.values(policy.computes).some((c) => Object.values(c.nodePools).some((p) => p.reserved)) ? undefined : 'the policy has no reserved pools'),
  check({ policy, pod, aml }: Subject): Finding[] {
    const owner = aml?.compute ? aml.computeName : undefined;
    const reserved = Object.entries(policy.computes).flatMap(([computeName, c]) =>
      computeName === owner ? [] : Object.entries(c.nodePools).filter(([, p]) => p.reserved).map(([poolName, pool]) => ({ computeName, poolName, pool })),
    );
    if (reserved.length === 0) return [];
    const who = aml === undefined ? 'a non-AML pod' : `a pod of compute ${aml.computeName}`;
    const findings: Finding[] = [];

    const keyOf = (r: (typeof reserved)[number]) => `${r.computeName}/${r.poolName}`;
    const fit = fitPlacement(pod, Object.fromEntries(reserved.map((r) => [keyOf(r), r.pool.labels])));
    const targeted = new Set(fit.conjuncts.flatMap((c) => c.named));
    const own = ownTolerations(podTolerations(pod), grantedTolerations(policy, pod, aml));
    for (const r of reserved) {
      const pool = `reserved pool ${r.poolName} of compute ${r.computeName}`;
      if (targeted.has(keyOf(r))) findings.push(finding(id, `${who} may not target ${pool}`));
      const taint = reservationTaints(policy, r.computeName, r.pool).find((t) => own.some((tol) => tolerates(tol, t)));
      if (taint) findings.push(finding(id, `${who} may not tolerate ${taintText(taint)} of ${pool}`));
    }
    return findings;
  },
};
