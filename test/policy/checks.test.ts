import assert from 'node:assert/strict';
import { loadPolicyObject } from '../../src/policy/loader.js';

/** A small valid policy; each case edits it into one the loader must refuse (or keep accepting). */
function base(): any {
  return {
    apiVersion: 'aml-admission.azure.com/v1alpha1',
    kind: 'AdmissionPolicy',
    computes: {
      gpu: {
        namespaces: ['team-a'],
        nodePools: {
          cpupool: {},
          gpupool: { gpu: true, reserved: true, taints: [{ key: 'ml.azure.com/compute', value: 'gpu', effect: 'NoSchedule' }] },
        },
        defaultInstanceType: 'small',
        instanceTypes: {
          small: { nodeSelector: { agentpool: 'cpupool' }, resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '2', memory: '8Gi' } } },
          a100: { nodeSelector: { agentpool: 'gpupool' }, resources: { limits: { 'nvidia.com/gpu': '1' } } },
        },
      },
    },
  };
}

interface Case {
  readonly name: string;
  readonly edit: (doc: any) => void;
  /** The path and a pattern of the one error expected; undefined: the policy loads. */
  readonly want?: readonly [string, RegExp];
}

const gpu = (doc: any) => doc.computes.gpu;
const cases: Case[] = [
  { name: 'the base policy loads', edit: () => {} },
  {
    name: 'a quantity the API server rejects (4K)',
    edit: (d) => (gpu(d).instanceTypes.small.resources.limits.memory = '4K'),
    want: ['/computes/gpu/instanceTypes/small/resources/limits/memory', /is not a resource quantity the API server accepts/],
  },
  {
    name: 'a quantity the API server rejects (1ki)',
    edit: (d) => (gpu(d).instanceTypes.small.resources.requests.memory = '1ki'),
    want: ['/computes/gpu/instanceTypes/small/resources/requests/memory', /is not a resource quantity the API server accepts/],
  },
  { name: 'a GPU count spelled 1000m', edit: (d) => (gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = '1000m') },
  { name: 'a GPU count spelled 1e0', edit: (d) => (gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = '1e0') },
  { name: 'a GPU count spelled 2.0', edit: (d) => (gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = '2.0') },
  {
    name: 'a fractional GPU count',
    edit: (d) => (gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = '500m'),
    want: ['/computes/gpu/instanceTypes/a100/resources/limits/nvidia.com~1gpu', /GPU count must be a whole number, got "500m"/],
  },
  {
    name: 'a negative quantity',
    edit: (d) => (gpu(d).instanceTypes.small.resources.requests.cpu = '-1'),
    want: ['/computes/gpu/instanceTypes/small/resources/requests/cpu', /must not be negative/],
  },
  {
    name: 'a request greater than its limit, in other units',
    edit: (d) => (gpu(d).instanceTypes.small.resources.requests.memory = '9000Mi'),
    want: ['/computes/gpu/instanceTypes/small/resources/requests/memory', /request 9000Mi is greater than the limit 8Gi/],
  },
  { name: 'a request equal to its limit in other units', edit: (d) => (gpu(d).instanceTypes.small.resources.requests.memory = '8192Mi') },
  {
    name: 'a GPU in requests only (extended resources cannot be overcommitted)',
    edit: (d) => (gpu(d).instanceTypes.a100.resources = { requests: { 'nvidia.com/gpu': '1' } }),
    want: ['/computes/gpu/instanceTypes/a100/resources/requests/nvidia.com~1gpu', /needs a limit equal to its request/],
  },
  {
    name: "AML's GPU spellings: a whole number, 0 and null (0 and null mean no GPU)",
    edit: (d) => {
      gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = 1;
      gpu(d).instanceTypes.small.resources.limits['nvidia.com/gpu'] = 0;
      gpu(d).instanceTypes.tiny = { resources: { requests: { cpu: '100m', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi', 'nvidia.com/gpu': null } } };
    },
  },
  {
    name: 'a GPU count as a negative number',
    edit: (d) => (gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = -1),
    want: ['/computes/gpu/instanceTypes/a100/resources/limits/nvidia.com~1gpu', /must not be negative, got "-1"/],
  },
  {
    name: 'a GPU count as a fraction number (a number is a whole number or nothing)',
    edit: (d) => (gpu(d).instanceTypes.a100.resources.limits['nvidia.com/gpu'] = 1.5),
    want: ['/computes/gpu/instanceTypes/a100/resources/limits/nvidia.com~1gpu', /must be string,integer,null/],
  },
  {
    name: "an instance type selector that contradicts the AML extension's nodeSelector",
    edit: (d) => {
      d.amlExtension = { nodeSelector: { agentpool: 'cpupool', 'ml-workloads': 'true' } };
      gpu(d).instanceTypes.a100.nodeSelector = { agentpool: 'gpupool' };
    },
    want: ['/computes/gpu/instanceTypes/a100/nodeSelector/agentpool', /agentpool=gpupool contradicts amlExtension\.nodeSelector agentpool=cpupool/],
  },
  {
    name: "a compute with no instance types and no default: AML's built-in defaultinstancetype serves",
    edit: (d) => {
      delete gpu(d).instanceTypes;
      delete gpu(d).defaultInstanceType;
    },
  },
  {
    name: "a compute with no instance types when the cluster's are not honoured",
    edit: (d) => {
      d.amlExtension = { instanceTypes: false };
      delete gpu(d).instanceTypes;
      delete gpu(d).defaultInstanceType;
    },
    want: ['/computes/gpu/defaultInstanceType', /instance type "defaultinstancetype" is not defined in instanceTypes/],
  },
  {
    name: 'claims naming a type only the cluster may define',
    edit: (d) => (gpu(d).claims = { resources: { instanceTypes: ['small', 'cluster-gpu'] } }),
  },
  {
    name: "claims naming an undefined type when the cluster's are not honoured",
    edit: (d) => {
      d.amlExtension = { instanceTypes: false };
      gpu(d).claims = { resources: { instanceTypes: ['small', 'cluster-gpu'] } };
    },
    want: ['/computes/gpu/claims/resources/instanceTypes', /instance type "cluster-gpu" is not defined/],
  },
  {
    name: 'an extended resource request below its limit',
    edit: (d) => (gpu(d).instanceTypes.a100.resources = { requests: { 'example.com/fpga': '1' }, limits: { 'example.com/fpga': '2' } }),
    want: ['/computes/gpu/instanceTypes/a100/resources/requests/example.com~1fpga', /request 1 must equal the limit 2/],
  },
  {
    name: 'a toleration with operator Exists and a value',
    edit: (d) => (gpu(d).tolerations = [{ key: 'team', operator: 'Exists', value: 'a', effect: 'NoSchedule' }]),
    want: ['/computes/gpu/tolerations/0/value', /operator Exists must not have a value/],
  },
  {
    name: 'a GPU toleration without a key that is not Exists',
    edit: (d) => (d.gpu = { tolerations: [{ operator: 'Equal', value: 'x' }] }),
    want: ['/gpu/tolerations/0/operator', /without a key must use operator Exists/],
  },
  {
    name: 'a static AML toleration with tolerationSeconds but not NoExecute',
    edit: (d) => (d.amlTaints = { static: [{ key: 'ml.azure.com/amlarc', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }] }),
    want: ['/amlTaints/static/0/tolerationSeconds', /needs effect NoExecute/],
  },
  {
    name: 'a toleration key that is not a qualified name',
    edit: (d) => (gpu(d).tolerations = [{ key: 'bad key', operator: 'Exists' }]),
    want: ['/computes/gpu/tolerations/0/key', /not a valid taint key/],
  },
  {
    name: 'an instance type whose selector names a pool outside the compute',
    edit: (d) => (gpu(d).instanceTypes.small.nodeSelector = { agentpool: 'otherpool' }),
    want: ['/computes/gpu/instanceTypes/small/nodeSelector', /agentpool=otherpool selects nodes outside the compute's node pools \(cpupool, gpupool\)/],
  },
  {
    name: 'an instance type whose selector names no pool (node-pool adds the default one)',
    edit: (d) => (gpu(d).instanceTypes.a100.nodeSelector = { 'node.kubernetes.io/instance-type': 'Standard_NC6s_v3' }),
  },
  {
    name: 'an invalid namespace name',
    edit: (d) => (gpu(d).namespaces = ['team-a', 'Team_B']),
    want: ['/computes/gpu/namespaces/1', /"Team_B" is not a namespace name/],
  },
  {
    name: 'a reserved pool tainted only with what GPU pods are given anyway',
    edit: (d) => (gpu(d).nodePools.gpupool.taints = [{ key: 'sku', value: 'gpu', effect: 'NoSchedule' }]),
    want: [
      '/computes/gpu/nodePools/gpupool/taints',
      /sku=gpu:NoSchedule is given to other pods too\); taint its nodes e\.g\. ml\.azure\.com\/compute=gpu:NoSchedule/,
    ],
  },
  {
    name: 'a reserved pool without taints',
    edit: (d) => delete gpu(d).nodePools.gpupool.taints,
    want: ['/computes/gpu/nodePools/gpupool/taints', /^reserved pool gpupool needs a NoSchedule or NoExecute taint that only compute gpu's pods tolerate; /],
  },
  {
    name: 'a reserved pool whose only own taint is PreferNoSchedule',
    edit: (d) => (gpu(d).nodePools.gpupool.taints = [{ key: 'ml.azure.com/compute', value: 'gpu', effect: 'PreferNoSchedule' }]),
    want: ['/computes/gpu/nodePools/gpupool/taints', /needs a NoSchedule or NoExecute taint/],
  },
  {
    name: "a reserved pool whose only own taint is the node lifecycle's (node.kubernetes.io/, tolerated by every DaemonSet)",
    edit: (d) => (gpu(d).nodePools.gpupool.taints = [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]),
    want: ['/computes/gpu/nodePools/gpupool/taints', /needs a NoSchedule or NoExecute taint/],
  },
  {
    name: 'a GPU resource name without a domain',
    edit: (d) => (d.gpu = { resourceNames: ['nvidia.com/gpu', 'gpu'] }),
    want: ['/gpu/resourceNames/1', /"gpu" is not an extended resource name \(DOMAIN\/NAME, e\.g\. nvidia\.com\/gpu\)/],
  },
];

describe('policy loader: what the API server or the rules would not hold', () => {
  for (const t of cases) {
    it(`${t.want ? 'refuses' : 'accepts'} ${t.name}`, () => {
      const doc = base();
      t.edit(doc);
      const r = loadPolicyObject(doc);
      if (t.want === undefined) return assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      assert.ok(!r.ok, 'refused');
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
      assert.equal(r.errors[0]!.path, t.want[0]);
      assert.match(r.errors[0]!.message, t.want[1]);
    });
  }
});
