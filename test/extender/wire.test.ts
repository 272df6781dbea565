import assert from 'node:assert/strict';
import { MemoryNodeCache } from '../../src/extender/cache.js';
import { filter, prioritize } from '../../src/extender/extender.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { pod, testPolicy } from './fixtures.js';

const ctx = { snapshot: new PolicySnapshot(testPolicy()), view: new MemoryNodeCache().view() };
const ok = pod();
const TERMS = 'Pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';

function withSpec(spec: Record<string, unknown>): object {
  return { ...ok, spec: { ...ok.spec, ...spec } };
}

const malformed: { name: string; given: unknown; want: string }[] = [
  { name: 'a JSON null', given: null, want: 'ExtenderArgs must be a JSON object' },
  { name: 'a JSON list', given: [], want: 'ExtenderArgs must be a JSON object' },
  { name: 'arguments without a Pod', given: { NodeNames: ['n1'] }, want: 'ExtenderArgs.Pod must be a Pod object' },
  { name: 'a Pod that is a string', given: { Pod: 'train-0', NodeNames: ['n1'] }, want: 'ExtenderArgs.Pod must be a Pod object' },
  { name: 'a Pod whose spec is not an object', given: { Pod: { metadata: {}, spec: 7 }, NodeNames: ['n1'] }, want: 'Pod.spec must be an object' },
  { name: 'neither Nodes nor NodeNames', given: { Pod: ok, Nodes: null, NodeNames: null }, want: 'ExtenderArgs needs Nodes or NodeNames' },
  { name: 'NodeNames that is not a list', given: { Pod: ok, NodeNames: 'n1' }, want: 'ExtenderArgs.NodeNames must be a list of node names' },
  { name: 'NodeNames with a number in it', given: { Pod: ok, NodeNames: ['n1', 3] }, want: 'ExtenderArgs.NodeNames must be a list of node names' },
  { name: 'NodeNames with an empty name', given: { Pod: ok, NodeNames: [''] }, want: 'ExtenderArgs.NodeNames must be a list of node names' },
  {
    name: 'a Node listed twice',
    given: { Pod: ok, Nodes: { items: [{ metadata: { name: 'n1' } }, { metadata: { name: 'n1' }, spec: { unschedulable: true } }] } },
    want: 'ExtenderArgs.Nodes lists node "n1" more than once',
  },
  { name: 'Nodes that is a list rather than a NodeList', given: { Pod: ok, Nodes: [] }, want: 'ExtenderArgs.Nodes must be a NodeList object' },
  { name: 'Nodes.items that is not a list', given: { Pod: ok, Nodes: { items: {} } }, want: 'ExtenderArgs.Nodes.items must be a list of Nodes' },
  {
    name: 'a Node without a name',
    given: { Pod: ok, Nodes: { items: [{ metadata: { name: 'n1' } }, { metadata: {} }] } },
    want: 'ExtenderArgs.Nodes.items[1] has no metadata.name',
  },
  { name: 'a Node that is not an object', given: { Pod: ok, Nodes: { items: ['n1'] } }, want: 'ExtenderArgs.Nodes.items[0] has no metadata.name' },
  {
    name: 'tolerations that are not a list',
    given: { Pod: withSpec({ tolerations: 'all' }), NodeNames: ['n1'] },
    want: 'Pod.spec.tolerations must be a list of objects',
  },
  {
    name: 'a container that is not an object',
    given: { Pod: withSpec({ containers: [null] }), NodeNames: ['n1'] },
    want: 'Pod.spec.containers must be a list of objects',
  },
  {
    name: 'a nodeSelector that is a list',
    given: { Pod: withSpec({ nodeSelector: ['agentpool=gpupool'] }), NodeNames: ['n1'] },
    want: 'Pod.spec.nodeSelector must be an object',
  },
  { name: 'an affinity that is a string', given: { Pod: withSpec({ affinity: 'gpupool' }), NodeNames: ['n1'] }, want: 'Pod.spec.affinity must be an object' },
  {
    name: 'node selector terms that are not a list',
    given: { Pod: withSpec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: {} } } } }), NodeNames: ['n1'] },
    want: `${TERMS} must be a list`,
  },
  {
    name: 'a node selector term that is null',
    given: {
      Pod: withSpec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [null] } } } }),
      NodeNames: ['n1'],
    },
    want: `${TERMS}[0] must be an object`,
  },
  {
    name: 'a requirement without an operator',
    given: {
      Pod: withSpec({
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'agentpool' }] }] } } },
      }),
      NodeNames: ['n1'],
    },
    want: `${TERMS}[0].matchExpressions must be a list of {key, operator, values}`,
  },
  {
    name: 'requirement values that are not a list of strings',
    given: {
      Pod: withSpec({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'agentpool', operator: 'In', values: 5 }] }] },
          },
        },
      }),
      NodeNames: ['n1'],
    },
    want: `${TERMS}[0].matchExpressions must be a list of {key, operator, values}`,
  },
  {
    name: 'a GPU count that is not a whole number',
    given: { Pod: pod({ gpus: '1.5' }), NodeNames: ['n1'] },
    want: 'Pod asks for nvidia.com/gpu with a quantity that is not a whole number',
  },
  {
    name: 'a GPU count that is a fractional JSON number',
    given: { Pod: withSpec({ containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': 1.5 } } }] }), NodeNames: ['n1'] },
    want: 'Pod asks for nvidia.com/gpu with a quantity that is not a whole number',
  },
];

describe('extender arguments', () => {
  for (const t of malformed) {
    it(`answers filter with Error set for ${t.name}`, () => {
      const answer = filter(t.given, ctx);
      assert.deepEqual(JSON.parse(answer.payload), { Nodes: null, NodeNames: null, FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: t.want });
      assert.equal(answer.decision, 'error');
    });
    it(`answers prioritize with no scores for ${t.name}`, () => {
      const answer = prioritize(t.given, ctx);
      assert.equal(answer.payload, '[]');
      assert.equal(answer.error, t.want);
    });
  }

  it('gives a repeated NodeName the same verdict each time', () => {
    const cache = new MemoryNodeCache();
    cache.upsertNode({ metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const body = { Pod: ok, NodeNames: ['n1', 'n2', 'n1'] };
    assert.deepEqual(JSON.parse(filter(body, { ...ctx, view: cache.view() }).payload).NodeNames, ['n1', 'n1']);
    assert.deepEqual(JSON.parse(prioritize(body, { ...ctx, view: cache.view() }).payload), [
      { Host: 'n1', Score: 10 },
      { Host: 'n2', Score: 0 },
      { Host: 'n1', Score: 10 },
    ]);
  });

  it('judges a pod whose required node affinity uses matchFields by everything but that term', () => {
    // DaemonSet-style pods pin a node by metadata.name; the scheduler applied that before calling us.
    const p = withSpec({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] },
        },
      },
    });
    const node = { metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    assert.deepEqual(JSON.parse(filter({ Pod: p, Nodes: { items: [node] } }, ctx).payload).Nodes.items, [node]);
  });
});
