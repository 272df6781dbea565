import { Command } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCerts } from './commands/certs.js';
import { registerDryRun } from './commands/dryrun.js';
import { exitCodesHelp } from './commands/exitCodes.js';
import { registerInit } from './commands/init.js';
import { registerUninstall } from './commands/uninstall.js';
import { registerPolicyCommands } from './commands/policy.js';
import type { CliIO } from './commands/io.js';
import { registerServe } from './commands/serve.js';
import { registerTest } from './commands/testCommand.js';
import { PACKAGE_VERSION } from './util/packageInfo.js';

export function buildCli(io: CliIO): Command {
  const program = new Command('aml-admission')
    .description('Admission webhooks and scheduler extender for Azure Machine Learning training pods')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText('after', exitCodesHelp());

  registerServe(program, io);
  registerCerts(program, io);
  registerInit(program, io);
  registerUninstall(program, io);
  registerDryRun(program, io);
  registerAudit(program, io);
  registerPolicyCommands(program, io);
  registerTest(program, io);
  return program;
}
