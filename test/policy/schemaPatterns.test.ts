import assert from 'node:assert/strict';
import { loadPolicyObject } from '../../src/policy/loader.js';
import { policySchema, SCHEMA_PATTERNS } from '../../src/policy/schema.js';

/** Schema patterns reach users in words (schema.ts SCHEMA_PATTERNS), never as a regex. */

function patternsIn(node: unknown, found: { pattern: string; description?: unknown }[] = []): typeof found {
  if (Array.isArray(node)) for (const n of node) patternsIn(n, found);
  else if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (typeof o.pattern === 'string') found.push({ pattern: o.pattern, description: o.description });
    for (const v of Object.values(o)) patternsIn(v, found);
  }
  return found;
}

function base(): any {
  return {
    apiVersion: 'aml-admission.azure.com/v1alpha1',
    kind: 'AdmissionPolicy',
    computes: {
      gpu: {
        nodePools: { cpupool: {} },
        defaultInstanceType: 'small',
        instanceTypes: { small: { nodeSelector: { agentpool: 'cpupool' } } },
      },
    },
  };
}

const cases: { name: string; edit: (d: any) => void; want: [string, string] }[] = [
  {
    name: 'A trusted controller given as a username is told to write namespace/name.',
    edit: (d) => (d.trustedControllers = { serviceAccounts: ['system:serviceaccount:kube-system:job-controller'] }),
    want: ['/trustedControllers/serviceAccounts/0', `"system:serviceaccount:kube-system:job-controller" is not ${SCHEMA_PATTERNS.serviceAccount.words}`],
  },
  {
    name: 'A service account claim without its namespace is told namespace/name or namespace/*.',
    edit: (d) => (d.computes.gpu.claims = { identity: { serviceAccounts: ['runner'] } }),
    want: ['/computes/gpu/claims/identity/serviceAccounts/0', `"runner" is not ${SCHEMA_PATTERNS.serviceAccountClaim.words}`],
  },
  {
    name: 'A compute name that is no label value says so once, in words.',
    edit: (d) => (d.computes['gpu compute'] = d.computes.gpu),
    want: ['/computes', `name "gpu compute" is not ${SCHEMA_PATTERNS.name.words}`],
  },
  {
    name: 'A default pool name that is no label value says so in words.',
    edit: (d) => (d.computes.gpu.defaultNodePool = 'cpu pool'),
    want: ['/computes/gpu/defaultNodePool', `"cpu pool" is not ${SCHEMA_PATTERNS.name.words}`],
  },
];

describe('schema patterns in words', () => {
  it('Every pattern of the schema is one of SCHEMA_PATTERNS, described by its words.', () => {
    const known = new Map(Object.values(SCHEMA_PATTERNS).map((p) => [p.pattern, p.words as string]));
    const found = patternsIn(policySchema);
    assert.ok(found.length >= Object.keys(SCHEMA_PATTERNS).length);
    for (const f of found) {
      assert.ok(known.has(f.pattern), `pattern ${f.pattern} has no words in SCHEMA_PATTERNS`);
      assert.equal(f.description, known.get(f.pattern), `the schema describes ${f.pattern} in its words`);
    }
  });

  for (const t of cases) {
    it(t.name, () => {
      const doc = base();
      t.edit(doc);
      const loaded = loadPolicyObject(doc);
      assert.ok(!loaded.ok);
      assert.deepEqual(
        loaded.errors.map((e) => [e.path, e.message]),
        [t.want],
      );
      assert.doesNotMatch(t.want[1], /\^|\$|must match pattern/);
    });
  }
});
