import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUILTIN_POLICY_YAML } from '../../src/policy/builtin.js';
import { loadPolicy } from '../../src/policy/loader.js';
import { policySchema } from '../../src/policy/schema.js';
import { RULE_IDS } from '../../src/policy/types.js';

const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');

/** Every field name the schema defines, at any depth. */
function fieldNames(schema: unknown, out = new Set<string>()): Set<string> {
  if (typeof schema !== 'object' || schema === null) return out;
  const s = schema as Record<string, unknown>;
  for (const [name, sub] of Object.entries((s.properties as Record<string, unknown>) ?? {})) {
    out.add(name);
    fieldNames(sub, out);
  }
  fieldNames(s.additionalProperties, out);
  fieldNames(s.items, out);
  return out;
}

const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const policies = yamlBlocks.filter((b) => b.startsWith('apiVersion:'));

describe('docs/policy.md', () => {
  it('Documents every field of the policy schema in a table row.', () => {
    // Rule ids are keys of `rules`; the next test checks they are documented.
    const fields = [...fieldNames(policySchema)].filter((name) => !(RULE_IDS as readonly string[]).includes(name));
    const missing = fields.filter((name) => !new RegExp(`^\\| \`([\\w.]+\\.)?${name}\` \\|`, 'm').test(doc));
    assert.deepEqual(missing, []);
  });

  it('Names every rule id.', () => {
    assert.deepEqual(
      RULE_IDS.filter((id) => !doc.includes(`\`${id}\``)),
      [],
    );
  });

  it('Shows a complete example and the built-in policy, both valid, the latter exactly as built in.', () => {
    assert.equal(policies.length, 2);
    for (const p of policies) {
      const r = loadPolicy(p);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    }
    assert.equal(policies[1], BUILTIN_POLICY_YAML);
  });
});
