import assert from 'node:assert/strict';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { append, PatchBuilder, PatchError, set, type Mutation } from '../../src/admission/patch.js';
import { escapeToken } from '../../src/k8s/json.js';

/** The oracle: applying the ops to a copy of the original gives what the builder says the document is. */
function applied(doc: object, ops: readonly jsonpatch.Operation[]): unknown {
  return jsonpatch.applyPatch(structuredClone(doc), structuredClone([...ops]), true, false).newDocument;
}

describe('patch compiler (mutation intents → RFC 6902)', () => {
  describe('escapes JSON Pointer tokens', () => {
    const cases = [
      { name: 'a slash in a label key becomes ~1', given: 'ml.azure.com/compute', want: 'ml.azure.com~1compute' },
      { name: 'a tilde becomes ~0 before slashes are escaped', given: 'a~/b', want: 'a~0~1b' },
      { name: 'an array index is written as its number', given: 3, want: '3' },
    ];
    for (const t of cases) it(t.name, () => assert.equal(escapeToken(t.given), t.want));
  });

  const cases: { name: string; given: { doc: object; mutations: Mutation[] }; want: jsonpatch.Operation[] }[] = [
    {
      name: 'Appending to a missing array adds the whole array with the item.',
      given: { doc: { spec: {} }, mutations: [append(['spec', 'tolerations'], { key: 'a' })] },
      want: [{ op: 'add', path: '/spec/tolerations', value: [{ key: 'a' }] }],
    },
    {
      name: 'Two appends to a missing array become one add of a two-item array.',
      given: { doc: { spec: {} }, mutations: [append(['spec', 'tolerations'], { key: 'a' }), append(['spec', 'tolerations'], { key: 'b' })] },
      want: [{ op: 'add', path: '/spec/tolerations', value: [{ key: 'a' }, { key: 'b' }] }],
    },
    {
      name: 'Appending to an existing array uses the /- index.',
      given: { doc: { spec: { tolerations: [{ key: 'x' }] } }, mutations: [append(['spec', 'tolerations'], { key: 'a' })] },
      want: [{ op: 'add', path: '/spec/tolerations/-', value: { key: 'a' } }],
    },
    {
      name: 'Setting a key in a missing map adds the map, escaping nothing inside values.',
      given: { doc: { metadata: { name: 'p' } }, mutations: [set(['metadata', 'annotations', 'scheduling.k8s.io/group-name'], 'job/1')] },
      want: [{ op: 'add', path: '/metadata/annotations', value: { 'scheduling.k8s.io/group-name': 'job/1' } }],
    },
    {
      name: 'Setting a key in an existing map adds the escaped key.',
      given: { doc: { metadata: { annotations: { a: '1' } } }, mutations: [set(['metadata', 'annotations', 'scheduling.k8s.io/group-name'], 'j')] },
      want: [{ op: 'add', path: '/metadata/annotations/scheduling.k8s.io~1group-name', value: 'j' }],
    },
    {
      name: 'Missing parents several levels deep are added as nested maps in one op.',
      given: {
        doc: { spec: { containers: [{ name: 'c' }] } },
        mutations: [set(['spec', 'containers', 0, 'resources', 'requests', 'cpu'], '1'), set(['spec', 'containers', 0, 'resources', 'limits', 'cpu'], '2')],
      },
      want: [{ op: 'add', path: '/spec/containers/0/resources', value: { requests: { cpu: '1' }, limits: { cpu: '2' } } }],
    },
    {
      name: 'Setting a value that is already there emits nothing.',
      given: { doc: { spec: { schedulerName: 'volcano' } }, mutations: [set(['spec', 'schedulerName'], 'volcano')] },
      want: [],
    },
    {
      name: 'Setting a different value on an existing member is a replace.',
      given: { doc: { spec: { schedulerName: 'default-scheduler' } }, mutations: [set(['spec', 'schedulerName'], 'volcano')] },
      want: [{ op: 'replace', path: '/spec/schedulerName', value: 'volcano' }],
    },
    {
      name: 'A null parent is replaced by the built structure.',
      given: { doc: { spec: { nodeSelector: null } }, mutations: [set(['spec', 'nodeSelector', 'agentpool'], 'gpu')] },
      want: [{ op: 'add', path: '/spec/nodeSelector', value: { agentpool: 'gpu' } }],
    },
    {
      name: 'A key set inside a map this patch created joins that map instead of getting an op.',
      given: { doc: { spec: {} }, mutations: [set(['spec', 'nodeSelector'], { a: '1' }), set(['spec', 'nodeSelector', 'b'], '2')] },
      want: [{ op: 'add', path: '/spec/nodeSelector', value: { a: '1', b: '2' } }],
    },
    {
      name: 'No mutations give no ops.',
      given: { doc: { spec: {} }, mutations: [] },
      want: [],
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const before = structuredClone(t.given.doc);
      const b = new PatchBuilder(t.given.doc);
      b.apply(t.given.mutations);
      const ops = b.ops();
      assert.deepEqual(ops, t.want);
      assert.deepEqual(t.given.doc, before, 'the original is not modified');
      assert.deepEqual(applied(before, ops), b.current, 'applying the ops gives the working copy');
    });
  }

  const misfits: { name: string; given: { doc: object; mutation: Mutation } }[] = [
    { name: 'Appending to a map is refused.', given: { doc: { spec: { tolerations: { a: 1 } } }, mutation: append(['spec', 'tolerations'], {}) } },
    { name: 'Setting a key on a list is refused.', given: { doc: { spec: { nodeSelector: [] } }, mutation: set(['spec', 'nodeSelector', 'a'], 'b') } },
    {
      name: 'An index past the end of a list is refused.',
      given: { doc: { spec: { containers: [] } }, mutation: append(['spec', 'containers', 0, 'volumeMounts'], {}) },
    },
    { name: 'An index into a missing list is refused.', given: { doc: { spec: {} }, mutation: append(['spec', 'containers', 0, 'volumeMounts'], {}) } },
    {
      name: 'A "__proto__" key is refused rather than changing a prototype.',
      given: { doc: { metadata: {} }, mutation: set(['metadata', '__proto__', 'polluted'], 'yes') },
    },
    { name: 'A string where a map is expected is refused.', given: { doc: { spec: 'x' }, mutation: set(['spec', 'schedulerName'], 'v') } },
  ];
  for (const t of misfits) {
    it(t.name, () => {
      const b = new PatchBuilder(t.given.doc);
      assert.throws(() => b.apply([set(['metadata', 'name'], 'ok'), t.given.mutation]), PatchError);
      assert.deepEqual(b.ops(), [], 'a refused batch applies nothing, not even its valid part');
      assert.equal(b.current, t.given.doc);
    });
  }

  it('Applying the compiled ops to the original always gives the working copy.', () => {
    const key = fc.constantFrom('a', 'b', 'x/y', 'm~n', '');
    const leaf = fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(null));
    const doc = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3, noNullPrototype: true }), fc.array(leaf, { maxLength: 2 })), {
      maxKeys: 4,
      noNullPrototype: true,
    });
    const path = fc.array(key, { minLength: 1, maxLength: 3 });
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('set' as const), path, value: fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 2, noNullPrototype: true })) }),
      fc.record({ op: fc.constant('append' as const), path, value: leaf }),
    );
    fc.assert(
      fc.property(doc, fc.array(mutation, { maxLength: 6 }), (d, ms) => {
        const b = new PatchBuilder(d);
        for (const m of ms) {
          try {
            b.apply([m]);
          } catch (err) {
            if (!(err instanceof PatchError)) throw err;
          }
        }
        assert.deepEqual(applied(d, b.ops()), b.current);
      }),
      { numRuns: 300 },
    );
  });
});
