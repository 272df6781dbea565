import assert from 'node:assert/strict';
import { set } from '../../../src/admission/patch.js';
import type { Pod } from '../../../src/k8s/pod.js';
import { PolicySnapshot } from '../../../src/policy/snapshot.js';
import { MutatingRuleId, type MutatingRuleId as RuleIdType, type Policy } from '../../../src/policy/types.js';
import { mutate as mutateWith, MUTATING_RULES } from '../../../src/rules/mutate.js';
import { Needs, type MutatingRule } from '../../../src/rules/rule.js';
import { mutatePod, podRequest } from '../../helpers/admission.js';
import { assertValidPod, fixture, mutate, policyWith, testPolicy } from './helpers.js';

const runRules = (policy: Policy, pod: Pod, rules: readonly MutatingRule[]) => mutateWith(new PolicySnapshot(policy), podRequest(pod), rules).verdict;

function withLabels(name: string, edit: (labels: Record<string, string>, annotations: Record<string, string>) => void): Pod {
  const pod = fixture(name) as any;
  pod.metadata.annotations ??= {};
  edit(pod.metadata.labels, pod.metadata.annotations);
  return pod as Pod;
}

const ruleIds = (outcomes: readonly { ruleId: string; result: string }[], result: string) => outcomes.filter((o) => o.result === result).map((o) => o.ruleId);

describe('mutation pipeline', () => {
  describe('malformed AML input: the affected rules skip with a warning naming them, the rest still apply', () => {
    const cases: { name: string; given: Pod; want: { warnings: string[]; skipped: RuleIdType[]; mutatedBy: string } }[] = [
      {
        name: 'A blobfuse annotation that is not JSON adds no volume and warns under blobfuse-volumes.',
        given: withLabels('aml-command-job', (_l, a) => (a['ml.azure.com/blobfuse-mounts'] = '[{"name": "data", ')),
        want: {
          warnings: ['[blobfuse-volumes] annotation ml.azure.com/blobfuse-mounts is not valid JSON; not applied'],
          skipped: ['blobfuse-volumes'],
          mutatedBy: 'instance-type,aml-tolerations',
        },
      },
      {
        name: 'A blobfuse entry missing its secret adds no volume and says which entry and field.',
        given: withLabels('aml-command-job', (_l, a) => (a['ml.azure.com/blobfuse-mounts'] = '[{"name":"data","container":"c","mountPath":"/data"}]')),
        want: {
          warnings: ['[blobfuse-volumes] annotation ml.azure.com/blobfuse-mounts entry 0 needs a non-empty string "secretName"; not applied'],
          skipped: ['blobfuse-volumes'],
          mutatedBy: 'instance-type,aml-tolerations',
        },
      },
      {
        name: 'An unknown compute leaves the pod to gpu-tolerations alone and warns once per rule it affects.',
        given: withLabels('pytorchjob-master-gpu', (l) => (l['ml.azure.com/compute'] = 'no-such-compute')),
        want: {
          warnings: [
            '[instance-type] compute "no-such-compute" is not in the policy; not applied',
            '[aml-tolerations] compute "no-such-compute" is not in the policy; not applied',
            '[node-pool] compute "no-such-compute" is not in the policy; not applied',
            '[volcano-scheduler] compute "no-such-compute" is not in the policy; not applied',
          ],
          skipped: ['instance-type', 'aml-tolerations', 'node-pool', 'volcano-scheduler'],
          mutatedBy: 'gpu-tolerations',
        },
      },
      {
        name: 'An unknown instance type skips instance-type and node-pool; tolerations and gang scheduling still apply.',
        given: withLabels('tfjob-worker-cpu', (l) => (l['ml.azure.com/instance-type'] = 'Standard_ND96')),
        want: {
          warnings: [
            '[instance-type] instance type "Standard_ND96" is not in compute "gpu-cluster"; not applied',
            '[node-pool] instance type "Standard_ND96" is not in compute "gpu-cluster"; not applied',
          ],
          skipped: ['instance-type', 'node-pool'],
          mutatedBy: 'aml-tolerations,volcano-scheduler',
        },
      },
    ];
    for (const t of cases) {
      it(t.name, () => {
        const policy = testPolicy();
        const got = mutate(policy, t.given);
        assert.deepEqual(got.verdict.warnings, t.want.warnings);
        for (const w of got.verdict.warnings) assert.ok(w.length <= 120, `warning fits kubectl: ${w}`);
        assert.deepEqual(ruleIds(got.verdict.outcomes, 'skipped'), t.want.skipped);
        assert.deepEqual(got.verdict.auditAnnotations, { 'mutated-by': t.want.mutatedBy });
        assertValidPod(got.pod);
        assert.equal(mutate(policy, got.pod).verdict.kind, 'allowed', 'reinvocation gives no patch');
      });
    }
  });

  it('Every rule reports one outcome with action "mutate", in the order the rules run.', () => {
    const got = mutate(testPolicy(), fixture('pytorchjob-master-gpu'));
    assert.deepEqual(
      got.verdict.outcomes.map((o) => [o.ruleId, o.action, o.result]),
      [
        ['instance-type', 'mutate', 'mutated'],
        ['gpu-tolerations', 'mutate', 'mutated'],
        ['aml-tolerations', 'mutate', 'mutated'],
        ['node-pool', 'mutate', 'pass'],
        ['volcano-scheduler', 'mutate', 'mutated'],
        ['blobfuse-volumes', 'mutate', 'pass'],
        ['pvc-volumes', 'mutate', 'pass'],
      ],
    );
    assert.deepEqual(MUTATING_RULES.map((r) => r.id).sort(), Object.values(MutatingRuleId).sort(), 'every mutating rule id runs');
  });

  it('A disabled rule neither mutates nor warns, and is reported as skipped.', () => {
    const policy = policyWith((d) => (d.rules = { 'gpu-tolerations': { enabled: false }, 'volcano-scheduler': { enabled: false } }));
    const got = mutate(policy, fixture('pytorchjob-master-gpu'));
    assert.deepEqual(got.verdict.auditAnnotations, { 'mutated-by': 'instance-type,aml-tolerations' });
    assert.equal(got.pod.spec?.schedulerName, 'default-scheduler');
    assert.ok(!got.pod.spec?.tolerations?.some((t) => t.key === 'sku'));
    assert.deepEqual(
      got.verdict.outcomes.filter((o) => o.result === 'skipped'),
      [
        { ruleId: 'gpu-tolerations', action: 'mutate', result: 'skipped', message: 'disabled in the policy' },
        { ruleId: 'volcano-scheduler', action: 'mutate', result: 'skipped', message: 'disabled in the policy' },
      ],
    );
  });

  it('A non-AML pod skips the AML rules and says why.', () => {
    const got = mutate(testPolicy(), fixture('deployment-cpu'));
    assert.deepEqual(
      got.verdict.outcomes.map((o) => [o.ruleId, o.result, o.message]),
      [
        ['instance-type', 'skipped', 'not an AML pod'],
        ['gpu-tolerations', 'pass', undefined],
        ['aml-tolerations', 'skipped', 'not an AML pod'],
        ['node-pool', 'skipped', 'not an AML pod'],
        ['volcano-scheduler', 'skipped', 'not an AML pod'],
        ['blobfuse-volumes', 'skipped', 'not an AML pod'],
        ['pvc-volumes', 'skipped', 'not an AML pod'],
      ],
    );
  });

  const nodeSelectorList = fixture('tfjob-worker-cpu') as any;
  nodeSelectorList.spec.nodeSelector = ['agentpool=cpupool'];
  for (const object of [null, 'a string', [1, 2], { spec: 'not an object' }, nodeSelectorList]) {
    it(`An object that is not a valid pod (${JSON.stringify(object).slice(0, 40)}) is allowed untouched, with no rule run.`, () => {
      const v = mutatePod(testPolicy(), podRequest(object));
      assert.equal(v.kind, 'allowed');
      assert.deepEqual(v.outcomes, []);
    });
  }

  describe('a rule that throws follows its failure mode', () => {
    const boom: MutatingRule = {
      id: MutatingRuleId.NodePool,
      needs: Needs.Pod,
      run() {
        throw new TypeError("Cannot read properties of undefined (reading 'labels')");
      },
    };
    const before: MutatingRule = {
      id: MutatingRuleId.InstanceType,
      needs: Needs.Pod,
      run: () => ({ mutations: [set(['metadata', 'labels', 'touched'], 'yes')] }),
    };
    const after: MutatingRule = {
      id: MutatingRuleId.VolcanoScheduler,
      needs: Needs.Pod,
      run: () => ({ mutations: [set(['spec', 'priorityClassName'], 'high')] }),
    };

    it('Failing open, the rule is skipped with a warning naming it, and the others still mutate.', () => {
      const v = runRules(testPolicy(), fixture('deployment-cpu'), [before, boom, after]);
      assert.equal(v.kind, 'patched');
      assert.deepEqual(v.warnings, ['[node-pool] the rule failed internally and was skipped (fail open)']);
      assert.deepEqual(v.auditAnnotations, { 'mutated-by': 'instance-type,volcano-scheduler' });
      assert.deepEqual(v.outcomes[1], {
        ruleId: 'node-pool',
        action: 'mutate',
        result: 'error',
        message: "internal error (fail open): Cannot read properties of undefined (reading 'labels')",
      });
    });

    it('Failing closed, the pod is refused with a message naming the rule and no internal detail.', () => {
      const policy = policyWith((d) => (d.rules = { 'node-pool': { failureMode: 'closed' } }));
      const v = runRules(policy, fixture('deployment-cpu'), [before, boom, after]);
      assert.equal(v.kind, 'errored');
      if (v.kind !== 'errored') return;
      assert.equal(
        v.message,
        '[node-pool] the rule failed internally, so the pod is refused (fail closed); see the aml-admission audit log for uid test-uid-1',
      );
      assert.deepEqual(
        v.outcomes.map((o) => o.result),
        ['mutated', 'error', 'mutated'],
        'the other rules still report',
      );
    });

    it('Failing closed on a patch that does not fit, the message says where.', () => {
      const misfit: MutatingRule = { id: MutatingRuleId.NodePool, needs: Needs.Pod, run: () => ({ mutations: [set(['spec', 'containers', 'x'], 1)] }) };
      const policy = policyWith((d) => (d.rules = { 'node-pool': { failureMode: 'closed' } }));
      const v = runRules(policy, fixture('deployment-cpu'), [misfit]);
      assert.equal(v.kind, 'errored');
      if (v.kind === 'errored')
        assert.equal(
          v.message,
          '[node-pool] the rule failed internally: /spec/containers is not a map, so the pod is refused (fail closed); see the aml-admission audit log for uid test-uid-1',
        );
    });
  });
});
