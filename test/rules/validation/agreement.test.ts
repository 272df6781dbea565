import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import type { Pod } from '../../../src/k8s/pod.js';
import type { Policy } from '../../../src/policy/types.js';
import { mutatePod, podRequest, policyFrom, validatePod } from '../../helpers/admission.js';
import { fixture, testPolicy as mutationTestPolicy } from '../mutation/helpers.js';
import { POLICY_YAML, testPolicy } from './helpers.js';

/**
 * The two webhooks agree (SPEC §3): no pod is denied for a change the mutating webhook made.
 * Pods that ask for nothing questionable are mutated, and the mutated pod must pass validation.
 */
function admit(policy: Policy, pod: Pod, username = 'alice@contoso.com') {
  const request = podRequest(pod, { username });
  const m = mutatePod(policy, request);
  const ops = m.kind === 'patched' ? [...m.ops] : [];
  const mutated = fastJsonPatch.applyPatch(structuredClone(pod), structuredClone(ops), true, false).newDocument;
  return validatePod(policy, { ...request, object: mutated });
}

const reasons = (v: ReturnType<typeof validatePod>) => (v.kind === 'denied' ? v.message : '');

describe('mutation and validation agree', () => {
  const fixtures = readdirSync(new URL('../../fixtures/pods/', import.meta.url)).filter((f) => f.endsWith('.json'));
  for (const f of fixtures) {
    it(`Allows the realistic pod ${f} after the mutating webhook changed it.`, () => {
      const v = admit(mutationTestPolicy(), fixture(f.replace(/\.json$/, '')), 'system:serviceaccount:kubeflow:training-operator');
      assert.equal(v.kind, 'allowed', reasons(v));
    });
  }

  const policy = testPolicy();
  const instanceTypes = Object.keys(policy.computes['gpu-compute']!.instanceTypes);

  it('Allows any AML pod that takes its resources and placement from its instance type.', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(...instanceTypes), { nil: undefined }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (type, containers, jobLabel) => {
          const pod = {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: 'p',
              namespace: 'azureml',
              labels: {
                'ml.azure.com/compute': 'gpu-compute',
                ...(type ? { 'ml.azure.com/instance-type': type } : {}),
                ...(jobLabel ? { 'training.kubeflow.org/job-name': 'j' } : {}),
              },
            },
            spec: { containers: Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: 'busybox' })) },
          } as Pod;
          const v = admit(policy, pod);
          assert.equal(v.kind, 'allowed', reasons(v));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('Allows any non-AML pod, GPU or not, that brings no tolerations or targeting of its own.', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.constantFrom('nvidia.com/gpu', 'amd.com/gpu'), (gpus, resource) => {
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'default' },
          spec: { containers: [{ name: 'c', image: 'busybox', ...(gpus > 0 ? { resources: { limits: { [resource]: String(gpus) } } } : {}) }] },
        } as Pod;
        const v = admit(policy, pod, 'anyone');
        assert.equal(v.kind, 'allowed', reasons(v));
      }),
      { numRuns: 30 },
    );
  });

  // With allowNodeSelector: false every selector entry must be one the webhook granted, so
  // anything node-pool or instance-type writes has to count as granted (issue 13 point 6).
  const strict = policyFrom(POLICY_YAML, (doc: any) => {
    doc.computes['gpu-compute'].claims.resources = { ...doc.computes['gpu-compute'].claims.resources, allowNodeSelector: false };
  });
  it('Allows an AML pod, GPU or not, typed or not, under allowNodeSelector: false.', () => {
    fc.assert(
      fc.property(fc.option(fc.constantFrom(...instanceTypes), { nil: undefined }), fc.integer({ min: 0, max: 2 }), (type, gpus) => {
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'p',
            namespace: 'azureml',
            labels: { 'ml.azure.com/compute': 'gpu-compute', ...(type ? { 'ml.azure.com/instance-type': type } : {}) },
          },
          spec: { containers: [{ name: 'c', image: 'busybox', ...(gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': String(gpus) } } } : {}) }] },
        } as Pod;
        const v = admit(strict, pod);
        // A GPU pod of a CPU-only instance type it named itself is a real contradiction.
        const cpuTypeNamed = type !== undefined && gpus > 0 && !('nvidia.com/gpu' in strict.computes['gpu-compute']!.instanceTypes[type]!.resources.limits);
        if (!cpuTypeNamed) assert.equal(v.kind, 'allowed', `${type ?? '(default type)'} with ${gpus} GPUs: ${reasons(v)}`);
      }),
      { numRuns: 60 },
    );
  });
});
