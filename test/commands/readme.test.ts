import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildCli } from '../../src/cli.js';
import { ROOT } from './helpers.js';

/** The README's command table is the CLI's `--help` in short: every command, subcommand and option. */

interface Leaf {
  readonly path: string;
  readonly command: Command;
}

function leaves(c: Command, path: string[] = []): Leaf[] {
  return c.commands
    .filter((s) => s.name() !== 'help')
    .flatMap((s) => (s.commands.length > 0 ? leaves(s, [...path, s.name()]) : [{ path: [...path, s.name()].join(' '), command: s }]));
}

const cli = buildCli({ out: () => undefined, err: () => undefined, env: {}, onSignal: () => undefined });

/** The rows of the table under "## Commands": the command spans of the first cell, and the whole row. */
async function commandTable(): Promise<{ section: string; rows: { spans: string[]; text: string }[] }> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Commands\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const lines = section.split('\n');
  const header = lines.indexOf('| command | does |');
  assert.ok(header >= 0, 'the command table starts with "| command | does |"');
  const end = lines.findIndex((l, i) => i > header && !l.startsWith('|'));
  const rows = lines.slice(header + 2, end).map((text) => {
    const first = text.slice(2).split(/(?<!\\) \| /)[0]!;
    return { spans: [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), text };
  });
  return { section, rows };
}

const names = (path: string, span: string) => span === path || span.startsWith(`${path} `);
const mentions = (text: string, flag: string) => new RegExp(`(^|[^\\w-])${flag}(?![\\w-])`).test(text);

describe('README command table', () => {
  const commands = leaves(cli);

  for (const { path, command } of commands) {
    it(`names \`${path}\` with every option of its --help.`, async () => {
      const { section, rows } = await commandTable();
      const row = rows.find((r) => r.spans.some((s) => names(path, s)));
      assert.ok(row, `no row for ${path} in the README command table`);
      // serve's flags have a table of their own below the command table.
      const where = path === 'serve' ? section : row.text;
      const missing = command.options.filter((o) => ![o.long, o.short].some((f) => f !== undefined && mentions(where, f))).map((o) => o.flags);
      assert.deepEqual(missing, [], `options of ${path} missing from the README`);
    });
  }

  it('names only commands that exist.', async () => {
    const { rows } = await commandTable();
    const known = commands.map((c) => c.path);
    const unknown = rows.flatMap((r) => r.spans).filter((s) => !known.some((p) => names(p, s)));
    assert.deepEqual(unknown, []);
  });

  it('names the program options (--version) in the section.', async () => {
    const { section } = await commandTable();
    for (const o of cli.options) assert.ok(mentions(section, o.long!), `${o.flags} missing`);
  });
});

describe('--help', () => {
  it('A command group summarises the subcommands it has, no others.', () => {
    for (const group of cli.commands.filter((c) => c.commands.length > 0)) {
      const subcommands = group.commands.map((c) => c.name()).filter((n) => n !== 'help');
      assert.equal(group.description(), `policy documents: ${subcommands.join(', ')} (docs/policy.md)`);
    }
  });
});
