import assert from 'node:assert/strict';
import type { Policy, ValidatingRuleId } from '../../../src/policy/types.js';
import type { NodeLookup } from '../../../src/rules/subject.js';
import { amlTolerations, GPU_TOLERATIONS, pod, podRequest, testPolicy, type RequestOpts, validatePod } from './helpers.js';

const policy = testPolicy();

const gpuPod = (extra: Parameters<typeof pod>[0] = {}) =>
  pod({
    compute: 'gpu-compute',
    instanceType: 'gpu-1',
    gpus: '1',
    nodeSelector: { agentpool: 'gpupool' },
    tolerations: [...GPU_TOLERATIONS, ...amlTolerations('gpu-compute')],
    ...extra,
  });
const cpuPod = (extra: Parameters<typeof pod>[0] = {}) =>
  pod({
    compute: 'cpu-compute',
    nodeSelector: { agentpool: 'cpu2' },
    tolerations: [...amlTolerations('cpu-compute'), { key: 'dedicated', operator: 'Equal', value: 'cpu-compute', effect: 'NoSchedule' }],
    ...extra,
  });
const plainPod = (extra: Parameters<typeof pod>[0] = {}) => pod(extra);
/** The pod with a sidecar (a restartable init container) limiting `gpus` GPUs. */
const withSidecar = (p: ReturnType<typeof pod>, gpus: string) => ({
  ...p,
  spec: { ...p.spec!, initContainers: [{ name: 'proxy', image: 'busybox', restartPolicy: 'Always', resources: { limits: { 'nvidia.com/gpu': gpus } } }] },
});
/** The pod naming its node, as a pod that skips the scheduler does. */
const onNode = (p: ReturnType<typeof pod>, nodeName: string) => ({ ...p, spec: { ...p.spec!, nodeName } });
/** The nodes the webhook knows (its informer's cache). */
const NODES: Record<string, Record<string, string>> = {
  'aks-cpupool-0': { agentpool: 'cpupool' },
  'aks-gpupool-0': { agentpool: 'gpupool', 'kubernetes.io/os': 'linux' },
  'aks-a100-0': { agentpool: 'a100' },
  'aks-cpu2-0': { agentpool: 'cpu2' },
  'aks-other-0': { agentpool: 'other' },
};
const nodes: NodeLookup = { labels: (name) => NODES[name] };
const term = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });

interface Case {
  name: string;
  /** `nodes: null`: judged without node knowledge, as `audit` judges pods the scheduler bound. */
  given: { pod: unknown; req?: RequestOpts; policy?: Policy; nodes?: null };
  /** Rules expected to fail (exactly these), each with a pattern its message must match. */
  want: { fails: Partial<Record<ValidatingRuleId, RegExp>>; code?: number };
}

const cases: Case[] = [
  // node-pool-targeting
  { name: 'A GPU pod of a GPU instance type on its GPU pool is allowed.', given: { pod: gpuPod() }, want: { fails: {} } },
  {
    name: 'A pod that narrows its targeting with extra affinity inside the compute’s pools is allowed.',
    given: {
      pod: gpuPod({
        terms: [
          {
            matchExpressions: [
              { key: 'agentpool', operator: 'In', values: ['gpupool', 'a100'] },
              { key: 'zone', operator: 'In', values: ['1'] },
            ],
          },
        ],
      }),
    },
    want: { fails: {} },
  },
  {
    name: 'Affinity with several terms where one term escapes the pools is denied, naming that term.',
    given: { pod: gpuPod({ nodeSelector: {}, terms: [term('agentpool', 'In', ['gpupool']), term('agentpool', 'NotIn', ['cpupool'])] }) },
    want: { fails: { 'node-pool-targeting': /^affinity term 2 can place the pod outside compute gpu-compute's pools/ }, code: 403 },
  },
  {
    name: 'A GPU pod on a CPU pool (the default instance type’s selector) is denied.',
    given: { pod: pod({ compute: 'gpu-compute', gpus: '1', nodeSelector: { agentpool: 'cpupool' } }) },
    want: { fails: { 'node-pool-targeting': /requests 1 GPU but can be placed on CPU pool cpupool \(instance type cpu-small\)/ }, code: 403 },
  },
  {
    name: 'A GPU pod whose affinity reaches both a GPU and a CPU pool is denied.',
    given: { pod: gpuPod({ nodeSelector: {}, terms: [term('agentpool', 'In', ['gpupool', 'cpupool'])] }) },
    want: { fails: { 'node-pool-targeting': /can be placed on CPU pool cpupool/ } },
  },
  {
    name: 'An AML pod with no pool targeting at all is denied.',
    given: { pod: pod({ compute: 'gpu-compute' }) },
    want: { fails: { 'node-pool-targeting': /sets no node pool targeting/ } },
  },
  {
    name: 'An AML pod that targets another compute’s pool is denied.',
    given: { pod: pod({ compute: 'gpu-compute', nodeSelector: { agentpool: 'cpu2' } }) },
    want: { fails: { 'node-pool-targeting': /nodeSelector can place the pod outside/ } },
  },
  {
    name: 'An AML pod whose nodeSelector contradicts its affinity is denied as unschedulable.',
    given: { pod: pod({ compute: 'gpu-compute', nodeSelector: { agentpool: 'cpupool' }, terms: [term('agentpool', 'In', ['gpupool'])] }) },
    want: { fails: { 'node-pool-targeting': /admit no node at all/ } },
  },
  {
    name: 'A CPU pod may run on a GPU pool of its compute.',
    given: { pod: pod({ compute: 'gpu-compute', nodeSelector: { agentpool: 'gpupool' } }) },
    want: { fails: {} },
  },

  // reserved-pools
  {
    name: 'A non-AML pod tolerating a reserved pool’s own taint is denied.',
    given: { pod: plainPod({ tolerations: [{ key: 'ml.azure.com/compute', operator: 'Equal', value: 'gpu-compute', effect: 'NoSchedule' }] }) },
    want: {
      fails: {
        'reserved-pools': /^a non-AML pod may not tolerate ml\.azure\.com\/compute=gpu-compute:NoSchedule of reserved pool a100 of compute gpu-compute$/,
      },
    },
  },
  {
    name: 'A non-AML pod targeting a reserved pool by nodeSelector is denied.',
    given: { pod: plainPod({ nodeSelector: { agentpool: 'a100' } }) },
    want: { fails: { 'reserved-pools': /^a non-AML pod may not target reserved pool a100 of compute gpu-compute$/ } },
  },
  {
    name: 'A non-AML pod targeting a reserved pool through one of its affinity values is denied.',
    given: { pod: plainPod({ terms: [term('agentpool', 'In', ['gpupool', 'a100'])] }) },
    want: { fails: { 'reserved-pools': /may not target reserved pool a100/ } },
  },
  {
    name: 'A non-AML GPU pod with the generic GPU tolerations the mutating webhook adds is allowed.',
    given: { pod: plainPod({ gpus: '1', tolerations: GPU_TOLERATIONS }) },
    want: { fails: {} },
  },
  {
    name: 'A non-AML pod with a blanket toleration (operator Exists, no key) tolerates the reserved pool and is denied.',
    given: { pod: plainPod({ tolerations: [{ operator: 'Exists' }] }) },
    want: { fails: { 'reserved-pools': /may not tolerate ml\.azure\.com\/compute=gpu-compute/ } },
  },
  {
    name: 'A non-AML pod that excludes pools with NotIn does not target the reserved pool and is allowed.',
    given: { pod: plainPod({ terms: [term('agentpool', 'NotIn', ['cpupool'])] }) },
    want: { fails: {} },
  },
  {
    name: 'An AML pod of the owning compute may target and tolerate its reserved pool.',
    given: { pod: gpuPod({ instanceType: 'a100-8', gpus: '8', nodeSelector: { agentpool: 'a100' } }) },
    want: { fails: {} },
  },
  {
    name: 'An AML pod of another compute tolerating the reserved pool’s compute taint is denied.',
    given: {
      pod: cpuPod({ tolerations: [...amlTolerations('cpu-compute'), { key: 'ml.azure.com/compute', operator: 'Exists', effect: 'NoSchedule' }] }),
      policy: testPolicy({ 'resource-claims': { enabled: false } }),
    },
    want: { fails: { 'reserved-pools': /^a pod of compute cpu-compute may not tolerate ml\.azure\.com\/compute=gpu-compute:NoSchedule/ } },
  },
  { name: 'An AML pod of another compute with only its own AML tolerations is allowed.', given: { pod: cpuPod() }, want: { fails: {} } },

  // spec.nodeName: the kubelet runs the pod on that node, whatever its NoSchedule taints say
  { name: 'An AML GPU pod naming a node of its GPU pool is allowed.', given: { pod: onNode(gpuPod(), 'aks-gpupool-0') }, want: { fails: {} } },
  {
    name: 'An AML pod naming a node outside its compute’s pools is denied.',
    given: { pod: onNode(gpuPod(), 'aks-other-0') },
    want: { fails: { 'node-pool-targeting': /^spec\.nodeName aks-other-0 is not a node of compute gpu-compute's pools/ } },
  },
  {
    name: 'An AML GPU pod naming a CPU node of its compute is denied.',
    given: { pod: onNode(gpuPod(), 'aks-cpupool-0') },
    want: { fails: { 'node-pool-targeting': /^pod requests 1 GPU but can be placed on CPU pool cpupool/ } },
  },
  {
    name: 'An AML pod naming a node the webhook does not know is denied (fail closed).',
    given: { pod: onNode(gpuPod(), 'aks-new-0') },
    want: { fails: { 'node-pool-targeting': /^spec\.nodeName aks-new-0 is a node the webhook does not know/ } },
  },
  {
    name: 'A non-AML pod naming a node of a reserved pool is denied, though it targets and tolerates nothing.',
    given: { pod: onNode(plainPod(), 'aks-a100-0') },
    want: { fails: { 'reserved-pools': /^a non-AML pod may not run on node aks-a100-0 \(spec\.nodeName\) of reserved pool a100 of compute gpu-compute$/ } },
  },
  {
    name: 'An AML pod of another compute naming a node of a reserved pool is denied.',
    given: { pod: onNode(cpuPod(), 'aks-a100-0'), policy: testPolicy({ 'resource-claims': { enabled: false } }) },
    want: {
      fails: {
        'node-pool-targeting': /^spec\.nodeName aks-a100-0 is not a node of compute cpu-compute's pools/,
        'reserved-pools': /^a pod of compute cpu-compute may not run on node aks-a100-0/,
      },
    },
  },
  { name: 'A non-AML pod naming a node outside reserved pools is allowed.', given: { pod: onNode(plainPod(), 'aks-cpupool-0') }, want: { fails: {} } },
  {
    name: 'A non-AML pod naming an unknown node is denied while the policy has reserved pools (fail closed).',
    given: { pod: onNode(plainPod(), 'aks-new-0') },
    want: { fails: { 'reserved-pools': /^spec\.nodeName aks-new-0 is a node the webhook does not know/ } },
  },
  {
    name: 'A kubelet’s mirror pod on its own reserved node is allowed (NodeRestriction binds it there).',
    given: { pod: onNode(plainPod(), 'aks-a100-0'), req: { username: 'system:node:aks-a100-0', groups: ['system:nodes'] } },
    want: { fails: {} },
  },
  {
    name: 'Without node knowledge (audit of bound pods), spec.nodeName is not judged.',
    given: { pod: onNode(plainPod(), 'aks-new-0'), nodes: null },
    want: { fails: {} },
  },
  {
    name: 'Under allowNodeSelector: false, naming the node is self-set placement.',
    given: { pod: onNode(cpuPod(), 'aks-cpu2-0') },
    want: { fails: { 'resource-claims': /^pods of compute cpu-compute may not set spec\.nodeName$/ } },
  },

  // identity-claims
  { name: 'A requester named in users is allowed.', given: { pod: gpuPod(), req: { username: 'alice@contoso.com' } }, want: { fails: {} } },
  {
    name: 'A requester outside every identity claim is denied.',
    given: { pod: gpuPod(), req: { username: 'mallory@contoso.com', groups: ['system:authenticated'] } },
    want: { fails: { 'identity-claims': /^mallory@contoso\.com is not allowed to create pods for compute gpu-compute$/ }, code: 403 },
  },
  {
    name: 'A requester in a claimed group is allowed.',
    given: { pod: gpuPod(), req: { username: 'bob', groups: ['system:authenticated', 'ml-engineers'] } },
    want: { fails: {} },
  },
  {
    name: 'A claimed service account (namespace/name) is allowed.',
    given: { pod: gpuPod(), req: { username: 'system:serviceaccount:kubeflow:training-operator' } },
    want: { fails: {} },
  },
  {
    name: 'Any service account of a claimed namespace (namespace/*) is allowed.',
    given: { pod: gpuPod(), req: { username: 'system:serviceaccount:azureml:runner' } },
    want: { fails: {} },
  },
  {
    name: 'A service account of the same name in another namespace is denied.',
    given: { pod: gpuPod(), req: { username: 'system:serviceaccount:default:training-operator' } },
    want: { fails: { 'identity-claims': /system:serviceaccount:default:training-operator is not allowed/ } },
  },
  {
    name: 'A requester whose userInfo.extra carries a claimed value is allowed.',
    given: { pod: gpuPod(), req: { username: 'carol', extra: { 'ml.azure.com/tenant': ['tenant-1'] } } },
    want: { fails: {} },
  },
  {
    name: 'A requester whose extra value is not claimed is denied.',
    given: { pod: gpuPod(), req: { username: 'carol', extra: { 'ml.azure.com/tenant': ['tenant-2'] } } },
    want: { fails: { 'identity-claims': /carol is not allowed/ } },
  },
  {
    name: 'A pod in a namespace the compute does not list is denied by identity-claims.',
    given: { pod: gpuPod(), req: { namespace: 'default' } },
    want: { fails: { 'identity-claims': /^namespace default may not use compute gpu-compute \(allowed: azureml, team-a, aml-training\)$/ } },
  },
  {
    name: 'A compute with no identity claims lets anyone in any namespace create pods.',
    given: { pod: cpuPod(), req: { username: 'anyone', namespace: 'elsewhere' } },
    want: { fails: {} },
  },

  // resource-claims
  {
    name: 'A fractional GPU quantity is denied.',
    given: { pod: gpuPod({ gpus: '0.5' }) },
    want: { fails: { 'resource-claims': /container main: nvidia\.com\/gpu must be a whole number/ } },
  },
  {
    name: 'GPU requests that differ from limits are denied.',
    given: { pod: gpuPod({ gpus: { requests: '1', limits: '2' } }) },
    want: { fails: { 'resource-claims': /requests \(1\) must equal limits \(2\)/ } },
  },
  {
    name: 'A GPU request without a limit is denied.',
    given: { pod: gpuPod({ gpus: { requests: '1' } }) },
    want: { fails: { 'resource-claims': /requested without a limit/ } },
  },
  {
    name: 'More GPUs than the compute allows per pod is denied.',
    given: { pod: gpuPod({ instanceType: 'a100-8', gpus: '9', nodeSelector: { agentpool: 'a100' } }) },
    want: { fails: { 'resource-claims': /pod requests 9 GPUs; compute gpu-compute allows at most 8 per pod/ } },
  },
  {
    name: 'A sidecar’s GPUs count with the containers’ (KEP-753), so 8 + 1 is over the limit of 8.',
    given: { pod: withSidecar(gpuPod({ instanceType: 'a100-8', gpus: '8', nodeSelector: { agentpool: 'a100' } }), '1') },
    want: { fails: { 'resource-claims': /pod requests 9 GPUs; compute gpu-compute allows at most 8 per pod/ } },
  },
  {
    name: 'An instance type the compute defines but the claims do not allow is denied.',
    given: { pod: cpuPod({ instanceType: 'big' }) },
    want: { fails: { 'resource-claims': /^instance type big is not allowed \(allowed: small\)$/ } },
  },
  {
    name: 'A PVC outside the allowed claims is denied.',
    given: {
      pod: gpuPod({
        volumes: [
          { name: 'd', persistentVolumeClaim: { claimName: 'datasets' } },
          { name: 'x', persistentVolumeClaim: { claimName: 'secrets-pvc' } },
        ],
      }),
    },
    want: { fails: { 'resource-claims': /^PVC secrets-pvc not allowed \(allowed: datasets, checkpoints\)$/ } },
  },
  {
    name: 'Allowed PVCs are allowed.',
    given: { pod: gpuPod({ volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'checkpoints' } }] }) },
    want: { fails: {} },
  },
  {
    name: 'A blobfuse mount naming a secret outside the allowed ones is denied.',
    given: {
      pod: gpuPod({
        annotations: { 'ml.azure.com/blobfuse-mounts': JSON.stringify([{ name: 'data', container: 'c', mountPath: '/data', secretName: 'other-creds' }]) },
      }),
    },
    want: { fails: { 'resource-claims': /^blobfuse secret other-creds not allowed \(allowed: blob-creds\)$/ } },
  },
  {
    name: 'A blobfuse flexVolume naming a secret outside the allowed ones is denied.',
    given: {
      pod: gpuPod({ volumes: [{ name: 'data', flexVolume: { driver: 'azure/blobfuse', secretRef: { name: 'stolen' }, options: { container: 'c' } } }] }),
    },
    want: { fails: { 'resource-claims': /blobfuse secret stolen not allowed/ } },
  },
  {
    name: 'An inline Blob CSI volume naming a secret outside the allowed ones is denied, by attribute or by nodePublishSecretRef.',
    given: {
      pod: gpuPod({
        volumes: [
          { name: 'a', csi: { driver: 'blob.csi.azure.com', volumeAttributes: { containerName: 'c', secretName: 'stolen' } } },
          { name: 'b', csi: { driver: 'blob.csi.azure.com', volumeAttributes: { containerName: 'c' }, nodePublishSecretRef: { name: 'taken' } } },
        ],
      }),
    },
    want: { fails: { 'resource-claims': /blobfuse secret stolen, taken not allowed/ } },
  },
  {
    name: 'A blobfuse mount naming an allowed secret is allowed.',
    given: {
      pod: gpuPod({
        annotations: { 'ml.azure.com/blobfuse-mounts': JSON.stringify([{ name: 'data', container: 'c', mountPath: '/data', secretName: 'blob-creds' }]) },
      }),
    },
    want: { fails: {} },
  },
  {
    name: 'A self-set nodeSelector on a compute that forbids it is denied; the instance type’s selector is not self-set.',
    given: { pod: cpuPod({ nodeSelector: { agentpool: 'cpu2', disk: 'ssd' } }) },
    want: { fails: { 'resource-claims': /^pods of compute cpu-compute may not set their own nodeSelector \(disk\)$/ } },
  },
  {
    name: 'Self-set node affinity on a compute that forbids it is denied.',
    given: { pod: cpuPod({ terms: [term('agentpool', 'In', ['cpu2'])] }) },
    want: { fails: { 'resource-claims': /may not set node affinity/ } },
  },
  {
    name: 'A self-set toleration on a compute that forbids it is denied.',
    given: { pod: cpuPod({ tolerations: [...amlTolerations('cpu-compute'), { key: 'spot', operator: 'Exists', effect: 'NoSchedule' }] }) },
    want: { fails: { 'resource-claims': /may not set their own tolerations \(spot\)/ } },
  },
  {
    name: 'Kubernetes’ default not-ready/unreachable tolerations are not self-set.',
    given: {
      pod: cpuPod({
        tolerations: [
          ...amlTolerations('cpu-compute'),
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        ],
      }),
    },
    want: { fails: {} },
  },

  // policy-input
  {
    name: 'A pod naming a compute the policy does not define is denied with 422.',
    given: { pod: pod({ compute: 'nope', nodeSelector: { agentpool: 'cpupool' } }) },
    want: { fails: { 'policy-input': /^compute nope is not defined in the policy \(defined: gpu-compute, cpu-compute\)$/ }, code: 422 },
  },
  {
    name: 'A pod naming an instance type its compute does not define is denied with 422.',
    given: { pod: gpuPod({ instanceType: 'h100' }) },
    want: { fails: { 'policy-input': /^instance type h100 is not defined for compute gpu-compute/ }, code: 422 },
  },
  {
    name: 'A blobfuse annotation that is not JSON is denied with 422 without echoing it.',
    given: { pod: gpuPod({ annotations: { 'ml.azure.com/blobfuse-mounts': '[{"secretName": "s3cr3t"' } }) },
    want: { fails: { 'policy-input': /^annotation ml\.azure\.com\/blobfuse-mounts is not valid JSON$/ }, code: 422 },
  },
  {
    name: 'An object that is not a Pod at all is denied by policy-input with 422.',
    given: { pod: 'not a pod' },
    want: { fails: { 'policy-input': /is not a Pod object/ }, code: 422 },
  },
  {
    name: 'A pod whose fields have the wrong types is denied by policy-input with 422, naming the first such field.',
    given: { pod: { ...plainPod(), spec: { containers: [{ name: 'c' }], tolerations: 'all' } } },
    want: { fails: { 'policy-input': /^the object under review is not a valid Pod: spec\.tolerations must be a list of objects$/ }, code: 422 },
  },
  {
    name: 'When policy-input fails alongside a 403 rule, the code is 422 and both are named.',
    given: { pod: gpuPod({ instanceType: 'h100' }), req: { username: 'mallory' } },
    want: { fails: { 'identity-claims': /mallory is not allowed/, 'policy-input': /instance type h100/ }, code: 422 },
  },
];

function failedRules(outcomes: readonly { ruleId: string; result: string; message?: string }[]) {
  return Object.fromEntries(outcomes.filter((o) => o.result === 'fail').map((o) => [o.ruleId, o.message ?? '']));
}

describe('validating rules', () => {
  for (const t of cases) {
    it(t.name, () => {
      const verdict = validatePod(t.given.policy ?? policy, podRequest(t.given.pod, t.given.req), t.given.nodes === null ? {} : { nodes });
      const failed = failedRules(verdict.outcomes);
      assert.deepEqual(Object.keys(failed).sort(), Object.keys(t.want.fails).sort(), `failed rules: ${JSON.stringify(failed)}`);
      for (const [rule, pattern] of Object.entries(t.want.fails)) assert.match(failed[rule]!, pattern!);
      if (Object.keys(t.want.fails).length === 0) {
        assert.equal(verdict.kind, 'allowed');
        return;
      }
      assert.equal(verdict.kind, 'denied');
      if (verdict.kind !== 'denied') return;
      assert.equal(verdict.code, t.want.code ?? 403);
      for (const rule of Object.keys(t.want.fails)) assert.ok(verdict.message.includes(`[${rule}] `), `message names ${rule}: ${verdict.message}`);
    });
  }
});
