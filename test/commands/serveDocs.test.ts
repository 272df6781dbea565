import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildCli } from '../../src/cli.js';

describe('serve flags in the README', () => {
  it('The README’s serve flag table names every serve flag, and no flag serve lacks.', async () => {
    const program = buildCli({ out: () => {}, err: () => {}, env: {}, onSignal: () => {} });
    const serve = program.commands.find((c) => c.name() === 'serve')!;
    const flags = serve.options.map((o) => o.long!).sort();
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('`serve` flags'), readme.indexOf('## Trying it as a new user'));
    const documented = [...new Set([...table.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]!))].sort();
    assert.deepEqual(
      flags.filter((f) => !documented.includes(f)),
      [],
      'flags missing from the README',
    );
    assert.deepEqual(
      documented.filter((f) => !flags.includes(f)),
      [],
      'README flags serve does not have',
    );
  });

  it('The README shows every serve default as --help shows it (durations as 2s, sizes as 8MiB).', async () => {
    const program = buildCli({ out: () => {}, err: () => {}, env: {}, onSignal: () => {} });
    const serve = program.commands.find((c) => c.name() === 'serve')!;
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('`serve` flags'), readme.indexOf('### Exit codes'));
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const missing = serve.options
      .filter((o) => o.defaultValue !== undefined)
      .map((o) => ({ flag: o.long!, shown: o.defaultValueDescription ?? String(o.defaultValue) }))
      .filter(({ flag, shown }) => !new RegExp(`\`${escape(flag)}[^\`]*\`\\]? \\[${escape(shown)}\\]|\\[\`${escape(flag)}\` ${escape(shown)}\\]`).test(table))
      .map(({ flag, shown }) => `${flag} [${shown}]`);
    assert.deepEqual(missing, []);
  });
});
