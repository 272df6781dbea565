import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { clusterInstanceTypes, readInstanceTypeObject } from '../../src/policy/instanceTypeObjects.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { Policy } from '../../src/policy/types.js';
import { mutate } from '../../src/rules/mutate.js';
import { validate } from '../../src/rules/validate.js';
import { INSTANCE_TYPE_CASES } from '../fixtures/instancetypes/cases.js';
import { podRequest, policyFrom } from '../helpers/admission.js';

const object = (name: string, spec: unknown) => ({ apiVersion: 'amlarc.azureml.com/v1alpha1', kind: 'InstanceType', metadata: { name }, spec });
const resources = (cpu: string, gpu?: number) => ({
  requests: { cpu, memory: '1Gi' },
  limits: { cpu, memory: '1Gi', ...(gpu !== undefined ? { 'nvidia.com/gpu': gpu } : {}) },
});

const POLICY = `
apiVersion: aml-admission.azure.com/v1alpha1
kind: AdmissionPolicy
computes:
  own:
    nodePools: { cpupool: {}, gpupool: { gpu: true } }
    defaultInstanceType: small
    instanceTypes:
      small: { nodeSelector: { agentpool: cpupool }, resources: { requests: { cpu: "1" }, limits: { cpu: "1" } } }
  aml:
    nodePools: { cpupool: {}, gpupool: { gpu: true } }
`;

const policy = (edit?: (doc: any) => void): Policy => policyFrom(POLICY, edit);
const typesOf = (s: PolicySnapshot, compute: string) => s.policy.computes[compute]!.instanceTypes;

const pod = (compute: string, type?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'train', namespace: 'default', labels: { 'ml.azure.com/compute': compute, ...(type ? { 'ml.azure.com/instance-type': type } : {}) } },
  spec: { containers: [{ name: 'main', image: 'busybox' }] },
});

describe('AML InstanceType objects', () => {
  describe("read by AML's rules (the CRD in deploy/crds states the same)", () => {
    for (const t of INSTANCE_TYPE_CASES) {
      it(`${t.refused ? 'refuses' : 'accepts'} ${t.name}`, () => {
        const r = readInstanceTypeObject(object('t', t.spec));
        if (t.refused === undefined) return assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
        assert.ok(!r.ok, 'refused');
        assert.match(r.errors.join('; '), t.refused);
      });
    }

    it('Reads quantities as strings and drops what means "none" (GPU 0 or null).', () => {
      const r = readInstanceTypeObject(
        object('t', { resources: { requests: { cpu: 1, memory: '1Gi', 'nvidia.com/gpu': null }, limits: { cpu: 2, memory: '1Gi', 'nvidia.com/gpu': 0 } } }),
      );
      assert.ok(r.ok);
      assert.deepEqual(r.type, { nodeSelector: {}, resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } } });
    });

    it("Reads AML's documented InstanceTypeList example: both items valid.", () => {
      const text = readFileSync(new URL('../fixtures/instancetypes/aml-examples.yaml', import.meta.url), 'utf8');
      const docs = parseAllDocuments(text).map((d) => d.toJS() as any);
      const items = docs.flatMap((d) => (d.kind === 'InstanceTypeList' ? d.items : [d]));
      const read = items.map(readInstanceTypeObject);
      assert.deepEqual(
        read.map((r) => [r.name, r.ok]),
        [
          ['cpusmall', true],
          ['defaultinstancetype', true],
          ['myinstancetypename', true],
        ],
      );
    });
  });

  describe('combined with the policy (docs/policy.md#amlextension)', () => {
    const cluster = clusterInstanceTypes([
      object('gpu-1', { nodeSelector: { agentpool: 'gpupool' }, resources: resources('4', 1) }),
      object('small', { resources: resources('8') }),
    ]);

    it('Makes every object a type of every compute.', () => {
      const s = new PolicySnapshot(policy(), cluster);
      assert.deepEqual(typesOf(s, 'aml')['gpu-1'], {
        nodeSelector: { agentpool: 'gpupool' },
        resources: { requests: { cpu: '4', memory: '1Gi' }, limits: { cpu: '4', memory: '1Gi', 'nvidia.com/gpu': '1' } },
      });
      assert.deepEqual(typesOf(s, 'own')['gpu-1'], typesOf(s, 'aml')['gpu-1']);
    });

    it("Keeps a compute's own type over an object of the same name.", () => {
      const s = new PolicySnapshot(policy(), cluster);
      assert.deepEqual(typesOf(s, 'own').small!.resources.requests, { cpu: '1' });
      assert.deepEqual(typesOf(s, 'aml').small!.resources.requests, { cpu: '8', memory: '1Gi' });
    });

    it("Gives AML's built-in defaultinstancetype only to a compute whose default it is and that defines none.", () => {
      const s = new PolicySnapshot(policy());
      assert.deepEqual(Object.keys(typesOf(s, 'aml')), ['defaultinstancetype']);
      assert.deepEqual(typesOf(s, 'aml').defaultinstancetype, {
        nodeSelector: {},
        resources: { requests: { cpu: '100m', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } },
      });
      assert.deepEqual(Object.keys(typesOf(s, 'own')), ['small']);
    });

    it('Lets an object named defaultinstancetype override the built-in one.', () => {
      const s = new PolicySnapshot(policy(), clusterInstanceTypes([object('defaultinstancetype', { resources: resources('3') })]));
      assert.deepEqual(typesOf(s, 'aml').defaultinstancetype!.resources.limits, { cpu: '3', memory: '1Gi' });
    });

    it("Joins the extension's nodeSelector to every type, and refuses an object that contradicts it.", () => {
      const p = policy((d) => (d.amlExtension = { nodeSelector: { 'ml-workloads': 'true' } }));
      const s = new PolicySnapshot(
        p,
        clusterInstanceTypes([
          object('gpu-1', { nodeSelector: { agentpool: 'gpupool' }, resources: resources('4', 1) }),
          object('odd', { nodeSelector: { 'ml-workloads': 'false' }, resources: resources('1') }),
        ]),
      );
      assert.deepEqual(typesOf(s, 'own').small!.nodeSelector, { 'ml-workloads': 'true', agentpool: 'cpupool' });
      assert.deepEqual(typesOf(s, 'aml')['gpu-1']!.nodeSelector, { 'ml-workloads': 'true', agentpool: 'gpupool' });
      assert.deepEqual(typesOf(s, 'aml').defaultinstancetype!.nodeSelector, { 'ml-workloads': 'true' });
      assert.equal(typesOf(s, 'aml').odd, undefined);
      assert.match(
        s.refusedInstanceTypes.get('odd')!,
        /ml-workloads=false, but the AML extension's nodeSelector \(amlExtension.nodeSelector\) wants ml-workloads=true/,
      );
    });

    it('Ignores the objects with amlExtension.instanceTypes: false.', () => {
      const p = policy((d) => {
        d.amlExtension = { instanceTypes: false };
        d.computes.aml.instanceTypes = { x: {} };
        d.computes.aml.defaultInstanceType = 'x';
      });
      const s = new PolicySnapshot(p, cluster);
      assert.deepEqual(Object.keys(typesOf(s, 'aml')), ['x']);
      assert.equal(s.policy, p, 'the policy as loaded, not a copy');
    });
  });

  describe('in admission', () => {
    it("Mutates a pod naming an object's type with its selector and resources, GPUs as a count.", () => {
      const s = new PolicySnapshot(policy(), clusterInstanceTypes([object('gpu-1', { nodeSelector: { agentpool: 'gpupool' }, resources: resources('4', 1) })]));
      const v = mutate(s, podRequest(pod('aml', 'gpu-1'))).verdict;
      assert.equal(v.kind, 'patched');
      const ops = v.kind === 'patched' ? v.ops : [];
      assert.deepEqual(
        ops.find((o) => o.path === '/spec/nodeSelector'),
        { op: 'add', path: '/spec/nodeSelector', value: { agentpool: 'gpupool' } },
      );
      assert.deepEqual(
        ops.find((o) => o.path === '/spec/containers/0/resources'),
        {
          op: 'add',
          path: '/spec/containers/0/resources',
          value: { requests: { cpu: '4', memory: '1Gi' }, limits: { cpu: '4', memory: '1Gi', 'nvidia.com/gpu': '1' } },
        },
      );
    });

    it("Gives a pod without an instance-type label AML's built-in default type.", () => {
      const v = mutate(new PolicySnapshot(policy()), podRequest(pod('aml'))).verdict;
      const ops = v.kind === 'patched' ? v.ops : [];
      assert.deepEqual((ops.find((o) => o.path === '/spec/containers/0/resources') as { value?: unknown } | undefined)?.value, {
        requests: { cpu: '100m', memory: '2Gi' },
        limits: { cpu: '2', memory: '2Gi' },
      });
    });

    it('Denies a pod naming a refused object with the reason (policy-input).', () => {
      const s = new PolicySnapshot(
        policy(),
        clusterInstanceTypes([
          object('broken', { resources: { requests: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': 1 }, limits: { cpu: '1', memory: '1Gi' } } }),
        ]),
      );
      const v = validate(s, podRequest(pod('aml', 'broken'))).verdict;
      assert.equal(v.kind, 'denied');
      assert.match(
        v.kind === 'denied' ? v.message : '',
        /\[policy-input\] instance type broken: its InstanceType object is refused: spec.resources.requests\[nvidia.com\/gpu\]: nvidia.com\/gpu goes in limits only/,
      );
    });

    it('Keeps the objects across a policy reload, and the policy across an object change.', () => {
      const store = new PolicyStore(policy(), 'file');
      store.setInstanceTypes(clusterInstanceTypes([object('gpu-1', { resources: resources('4', 1) })]));
      store.replace(
        policy((d) => (d.computes.aml.namespaces = ['team-a'])),
        'file',
      );
      assert.ok(typesOf(store.current(), 'aml')['gpu-1']);
      store.setInstanceTypes(clusterInstanceTypes([]));
      assert.equal(typesOf(store.current(), 'aml')['gpu-1'], undefined);
      assert.deepEqual(store.current().policy.computes.aml!.namespaces, ['team-a']);
    });
  });
});
