import { ValidatingRuleId } from '../../policy/types.js';
import { listOf, Needs, plural, type ValidatingRule } from '../rule.js';

/**
 * An AML pod's effective placement (nodeSelector AND required node affinity) must stay inside
 * its compute's pools — a pod may narrow its targeting, never escape — and a GPU pod may only
 * reach GPU pools. A pod that names its node (spec.nodeName) skips the scheduler, so the node is
 * its placement; a node the webhook does not know fails closed.
 */
export const nodePoolTargeting: ValidatingRule = {
  id: ValidatingRuleId.NodePoolTargeting,
  needs: Needs.KnownCompute,
  run(s) {
    const aml = s.aml!;
    const compute = aml.compute!;
    const fit = s.placement!;
    const where = `compute ${aml.computeName}'s pools (${listOf(Object.keys(compute.nodePools))})`;
    const node = s.namedNode;
    const findings: string[] = [];
    if (node !== undefined) {
      if (node.labels === undefined) return [`spec.nodeName ${node.name} is a node the webhook does not know, so it cannot tell whether it is in ${where}`];
      if (s.reachablePools.length === 0) return [`spec.nodeName ${node.name} is not a node of ${where}`];
    } else {
      if (fit.unrestricted) return [`pod sets no node pool targeting; it must target ${where}`];
      findings.push(...fit.conjuncts.filter((c) => !c.contained).map((c) => `${c.source} can place the pod outside ${where}`));
      if (fit.conjuncts.every((c) => !c.satisfiable))
        findings.push('nodeSelector and required node affinity admit no node at all; the pod could never be scheduled');
    }
    if (s.requestsGpu) {
      const cpuPools = s.reachablePools.filter((p) => !compute.nodePools[p]!.gpu);
      if (cpuPools.length > 0) {
        const count = Number.isNaN(s.gpus) ? 'GPUs' : plural(s.gpus, 'GPU');
        findings.push(`pod requests ${count} but can be placed on CPU pool ${listOf(cpuPools)} (instance type ${aml.instanceTypeName})`);
      }
    }
    return findings;
  },
};
