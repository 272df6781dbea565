import { formatTaint, tolerates } from '../../k8s/tolerations.js';
import { ValidatingRuleId } from '../../policy/types.js';
import { ownTolerations, reservedPools as reserved } from '../grants.js';
import { Needs, skip, type ValidatingRule } from '../rule.js';
import { inPool } from '../subject.js';

/**
 * Only AML pods of the owning compute may target or tolerate a reserved pool. "Target" means a
 * nodeSelector or `In` requirement names the pool's label value, or spec.nodeName names one of
 * its nodes (the kubelet then runs the pod whatever its NoSchedule taints say); "tolerate" means
 * a toleration the pod brought itself covers one of the pool's own taints (policy/reservation.ts).
 * A named node the webhook does not know fails closed, except for a kubelet's own mirror pods.
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
    const node = s.namedNode;
    const ownNode = node !== undefined && s.requester?.username === `system:node:${node.name}`;
    if (node !== undefined && node.labels === undefined && !ownNode)
      findings.push(`spec.nodeName ${node.name} is a node the webhook does not know, so it cannot tell whether ${who} would run in a reserved pool`);
    for (const r of kept.pools) {
      const pool = `reserved pool ${r.poolName} of compute ${r.computeName}`;
      if (targeted.has(r.key)) findings.push(`${who} may not target ${pool}`);
      if (node?.labels !== undefined && !ownNode && inPool(node.labels, r.pool.labels))
        findings.push(`${who} may not run on node ${node.name} (spec.nodeName) of ${pool}`);
      const taint = r.taints.find((t) => own.some((tol) => tolerates(tol, t)));
      if (taint) findings.push(`${who} may not tolerate ${formatTaint(taint)} of ${pool}`);
    }
    return findings;
  },
};
