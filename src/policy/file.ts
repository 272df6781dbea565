import { readFile } from 'node:fs/promises';
import { fileErrorText } from '../util/fileErrors.js';
import { FilePoller } from '../util/watch.js';
import { formatErrors, loadPolicy, type LoadOptions, type LoadResult, type PolicyError } from './loader.js';
import { applyLoaded, type PolicyTarget } from './sources.js';

/** A policy file that could not be read or is not a valid policy; the message lists every error. */
export class PolicyFileError extends Error {
  constructor(
    readonly file: string,
    readonly errors: readonly PolicyError[],
    /** The file could not be read at all (bad input), rather than read and found invalid. */
    readonly unreadable = false,
  ) {
    super(`${file}: ${unreadable ? 'cannot be read' : 'invalid policy'}\n${formatErrors(errors)}`);
    this.name = 'PolicyFileError';
  }
}

/** Reads and checks a policy file; an unreadable file is one error at the root (its code, not its contents). */
export async function readPolicyFile(file: string, opts: LoadOptions = {}): Promise<LoadResult & { readonly text?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `cannot read the file: ${fileErrorText(err)}` }] };
  }
  return { ...loadPolicy(text, opts), text };
}

export interface PolicyFileOptions extends PolicyTarget {
  readonly file: string;
  readonly intervalMs: number;
}

export interface PolicyFileSource {
  /** Checks the file now (tests, and callers that know it changed). */
  poll(): Promise<void>;
  stop(): void;
}

/**
 * `serve --policy FILE`: loads the file into the store (refusing to start on an invalid one),
 * then polls it. A valid change replaces the policy at once; an invalid or unreadable one is
 * logged with every error and its path, and the last good policy stays in force.
 */
export async function startPolicyFile(opts: PolicyFileOptions): Promise<PolicyFileSource> {
  const { file, logger, metrics } = opts;
  const first = await readPolicyFile(file);
  if (!first.ok) {
    metrics?.policyReloads.inc({ source: 'file', result: 'failure' });
    throw new PolicyFileError(file, first.errors, first.text === undefined);
  }
  applyLoaded(first, 'file', { file }, opts);

  let inForce = first.text;
  // A missing file fails every poll; say so once per streak, not every interval.
  let failing: string | undefined;
  const apply = (text: string) => {
    failing = undefined;
    if (text !== inForce && applyLoaded(loadPolicy(text), 'file', { file }, opts)) inForce = text;
  };
  const poller = new FilePoller(
    [file],
    opts.intervalMs,
    ([content]) => apply(content!.toString('utf8')),
    (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code === failing) return;
      failing = code;
      metrics?.policyReloads.inc({ source: 'file', result: 'failure' });
      logger.error({ file, error: code }, 'policy file unreadable; keeping the last good policy');
    },
  );
  await poller.start();
  // The poller's baseline is the file as it is now; catch an edit made since the first read.
  const now = await readPolicyFile(file);
  if (now.text !== undefined) apply(now.text);
  return { poll: () => poller.poll(), stop: () => poller.stop() };
}
