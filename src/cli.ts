import { Command } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCerts } from './commands/certs.js';
import { registerDryRun } from './commands/dryrun.js';
import { registerInit } from './commands/init.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerServe } from './commands/serve.js';

/** Where the CLI writes; injected so tests can run commands in-process. */
export interface CliIO {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Registers a shutdown hook for SIGTERM/SIGINT (the process entry point wires real signals). */
  readonly onSignal: (handler: (signal: string) => Promise<void>) => void;
  /** Sets the exit code the process ends with once the command returns (e.g. dry-run: 1 denied, 2 bad input). */
  readonly setExitCode?: (code: number) => void;
}

export function buildCli(io: CliIO): Command {
  const program = new Command('aml-admission')
    .description('Admission webhooks and scheduler extender for Azure Machine Learning training pods')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  registerServe(program, io);
  registerCerts(program, io);
  registerInit(program, io);
  registerDryRun(program, io);
  registerAudit(program, io);
  registerPolicyCommands(program, io);
  return program;
}
