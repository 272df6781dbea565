import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { impersonatedUser } from '../admission/identity.js';
import type { UserInfo } from '../admission/request.js';
import { builtinPolicy } from '../policy/builtin.js';
import { formatErrors, loadPolicy } from '../policy/loader.js';
import { PolicySnapshot } from '../policy/snapshot.js';
import { WorkloadKinds } from '../k8s/workloads.js';
import type { Policy } from '../policy/types.js';
import { fileErrorText } from '../util/fileErrors.js';
import { clusterInstanceTypes, readInstanceTypeObject, type ClusterInstanceTypes } from '../policy/instanceTypeObjects.js';
import { ExitCode, exitCodeOf } from './exitCodes.js';
import { readInputs, whereText, type Inputs, type Problem, type Where } from './inputs.js';
import { filenameArg, readSources } from './sources.js';
import { OutputFormat } from './render.js';

/** What `dry-run` and `audit` share: input options, policy and file loading, requester, exit codes. */

/** The requester for pods when neither --as nor a known controller identity applies. */
export const DEFAULT_REQUESTER: UserInfo = impersonatedUser('dry-run-user', []);

export interface CommonOptions {
  readonly filename: string[];
  readonly recursive?: boolean;
  readonly policy?: string;
  readonly namespace: string;
  readonly output: OutputFormat;
  readonly as?: string;
  readonly asGroup?: string[];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Options shared by `dry-run` and `audit`. */
export function addInputOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '-f, --filename <file...>',
      'YAML or JSON files (multi-document): Pods, Lists, AdmissionReviews, workloads with pod templates; - reads stdin, a directory its .yaml/.yml/.json files, commas separate names',
      filenameArg,
    )
    .option('-R, --recursive', 'read the directories given with -f recursively')
    .option('--policy <file>', 'policy file (default: the built-in policy)')
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default')
    .option(
      '--as <user>',
      'requester username, as kubectl --as (e.g. alice@contoso.com or system:serviceaccount:NS:NAME); system:authenticated is added, and a service account without --as-group gets its groups',
    )
    .option('--as-group <group>', 'requester group (repeatable)', collect)
    .addOption(new Option('-o, --output <format>', 'output format').choices(Object.values(OutputFormat)).default(OutputFormat.Text));
}

export type Loaded =
  { readonly ok: true; readonly snapshot: PolicySnapshot; readonly read: Inputs } | { readonly ok: false; readonly message: string; readonly code: ExitCode };

/** Reads the policy and the input files; a bad policy is an error, bad files are problems in `read`. */
export async function loadCommonInputs(o: CommonOptions, stdin?: () => Promise<string>): Promise<Loaded> {
  let policy: Policy;
  if (o.policy === undefined) policy = builtinPolicy();
  else {
    let text: string;
    try {
      text = await readFile(o.policy, 'utf8');
    } catch (err) {
      return { ok: false, message: `cannot read policy ${o.policy}: ${fileErrorText(err)}`, code: ExitCode.BadInput };
    }
    const loaded = loadPolicy(text);
    if (!loaded.ok) return { ok: false, message: `policy ${o.policy} is invalid:\n${formatErrors(loaded.errors)}`, code: ExitCode.InvalidPolicy };
    policy = loaded.policy;
  }
  const sources = await readSources(o.filename, { recursive: o.recursive === true, ...(stdin ? { stdin } : {}) });
  const read = readInputs(sources.files, { namespace: o.namespace, kinds: new WorkloadKinds(policy.workloads) });
  const { types, problems } = instanceTypesOf(read);
  return { ok: true, snapshot: new PolicySnapshot(policy, types), read: { ...read, problems: [...sources.problems, ...read.problems, ...problems] } };
}

/**
 * The InstanceType objects among the inputs, as a cluster would hold them. One the API server
 * would refuse (deploy/crds/instancetypes.yaml states AML's rules) is bad input.
 */
function instanceTypesOf(read: Inputs): { types: ClusterInstanceTypes; problems: Problem[] } {
  const problems: Problem[] = [];
  const seen = new Map<string, Where>();
  for (const { where, object } of read.instanceTypes) {
    const r = readInstanceTypeObject(object);
    const label = `InstanceType/${r.name || '?'}`;
    if (!r.ok) problems.push({ where, message: `${label} is invalid: ${r.errors.join('; ')}` });
    else if (seen.has(r.name)) problems.push({ where, message: `${label} is defined twice (also at ${whereText(seen.get(r.name)!)})` });
    seen.set(r.name, where);
  }
  return { types: clusterInstanceTypes(read.instanceTypes.map((t) => t.object)), problems };
}

/**
 * `--as`/`--as-group` as the API server's impersonation makes them (admission/identity.ts), so
 * dry-run judges the user `kubectl --as` would be. Groups alone keep the default username.
 */
export function requesterOf(o: CommonOptions): UserInfo | undefined {
  if (o.as === undefined && o.asGroup === undefined) return undefined;
  return impersonatedUser(o.as ?? DEFAULT_REQUESTER.username, o.asGroup ?? []);
}

/**
 * The code of a run over files (exitCodes.ts): Denied when anything was refused, whatever the
 * other files held; else BadInput when any input was bad or nothing could be judged; else Ok.
 */
export function verdictExitCode(read: Inputs, refused: number, judged: number): ExitCode {
  return exitCodeOf([...(refused > 0 ? [ExitCode.Denied] : []), ...(read.problems.length > 0 || judged === 0 ? [ExitCode.BadInput] : [])]);
}
