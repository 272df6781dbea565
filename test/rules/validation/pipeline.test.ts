import assert from 'node:assert/strict';
import type { ValidationVerdict } from '../../../src/admission/verdict.js';
import { ValidatingRuleId, type EnforcementAction } from '../../../src/policy/types.js';
import { Needs, type ValidatingRule } from '../../../src/rules/rule.js';
import { VALIDATING_RULES } from '../../../src/rules/validate.js';
import { amlTolerations, GPU_TOLERATIONS, pod, podRequest, testPolicy, validatePod } from './helpers.js';

const ALL_RULES = Object.values(ValidatingRuleId);
const goodPod = pod({
  compute: 'gpu-compute',
  instanceType: 'gpu-1',
  gpus: '1',
  nodeSelector: { agentpool: 'gpupool' },
  tolerations: [...GPU_TOLERATIONS, ...amlTolerations('gpu-compute')],
});
/** Fails two rules: identity-claims (requester) and node-pool-targeting (GPU pod on a CPU pool). */
const badPod = pod({ compute: 'gpu-compute', gpus: '1', nodeSelector: { agentpool: 'cpupool' } });
const badRequest = podRequest(badPod, { username: 'mallory' });

const outcome = (v: ValidationVerdict, ruleId: string) => v.outcomes.find((o) => o.ruleId === ruleId);

describe('validation pipeline: enforcement actions', () => {
  const actionCases: {
    name: string;
    given: Partial<Record<'node-pool-targeting' | 'identity-claims', EnforcementAction>>;
    want: { kind: 'allowed' | 'denied'; message?: string; warnings: string[]; annotations: string[] };
  }[] = [
    {
      name: 'With both failing rules at deny, one 403 message names every failed rule and its reason.',
      given: {},
      want: {
        kind: 'denied',
        message:
          '[node-pool-targeting] pod requests 1 GPU but can be placed on CPU pool cpupool (instance type cpu-small); [identity-claims] mallory is not allowed to create pods for compute gpu-compute',
        warnings: [],
        annotations: [],
      },
    },
    {
      name: 'A rule at warn allows with its reason as a warning while a deny rule still denies.',
      given: { 'node-pool-targeting': 'warn' },
      want: {
        kind: 'denied',
        message: '[identity-claims] mallory is not allowed to create pods for compute gpu-compute',
        warnings: ['[node-pool-targeting] pod requests 1 GPU but can be placed on CPU pool cpupool (instance type cpu-small)'],
        annotations: ['node-pool-targeting'],
      },
    },
    {
      name: 'With every failing rule at warn the pod is allowed with one warning per finding.',
      given: { 'node-pool-targeting': 'warn', 'identity-claims': 'warn' },
      want: {
        kind: 'allowed',
        warnings: [
          '[node-pool-targeting] pod requests 1 GPU but can be placed on CPU pool cpupool (instance type cpu-small)',
          '[identity-claims] mallory is not allowed to create pods for compute gpu-compute',
        ],
        annotations: ['node-pool-targeting', 'identity-claims'],
      },
    },
    {
      name: 'With every failing rule at audit the pod is allowed silently and the failures are recorded.',
      given: { 'node-pool-targeting': 'audit', 'identity-claims': 'audit' },
      want: { kind: 'allowed', warnings: [], annotations: ['node-pool-targeting', 'identity-claims'] },
    },
  ];
  for (const t of actionCases) {
    it(t.name, () => {
      const rules = Object.fromEntries(Object.entries(t.given).map(([id, a]) => [id, { enforcementAction: a }]));
      const v = validatePod(testPolicy(rules), badRequest);
      assert.equal(v.kind, t.want.kind);
      if (v.kind === 'denied') {
        assert.equal(v.code, 403);
        assert.equal(v.message, t.want.message);
      }
      assert.deepEqual(v.warnings, t.want.warnings);
      assert.deepEqual(Object.keys(v.auditAnnotations), t.want.annotations);
      for (const id of ['node-pool-targeting', 'identity-claims']) {
        assert.equal(outcome(v, id)?.result, 'fail');
        assert.equal(outcome(v, id)?.action, (t.given as Record<string, string>)[id] ?? 'deny');
      }
    });
  }

  it('Keeps every warning within 120 characters.', () => {
    const long = 'x'.repeat(200);
    const v = validatePod(testPolicy({ 'identity-claims': { enforcementAction: 'warn' } }), podRequest(goodPod, { username: long }));
    assert.equal(v.kind, 'allowed');
    assert.equal(v.warnings.length, 1);
    assert.ok(v.warnings[0]!.length <= 120, `${v.warnings[0]!.length} characters`);
    assert.match(v.warnings[0]!, /^\[identity-claims\] x+…$/);
  });

  it('Records an outcome for every validating rule, in SPEC order, with the action in force.', () => {
    const v = validatePod(testPolicy({ 'reserved-pools': { enforcementAction: 'audit' } }), podRequest(goodPod));
    assert.deepEqual(
      v.outcomes.map((o) => o.ruleId),
      ALL_RULES,
    );
    assert.deepEqual(
      v.outcomes.map((o) => o.result),
      ['pass', 'pass', 'pass', 'pass', 'pass'],
    );
    assert.equal(outcome(v, 'reserved-pools')?.action, 'audit');
  });

  it('Skips the AML rules for a non-AML pod and says why.', () => {
    const v = validatePod(testPolicy(), podRequest(pod()));
    assert.equal(v.kind, 'allowed');
    assert.deepEqual(
      v.outcomes.filter((o) => o.result === 'skipped').map((o) => [o.ruleId, o.message]),
      [
        ['node-pool-targeting', 'not an AML pod'],
        ['identity-claims', 'not an AML pod'],
        ['resource-claims', 'not an AML pod'],
        ['policy-input', 'not an AML pod'],
      ],
    );
  });

  it('Does not run a disabled rule and records it as skipped.', () => {
    const v = validatePod(testPolicy({ 'identity-claims': { enabled: false }, 'node-pool-targeting': { enabled: false } }), badRequest);
    assert.equal(v.kind, 'allowed');
    assert.deepEqual(outcome(v, 'identity-claims'), { ruleId: 'identity-claims', action: 'deny', result: 'skipped', message: 'disabled in the policy' });
  });
});

describe('validation pipeline: existing pods with no known requester', () => {
  it('Judges only the namespace in identity-claims when the requester is unknown.', () => {
    const allowedNs = validatePod(testPolicy(), podRequest(goodPod, { username: 'mallory' }), { requesterUnknown: true });
    assert.equal(allowedNs.kind, 'allowed');
    const wrongNs = validatePod(testPolicy(), podRequest(goodPod, { username: 'mallory', namespace: 'default' }), { requesterUnknown: true });
    assert.equal(wrongNs.kind, 'denied');
    if (wrongNs.kind === 'denied')
      assert.equal(wrongNs.message, '[identity-claims] namespace default may not use compute gpu-compute (allowed: azureml, team-a, aml-training)');
  });
});

describe('validation pipeline: a rule that throws', () => {
  const throwing: ValidatingRule = {
    id: ValidatingRuleId.ResourceClaims,
    needs: Needs.Pod,
    run: () => {
      throw new TypeError('boom');
    },
  };
  const rules = VALIDATING_RULES.map((r) => (r.id === throwing.id ? throwing : r));

  it('Fails closed by default: denies with a clear message and records the error.', () => {
    const v = validatePod(testPolicy(), podRequest(goodPod), { rules });
    assert.equal(v.kind, 'denied');
    if (v.kind !== 'denied') return;
    assert.equal(v.code, 403);
    assert.equal(
      v.message,
      '[resource-claims] the rule failed internally, so the pod is refused (fail closed); see the aml-admission audit log for uid test-uid-1',
    );
    assert.deepEqual(outcome(v, 'resource-claims'), {
      ruleId: 'resource-claims',
      action: 'deny',
      result: 'error',
      message: 'internal error (fail closed): boom',
    });
  });

  it('Fails closed even when the rule’s action is warn (an unknown result is not a finding).', () => {
    const v = validatePod(testPolicy({ 'resource-claims': { enforcementAction: 'warn' } }), podRequest(goodPod), { rules });
    assert.equal(v.kind, 'denied');
  });

  it('Fails open when configured: allows with a warning and records the error.', () => {
    const v = validatePod(testPolicy({ 'resource-claims': { failureMode: 'open' } }), podRequest(goodPod), { rules });
    assert.equal(v.kind, 'allowed');
    assert.deepEqual(v.warnings, ['[resource-claims] the rule failed internally and was skipped (fail open)']);
    assert.equal(outcome(v, 'resource-claims')?.result, 'error');
  });
});

describe('validation pipeline: dryRun and UPDATE', () => {
  it('Gives a dryRun request exactly the same verdict as a real one.', () => {
    for (const p of [goodPod, badPod]) {
      const real = validatePod(testPolicy(), podRequest(p, { username: 'mallory' }));
      const dry = validatePod(testPolicy(), podRequest(p, { username: 'mallory', dryRun: true }));
      assert.deepEqual(dry, real);
    }
  });

  it('Judges a label change that moves a pod into another compute.', () => {
    const before = goodPod;
    const after = {
      ...before,
      metadata: { ...before.metadata, labels: { ...before.metadata!.labels, 'ml.azure.com/compute': 'cpu-compute', 'ml.azure.com/instance-type': 'small' } },
    };
    const v = validatePod(testPolicy(), podRequest(after, { operation: 'UPDATE', oldObject: before }));
    assert.equal(v.kind, 'denied');
    if (v.kind === 'denied') assert.match(v.message, /\[node-pool-targeting\] nodeSelector can place the pod outside compute cpu-compute's pools/);
  });

  it('Judges a label change that takes the compute label away from a pod on a reserved pool.', () => {
    const before = pod({
      compute: 'gpu-compute',
      instanceType: 'a100-8',
      gpus: '8',
      nodeSelector: { agentpool: 'a100' },
      tolerations: [...GPU_TOLERATIONS, ...amlTolerations('gpu-compute')],
    });
    const after = { ...before, metadata: { ...before.metadata, labels: {} } };
    const v = validatePod(testPolicy(), podRequest(after, { operation: 'UPDATE', oldObject: before }));
    assert.equal(v.kind, 'denied');
    if (v.kind === 'denied') assert.match(v.message, /\[reserved-pools\] a non-AML pod may not target reserved pool a100/);
  });

  it('Does not re-raise a violation the old object already had, so unrelated updates go through.', () => {
    const before = badPod;
    const after = { ...before, metadata: { ...before.metadata, finalizers: [] } };
    const v = validatePod(testPolicy(), podRequest(after, { operation: 'UPDATE', oldObject: before, username: 'mallory' }));
    assert.equal(v.kind, 'allowed');
    assert.equal(outcome(v, 'node-pool-targeting')?.result, 'pass');
    assert.match(outcome(v, 'node-pool-targeting')?.message ?? '', /^pre-existing, not changed by this update: pod requests 1 GPU/);
  });

  it('Judges an UPDATE that adds a toleration for a reserved pool.', () => {
    const before = pod();
    const after = pod({ tolerations: [{ key: 'ml.azure.com/compute', operator: 'Equal', value: 'gpu-compute', effect: 'NoSchedule' }] });
    const v = validatePod(testPolicy(), podRequest(after, { operation: 'UPDATE', oldObject: before }));
    assert.equal(v.kind, 'denied');
  });
});
