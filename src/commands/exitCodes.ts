import { CommanderError } from 'commander';
import { KubeConfigError, KubeConflictError, KubeError } from '../kube/errors.js';
import { PolicyFileError } from '../policy/file.js';
import { InputError } from '../util/inputError.js';
import { errorText, isFileError } from '../util/fileErrors.js';

/**
 * The exit codes of every command, in one place: the README's "Exit codes" section and the
 * root `--help` are written from this table (a test holds the README to it).
 *
 * 0 and 1 answer the question a command was asked (is it allowed?), as `kubectl diff` answers
 * 0 and 1; every code above 1 says the answer is missing or incomplete, each kind its own code.
 */
export const ExitCode = {
  Ok: 0,
  Denied: 1,
  Usage: 2,
  BadInput: 3,
  InvalidPolicy: 4,
  Cluster: 5,
  Failed: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each code means, as the README and --help say it. */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
  [ExitCode.Ok]: 'everything judged is allowed, every policy is valid, the command did what it was asked (warn- and audit-level findings do not change it)',
  [ExitCode.Denied]: 'something would be refused: dry-run denies an object, audit finds a deny-level violation, a test expectation is not met',
  [ExitCode.Usage]: 'the command line is wrong (unknown command or option, a missing or malformed value, options that conflict); nothing was done',
  [ExitCode.BadInput]:
    'an input cannot be used: a file cannot be read or written, is not valid YAML or JSON, or holds what cannot be judged; or nothing was found to judge',
  [ExitCode.InvalidPolicy]: 'a policy is not valid (policy check, or the --policy of any command)',
  [ExitCode.Cluster]: 'the cluster cannot be used: no kubeconfig, the API server unreachable, a request refused (RBAC) or failing',
  [ExitCode.Failed]: 'anything else stopped the command (e.g. serve cannot listen on its port)',
};

/**
 * When one run has several outcomes (one file denied, another unreadable), the code is the first
 * of these that occurred. As `kyverno apply` puts failures before errors, a denial comes first:
 * it is certain whatever the other files hold, and bad input elsewhere must not hide it. Bad
 * input still outranks 0: what was not judged was not allowed. Usage and Failed stop a command
 * at once, before any other outcome.
 */
export const EXIT_CODE_PRECEDENCE: readonly ExitCode[] = [
  ExitCode.Usage,
  ExitCode.Failed,
  ExitCode.Denied,
  ExitCode.InvalidPolicy,
  ExitCode.Cluster,
  ExitCode.BadInput,
  ExitCode.Ok,
];

/** The code of a run with these outcomes (none: Ok). */
export function exitCodeOf(outcomes: Iterable<ExitCode>): ExitCode {
  const seen = new Set(outcomes);
  return EXIT_CODE_PRECEDENCE.find((c) => seen.has(c)) ?? ExitCode.Ok;
}

/** An error whose kind the command knows: main.ts exits with its code and prints its message, never a stack. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** The code for an error that ended a command: by what went wrong, the same in every command. */
export function exitCodeOfError(err: unknown): ExitCode {
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  if (err instanceof CliError) return err.exitCode;
  // By name, not instanceof: modules loaded on demand (client-node's, through dynamic import) may
  // be a second copy of errors.ts under a loader such as tsx, whose classes are not the same.
  const name = err instanceof Error ? err.name : '';
  if (name === PolicyFileError.name) return (err as PolicyFileError).unreadable ? ExitCode.BadInput : ExitCode.InvalidPolicy;
  if (name === KubeError.name || name === KubeConfigError.name || name === KubeConflictError.name) return ExitCode.Cluster;
  if (name === InputError.name) return ExitCode.BadInput;
  // A path that cannot be used; socket errors (EADDRINUSE) carry no path and are no input of ours.
  if (isFileError(err) && typeof err.path === 'string') return ExitCode.BadInput;
  return ExitCode.Failed;
}

/**
 * How an error that ended a command is told (main.ts, and tests running the CLI in-process):
 * commander has printed its own usage errors; the rest are said in words, never with a stack.
 */
export function reportError(err: unknown, writeErr: (text: string) => void): ExitCode {
  if (!(err instanceof CommanderError)) writeErr(`aml-admission: ${errorText(err)}\n`);
  return exitCodeOfError(err);
}

/** `BadInput` → `bad input`: the kind's name as the README and --help write it. */
export function exitCodeKind(code: ExitCode): string {
  const key = Object.entries(ExitCode).find(([, c]) => c === code)![0];
  return key.replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase();
}

/** The precedence in words, as the README and --help write it. */
export function exitCodePrecedenceText(): string {
  const stopping: readonly ExitCode[] = [ExitCode.Usage, ExitCode.Failed];
  const ranked = EXIT_CODE_PRECEDENCE.filter((c) => !stopping.includes(c) && c !== ExitCode.Ok);
  return (
    `When one run has several outcomes (one file denied, another unreadable), the exit code is the first of ${ranked.join(', ')} that occurred, else ${ExitCode.Ok}: ` +
    `a denial is never hidden by bad input elsewhere, and bad input is never reported as ${ExitCode.Ok}. ` +
    `${stopping.join(' and ')} stop a command before any other outcome.`
  );
}

/** The exit codes for the root --help. */
export function exitCodesHelp(): string {
  const rows = Object.values(ExitCode).map((c) => `  ${c}  ${exitCodeKind(c).padEnd(14)}  ${EXIT_CODE_MEANINGS[c]}`);
  return `\nExit codes (every command):\n${rows.join('\n')}\n${exitCodePrecedenceText()}\n`;
}
