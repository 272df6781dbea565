import assert from 'node:assert/strict';
import { loadStateText } from '../../src/extender/stateFile.js';

const node = (name: string, gpus = 0) => ({
  metadata: { name },
  status: { allocatable: gpus ? { 'nvidia.com/gpu': String(gpus) } : {}, conditions: [{ type: 'Ready', status: 'True' }] },
});
const boundPod = (name: string, nodeName: string, gpus: number) => ({
  metadata: { name, namespace: 'azureml' },
  spec: { nodeName, containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
});

const cases: { name: string; given: string; want: { nodes: number; pods: number; skipped: number; usedOnN1: number } }[] = [
  {
    name: 'a v1 List with kinds on its items, as kubectl get nodes,pods -o yaml prints',
    given: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { kind: 'Node', ...node('n1', 8) },
        { kind: 'Pod', ...boundPod('p1', 'n1', 3) },
        { kind: 'Service', metadata: { name: 's' } },
      ],
    }),
    want: { nodes: 1, pods: 1, skipped: 1, usedOnN1: 3 },
  },
  {
    name: 'a NodeList and a PodList whose items carry no kind, as the API returns them',
    given: `kind: NodeList\nitems:\n  - ${JSON.stringify(node('n1', 8))}\n  - ${JSON.stringify(node('n2'))}\n---\nkind: PodList\nitems:\n  - ${JSON.stringify(boundPod('p1', 'n1', 2))}\n`,
    want: { nodes: 2, pods: 1, skipped: 0, usedOnN1: 2 },
  },
  {
    name: 'single Node and Pod documents, with empty documents between them',
    given: `---\n${JSON.stringify({ kind: 'Node', ...node('n1', 4) })}\n---\n---\n${JSON.stringify({ kind: 'Pod', ...boundPod('p1', 'n1', 4) })}\n`,
    want: { nodes: 1, pods: 1, skipped: 0, usedOnN1: 4 },
  },
  { name: 'an empty file', given: '', want: { nodes: 0, pods: 0, skipped: 0, usedOnN1: 0 } },
  {
    name: 'a Node without a name, which is skipped',
    given: JSON.stringify({ kind: 'Node', metadata: {} }),
    want: { nodes: 0, pods: 0, skipped: 1, usedOnN1: 0 },
  },
];

describe('extender state file', () => {
  for (const t of cases) {
    it(`loads ${t.name}`, () => {
      const loaded = loadStateText(t.given);
      assert.deepEqual({ nodes: loaded.nodes, pods: loaded.pods, skipped: loaded.skipped, usedOnN1: loaded.cache.view().used('n1', 'nvidia.com/gpu') }, t.want);
    });
  }

  it('refuses text that is not YAML, naming the document', () => {
    assert.throws(() => loadStateText('kind: Node\n---\nitems: [unclosed'), /^Error: document 2: /);
  });
});
