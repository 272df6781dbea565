import { compiled } from '../compiled.js';
import { podTolerations, tolerates } from '../scheduling.js';
import { ValidatingRuleId, type Taint } from '../types.js';
import { fitPlacement } from './placement.js';
import { finding, type Finding, type Subject, type ValidatingRule } from './rule.js';
import { grantedTolerations, ownTolerations } from './tolerations.js';

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
  skip: ({ policy }) => (compiled(policy).hasReservedPools ? undefined : 'the policy has no reserved pools'),
  check({ policy, pod, aml }: Subject): Finding[] {
    const owner = aml?.compute ? aml.computeName : undefined;
    const reserved = compiled(policy).reservedFor(owner);
    if (reserved.pools.length === 0) return [];
    const who = aml === undefined ? 'a non-AML pod' : `a pod of compute ${aml.computeName}`;
    const findings: Finding[] = [];

    const fit = fitPlacement(pod, reserved.labels);
    const targeted = new Set(fit.conjuncts.flatMap((c) => c.named));
    const own = ownTolerations(podTolerations(pod), grantedTolerations(policy, pod, aml));
    for (const r of reserved.pools) {
      const pool = `reserved pool ${r.poolName} of compute ${r.computeName}`;
      if (targeted.has(r.key)) findings.push(finding(id, `${who} may not target ${pool}`));
      const taint = r.taints.find((t) => own.some((tol) => tolerates(tol, t)));
      if (taint) findings.push(finding(id, `${who} may not tolerate ${taintText(taint)} of ${pool}`));
    }
    return findings;
  },
};
