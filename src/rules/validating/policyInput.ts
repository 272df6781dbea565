import { ValidatingRuleId } from '../../policy/types.js';
import { listOf, Needs, skip, type ValidatingRule } from '../rule.js';

/**
 * Malformed input: an object that is not a valid Pod, a compute or instance type the policy does
 * not define, or a blobfuse annotation that does not parse. Never accepted silently (SPEC §3);
 * messages never echo values that could be secret (parse errors name entries and fields only).
 */
export const policyInput: ValidatingRule = {
  id: ValidatingRuleId.PolicyInput,
  needs: Needs.Any,
  run({ policy, aml, invalid, snapshot }) {
    if (invalid !== undefined)
      return [invalid === 'not an object' ? 'the object under review is not a Pod object' : `the object under review is not a valid Pod: ${invalid}`];
    if (aml === undefined) return skip('not an AML pod');
    const findings: string[] = [];
    if (aml.compute === undefined) {
      findings.push(`compute ${aml.computeName} is not defined in the policy (defined: ${listOf(Object.keys(policy.computes))})`);
    } else if (aml.instanceType === undefined) {
      const refused = snapshot.refusedInstanceTypes.get(aml.instanceTypeName);
      if (refused !== undefined) findings.push(`instance type ${aml.instanceTypeName}: its InstanceType object is refused: ${refused}`);
      else
        findings.push(
          `instance type ${aml.instanceTypeName} is not defined for compute ${aml.computeName} (defined: ${listOf(Object.keys(aml.compute.instanceTypes))})`,
        );
    }
    if (aml.blobfuse !== undefined && !aml.blobfuse.ok) findings.push(`annotation ${policy.keys.blobfuseAnnotation} ${aml.blobfuse.error}`);
    return findings;
  },
};
