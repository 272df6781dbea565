import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { BUILTIN_POLICY_YAML } from '../policy/builtin.js';
import { readPolicyFile } from '../policy/file.js';
import { formatErrors } from '../policy/loader.js';
import { policySchema } from '../policy/schema.js';
import { ExitCode, exitCodeOf } from './exitCodes.js';

/** `aml-admission policy check|schema|default`. */
export function registerPolicyCommands(program: Command, io: CliIO): void {
  const policy = program.command('policy');

  policy
    .command('check')
    .description('validate policy files against the schema; print each error as "path: message"')
    .argument('<file...>', 'policy files (YAML or JSON)')
    .option('--key <key>', 'the files are ConfigMaps (kubectl get configmap -o yaml): check the policy in this data key')
    .action(async (files: string[], o: { key?: string }) => {
      const outcomes: ExitCode[] = [];
      for (const file of files) {
        const result = await readPolicyFile(file, o.key !== undefined ? { configMapKey: o.key } : {});
        if (result.ok) {
          io.out(`${file}: valid (computes: ${Object.keys(result.policy.computes).join(', ')})\n`);
          continue;
        }
        const unreadable = result.text === undefined;
        outcomes.push(unreadable ? ExitCode.BadInput : ExitCode.InvalidPolicy);
        io.out(`${file}: ${unreadable ? 'cannot be checked' : `invalid, ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}`}\n`);
        io.out(`${formatErrors(result.errors)}\n`);
      }
      // An invalid policy outranks an unreadable file (exitCodes.ts): it is certain either way.
      const exit = exitCodeOf(outcomes);
      if (exit !== ExitCode.Ok) io.setExitCode?.(exit);
    });

  policy
    .command('schema')
    .description('print the JSON Schema of the policy document')
    .action(() => io.out(`${JSON.stringify(policySchema, null, 2)}\n`));

  policy
    .command('default')
    .description('print the built-in policy (a starting point for your own)')
    .action(() => io.out(BUILTIN_POLICY_YAML));

  // Named from the subcommands themselves, so the summary cannot promise one that does not exist.
  policy.description(`policy documents: ${policy.commands.map((c) => c.name()).join(', ')} (docs/policy.md)`);
}
