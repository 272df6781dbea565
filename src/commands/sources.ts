import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileErrorText } from '../util/fileErrors.js';
import type { Problem } from './inputs.js';

/**
 * `-f` as kubectl takes it: files, `-` for stdin, directories (their .yaml, .yml and .json files,
 * in name order; subdirectories only with -R), several values or comma lists. The I/O edge of
 * dry-run and audit: what it reads goes to readInputs as text.
 */

/** The name stdin goes by in reports (kubectl says STDIN). */
export const STDIN_NAME = 'stdin';
const EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface SourceText {
  readonly file: string;
  readonly text: string;
}

export interface Sources {
  readonly files: SourceText[];
  readonly problems: Problem[];
}

export interface SourceOptions {
  readonly recursive: boolean;
  /** Reads all of stdin; absent where there is none (then `-` is a problem). */
  readonly stdin?: () => Promise<string>;
}

/** `-f a.yaml,b.yaml -f dir`: every value split at commas, empty parts dropped. */
export function filenameArg(value: string, previous: readonly string[] = []): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}

async function walk(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) found.push(...(await walk(path, true)));
    } else if (EXTENSIONS.some((x) => e.name.endsWith(x))) found.push(path);
  }
  return found;
}

export async function readSources(names: readonly string[], opts: SourceOptions): Promise<Sources> {
  const out: Sources = { files: [], problems: [] };
  const problem = (file: string, message: string) => out.problems.push({ where: { file, doc: 0 }, message });
  let stdinRead = false;
  for (const name of names) {
    if (name === '-') {
      if (stdinRead) problem(STDIN_NAME, 'given more than once (-f -)');
      else if (!opts.stdin) problem(STDIN_NAME, 'cannot be read here');
      else {
        stdinRead = true;
        out.files.push({ file: STDIN_NAME, text: await opts.stdin() });
      }
      continue;
    }
    try {
      if (!(await stat(name)).isDirectory()) {
        out.files.push({ file: name, text: await readFile(name, 'utf8') });
        continue;
      }
      const files = await walk(name, opts.recursive);
      if (files.length === 0) problem(name, `directory holds no ${EXTENSIONS.join(', ')} files${opts.recursive ? '' : ' (-R reads its subdirectories)'}`);
      for (const file of files) {
        try {
          out.files.push({ file, text: await readFile(file, 'utf8') });
        } catch (err) {
          problem(file, `cannot read: ${fileErrorText(err)}`);
        }
      }
    } catch (err) {
      problem(name, `cannot read: ${fileErrorText(err)}`);
    }
  }
  return out;
}
