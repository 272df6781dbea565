import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1MutatingWebhook, V1ValidatingWebhook } from '@kubernetes/client-node';
import { failedCondition, reach, selects } from '../../src/admission/reach.js';
import type { AdmissionRequest } from '../../src/admission/request.js';
import { loadWebhookTemplates } from '../../src/kube/webhookConfigs.js';
import { mutatePod, podRequest, validatePod } from '../helpers/admission.js';
import { testPolicy as mutationPolicy } from '../rules/mutation/helpers.js';
import { testPolicy as validationPolicy } from '../rules/validation/helpers.js';

const templates = await loadWebhookTemplates('webhook-config');
const webhookOf = (kind: string) => templates.find((t) => t.kind === kind)!.webhooks![0]!;
const validating = webhookOf('ValidatingWebhookConfiguration') as V1ValidatingWebhook;
const mutating = webhookOf('MutatingWebhookConfiguration') as V1MutatingWebhook;
const calls = (w: V1MutatingWebhook | V1ValidatingWebhook, r: AdmissionRequest) => failedCondition(w.matchConditions, r) === undefined;

/** The tolerations the DefaultTolerationSeconds admission plugin gives every pod before webhooks run. */
const DEFAULT_TOLERATIONS = ['not-ready', 'unreachable'].map((k) => ({
  key: `node.kubernetes.io/${k}`,
  operator: 'Exists',
  effect: 'NoExecute',
  tolerationSeconds: 300,
}));

const plainPod = (extra: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web', ...labels } },
  spec: { containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu: '100m', memory: '64Mi' } } }], tolerations: DEFAULT_TOLERATIONS, ...extra },
});

describe('which requests reach the webhooks, as webhook-config/ registers them', () => {
  it('calls neither webhook for an ordinary pod, nor the validating one for an unrelated UPDATE', () => {
    const create = podRequest(plainPod());
    assert.equal(calls(validating, create), false);
    assert.equal(calls(mutating, create), false);
    const relabel = podRequest(plainPod({}, { version: '2' }), { operation: 'UPDATE', oldObject: plainPod() });
    assert.equal(calls(validating, relabel), false, "another pod's labels cost no call");
    const aml = plainPod({}, { 'ml.azure.com/compute': 'gpu-compute' });
    const amlFinalizer = podRequest({ ...aml, metadata: { ...aml.metadata, finalizers: ['x'] } }, { operation: 'UPDATE', oldObject: aml });
    assert.equal(calls(validating, amlFinalizer), false, "an AML pod's finalizers cost no call");
  });

  it('calls them for AML pods, GPU pods, and pods that name or target nodes or bring tolerations', () => {
    const cases: [string, unknown, boolean, boolean][] = [
      ['AML pod', plainPod({}, { 'ml.azure.com/compute': 'c' }), true, true],
      ['nodeName', plainPod({ nodeName: 'n1' }), true, false],
      ['nodeSelector', plainPod({ nodeSelector: { agentpool: 'a100' } }), true, false],
      ['node affinity', plainPod({ affinity: { nodeAffinity: {} } }), true, false],
      ['a toleration of its own', plainPod({ tolerations: [...DEFAULT_TOLERATIONS, { key: 'sku', operator: 'Exists' }] }), true, false],
      ['a toleration of every taint', plainPod({ tolerations: [{ operator: 'Exists' }] }), true, false],
      [
        'a GPU in an init container',
        { ...plainPod(), spec: { ...plainPod().spec, initContainers: [{ name: 'i', image: 'x', resources: { limits: { 'nvidia.com/gpu': '1' } } }] } },
        false,
        true,
      ],
    ];
    for (const [name, pod, v, m] of cases) {
      assert.equal(calls(validating, podRequest(pod)), v, `validating: ${name}`);
      assert.equal(calls(mutating, podRequest(pod)), m, `mutating: ${name}`);
    }
  });

  it('skips the namespaces the selector excludes, by name, and requests no rule covers', () => {
    const pod = plainPod({}, { 'ml.azure.com/compute': 'c' });
    assert.deepEqual(reach(validating, podRequest({ ...pod, metadata: { ...pod.metadata, namespace: 'azureml' } })), {
      reached: false,
      why: 'its namespaceSelector excludes namespace azureml',
    });
    assert.deepEqual(reach(mutating, podRequest(pod, { operation: 'UPDATE', oldObject: pod })), {
      reached: false,
      why: 'its rules do not cover UPDATE of pods',
    });
    assert.deepEqual(reach(validating, podRequest(pod)), { reached: true });
  });

  it('follows label selector semantics', () => {
    const sel = {
      matchLabels: { a: '1' },
      matchExpressions: [
        { key: 'b', operator: 'NotIn', values: ['x'] },
        { key: 'c', operator: 'DoesNotExist' },
      ],
    };
    assert.equal(selects(sel, { a: '1' }), true);
    assert.equal(selects(sel, { a: '1', b: 'x' }), false);
    assert.equal(selects(sel, { a: '1', c: '' }), false);
    assert.equal(selects({ matchExpressions: [{ key: 'b', operator: 'In', values: ['x'] }] }, {}), false);
  });

  // Soundness: a condition that skipped a pod the rules would deny would be an escape.
  const NODES = { labels: (name: string) => ({ 'a100-1': { agentpool: 'a100' }, 'cpu-1': { agentpool: 'cpupool' } })[name] };
  const toleration = fc.constantFrom<object>(
    ...DEFAULT_TOLERATIONS,
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
    { key: 'ml.azure.com/compute', operator: 'Equal', value: 'gpu-compute', effect: 'NoSchedule' },
    { operator: 'Exists' },
    { key: 'dedicated', operator: 'Equal', value: 'cpu-compute', effect: 'NoSchedule' },
  );
  const podArb = fc.record(
    {
      namespace: fc.constantFrom('azureml', 'team-a', 'default'),
      compute: fc.constantFrom('gpu-compute', 'cpu-compute', 'no-such-compute'),
      instanceType: fc.constantFrom('cpu-small', 'gpu-1', 'a100-8', 'small', 'big'),
      app: fc.constant('x'),
      blobfuse: fc.constantFrom('[{"name":"d","container":"c","mountPath":"/d","secretName":"other"}]', 'not json'),
      nodeSelector: fc.dictionary(fc.constantFrom('agentpool', 'kubernetes.io/os'), fc.constantFrom('a100', 'gpupool', 'cpupool', 'cpu2', 'linux'), {
        maxKeys: 2,
      }),
      terms: fc.constantFrom('a100', 'gpupool'),
      nodeName: fc.constantFrom('a100-1', 'cpu-1', 'ghost'),
      tolerations: fc.uniqueArray(toleration, { maxLength: 4 }),
      gpus: fc.constantFrom('1', '2', '9', '0.5'),
    },
    { requiredKeys: ['namespace'] },
  );
  type PodArb = typeof podArb extends fc.Arbitrary<infer T> ? T : never;
  const build = (p: PodArb) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: p.namespace,
      labels: {
        ...(p.compute ? { 'ml.azure.com/compute': p.compute } : {}),
        ...(p.instanceType ? { 'ml.azure.com/instance-type': p.instanceType } : {}),
        ...(p.app ? { app: p.app } : {}),
      },
      ...(p.blobfuse ? { annotations: { 'ml.azure.com/blobfuse-mounts': p.blobfuse } } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'busybox', ...(p.gpus ? { resources: { limits: { 'nvidia.com/gpu': p.gpus } } } : {}) }],
      ...(p.nodeSelector && Object.keys(p.nodeSelector).length > 0 ? { nodeSelector: p.nodeSelector } : {}),
      ...(p.terms
        ? {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'agentpool', operator: 'In', values: [p.terms] }] }],
                },
              },
            },
          }
        : {}),
      ...(p.nodeName ? { nodeName: p.nodeName } : {}),
      tolerations: [...DEFAULT_TOLERATIONS, ...(p.tolerations ?? []).filter((t) => !DEFAULT_TOLERATIONS.includes(t as never))],
    },
  });
  const requester = fc.constantFrom('alice@contoso.com', 'bob@contoso.com', 'system:node:a100-1');
  const judged = (v: ReturnType<typeof validatePod>) => v.kind === 'denied' || v.outcomes.some((o) => o.result === 'fail' || o.result === 'error');

  it('calls the validating webhook for every pod CREATE the rules find fault with', () => {
    const policy = validationPolicy();
    fc.assert(
      fc.property(podArb, requester, (p, username) => {
        const request = podRequest(build(p), { username });
        if (judged(validatePod(policy, request, { nodes: NODES }))) assert.ok(calls(validating, request), JSON.stringify(request.object));
      }),
      { numRuns: 400 },
    );
  });

  it('calls the validating webhook for every pod UPDATE that adds a fault', () => {
    const policy = validationPolicy();
    fc.assert(
      fc.property(podArb, podArb, requester, (before, changes, username) => {
        // What an UPDATE may change: labels, annotations, tolerations (and, while gated, placement); nodeName, containers and volumes stay.
        const old = build(before);
        const next = build({ ...before, ...changes, namespace: before.namespace, nodeName: before.nodeName, gpus: before.gpus });
        const request = podRequest(next, { username, operation: 'UPDATE', oldObject: old });
        if (validatePod(policy, request, { nodes: NODES }).kind === 'denied') assert.ok(calls(validating, request), JSON.stringify({ old, next }));
      }),
      { numRuns: 400 },
    );
  });

  it('calls the mutating webhook for every pod a mutating rule changes', () => {
    const policy = mutationPolicy();
    fc.assert(
      fc.property(podArb, (p) => {
        const request = podRequest(build(p));
        const v = mutatePod(policy, request);
        if (v.kind !== 'allowed' || v.warnings.length > 0) assert.ok(calls(mutating, request), `${v.kind}: ${JSON.stringify(request.object)}`);
      }),
      { numRuns: 400 },
    );
  });
});
