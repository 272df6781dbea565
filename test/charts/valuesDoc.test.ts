import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any -- values are plain YAML */
type Obj = Record<string, any>;

/**
 * Every value of charts/aml-admission/values.yaml is a row of the table in docs/deploy.md
 * ("Helm") with its default, and every row is a value. A value is a leaf, or a map that is one
 * value as a whole (resources, an empty map).
 */
function leaves(values: Obj, prefix = ''): [string, unknown][] {
  return Object.entries(values).flatMap(([k, v]): [string, unknown][] =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0 && k !== 'resources'
      ? leaves(v, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v]],
  );
}

const values = new Map(leaves(parse(readFileSync('charts/aml-admission/values.yaml', 'utf8')) as Obj));
const doc = readFileSync('docs/deploy.md', 'utf8');
const section = doc.slice(doc.indexOf('\n## Helm\n'), doc.indexOf('\n## ', doc.indexOf('\n## Helm\n') + 1));
const rows = new Map([...section.matchAll(/^\| `([^`]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1]!, m[2]!]));

describe('docs/deploy.md documents every value of the Helm chart', () => {
  it('has a row for each value of values.yaml, and no row for a value it does not have', () => {
    assert.ok(values.size > 20);
    assert.deepEqual([...rows.keys()], [...values.keys()]);
  });

  for (const [key, value] of values) {
    it(`gives ${key}'s default as values.yaml has it`, () => assert.equal(rows.get(key), JSON.stringify(value)));
  }
});
