import { ValidatingRuleId } from '../types.js';
import { finding, listOf, type Finding, type Subject, type ValidatingRule } from './rule.js';

const id = ValidatingRuleId.PolicyInput;

/** Said when the object under review cannot be read as a Pod at all (only files and tools send such things). */
export const NOT_A_POD = 'the object under review is not a Pod object';

/**
 * Malformed AML input: a compute or instance type the policy does not define, or a blobfuse
 * annotation that does not parse. Never accepted silently (SPEC §3); messages never echo values
 * that could be secret (the annotation's parse errors name entries and fields only).
 */
export const policyInput: ValidatingRule = {
  id,
  skip: ({ aml }) => (aml === undefined ? 'not an AML pod' : undefined),
  check({ policy, aml }: Subject): Finding[] {
    const a = aml!;
    const findings: Finding[] = [];
    if (a.compute === undefined) {
      findings.push(finding(id, `compute ${a.computeName} is not defined in the policy (defined: ${listOf(Object.keys(policy.computes))})`));
    } else if (a.instanceType === undefined) {
      findings.push(finding(id, `instance type ${a.instanceTypeName} is not defined for compute ${a.computeName} (defined: ${listOf(Object.keys(a.compute.instanceTypes))})`));
    }
    if (a.blobfuse !== undefined && !a.blobfuse.ok) {
      findings.push(finding(id, `annotation ${policy.keys.blobfuseAnnotation} ${a.blobfuse.error}`));
    }
    return findings;
  },
};
