import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Metrics } from '../../src/observability/metrics.js';

/** The metric names the server registers (Node's process metrics aside: prom-client documents those). */
function registered(): string[] {
  return new Metrics({ defaultMetrics: false }).registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .sort();
}

describe('metrics docs', () => {
  it('docs/metrics.md lists every metric the server registers in its table, and no metric it lacks.', async () => {
    const doc = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `aml_admission_'));
    const listed = rows.map((l) => /^\| `([a-z_]+)`/.exec(l)![1]!).sort();
    assert.deepEqual(listed, registered());
  });

  it('The README names every metric the server registers.', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('- **Metrics**'), readme.indexOf('- **Logs**'));
    assert.deepEqual(
      registered().filter((name) => !section.includes(`\`${name}{`) && !section.includes(`\`${name}\``)),
      [],
    );
  });
});
