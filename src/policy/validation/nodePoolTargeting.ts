import { compiled } from '../compiled.js';
import { podGpus, requestsGpu } from '../pod.js';
import { ValidatingRuleId } from '../types.js';
import { fitPlacement } from './placement.js';
import { finding, listOf, needsKnownCompute, plural, type Finding, type Subject, type ValidatingRule } from './rule.js';

const id = ValidatingRuleId.NodePoolTargeting;

/**
 * An AML pod's effective placement (nodeSelector AND required node affinity) must stay inside
 * its compute's pools — a pod may narrow its targeting, never escape — and a GPU pod may only
 * reach GPU pools.
 */
export const nodePoolTargeting: ValidatingRule = {
  id,
  skip: needsKnownCompute,
  check({ policy, pod, aml }: Subject): Finding[] {
    const compute = aml!.compute!;
    const pools = compiled(policy).poolLabels(aml!.computeName)!;
    const fit = fitPlacement(pod, pools);
    const where = `compute ${aml!.computeName}'s pools (${listOf(Object.keys(pools))})`;
    if (fit.unrestricted) return [finding(id, `pod sets no node pool targeting; it must target ${where}`)];

    const findings: Finding[] = [];
    for (const c of fit.conjuncts) {
      if (!c.contained) findings.push(finding(id, `${c.source} can place the pod outside ${where}`));
    }
    const reachable = [...new Set(fit.conjuncts.flatMap((c) => c.reachable))];
    if (fit.conjuncts.every((c) => !c.satisfiable)) {
      findings.push(finding(id, 'nodeSelector and required node affinity admit no node at all; the pod could never be scheduled'));
    }
    if (requestsGpu(pod, policy.gpu.resourceNames)) {
      const cpuPools = reachable.filter((p) => !compute.nodePools[p]!.gpu);
      if (cpuPools.length > 0) {
        const gpus = podGpus(pod, policy.gpu.resourceNames);
        const count = Number.isNaN(gpus) ? 'GPUs' : plural(gpus, 'GPU');
        findings.push(finding(id, `pod requests ${count} but can be placed on CPU pool ${listOf(cpuPools)} (instance type ${aml!.instanceTypeName})`));
      }
    }
    return findings;
  },
};
