import { spawn } from 'node:child_process';
import { buildCli } from '../../src/cli.js';
import { reportError } from '../../src/commands/exitCodes.js';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export const fixturePath = (name: string) => new URL(`../fixtures/validation/dryrun/${name}`, import.meta.url).pathname;
export const ROOT = new URL('../..', import.meta.url).pathname;

/** Runs the CLI in-process with captured output (and `stdin` as its stdin); errors end it with their code, as in main.ts. */
export async function runCli(args: readonly string[], stdin?: string): Promise<CliRun> {
  let out = '';
  let err = '';
  let code = 0;
  const program = buildCli({
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: {},
    ...(stdin !== undefined ? { stdin: async () => stdin } : {}),
    onSignal: () => undefined,
    setExitCode: (c) => (code = c),
  });
  try {
    await program.parseAsync(['node', 'aml-admission', ...args]);
  } catch (e) {
    code = reportError(e, (t) => (err += t));
  }
  return { code, out, err };
}

/** Runs the real entry point (`node --import tsx src/main.ts ...`) in a child process. */
export function spawnCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}
