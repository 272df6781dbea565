import type { Operation as PatchOperation } from 'fast-json-patch';

/** What one rule concluded for one request; carried to logs, metrics and the audit log, never to the wire. */
export interface RuleOutcome {
  readonly ruleId: string;
  /** The enforcement action in force (`deny`, `warn`, `audit`) or `mutate` for mutating rules. */
  readonly action: string;
  readonly result: 'pass' | 'fail' | 'mutated' | 'skipped' | 'error';
  readonly message?: string;
}

/**
 * What an admission handler answers: a closed union built by the constructors below.
 * The encoder (review.ts) is an exhaustive switch over `kind`.
 */
interface VerdictBase {
  /** Shown to the kubectl user; each at most 120 characters (trimmed by the encoder). */
  readonly warnings: readonly string[];
  /** Recorded by the API server in its audit log under `<webhook>/<key>`. */
  readonly auditAnnotations: Readonly<Record<string, string>>;
  /** Per-rule results behind the verdict (for the audit log); not sent to the API server. */
  readonly outcomes: readonly RuleOutcome[];
}

export interface Allowed extends VerdictBase {
  readonly kind: 'allowed';
}

export interface Denied extends VerdictBase {
  readonly kind: 'denied';
  /** HTTP-style code placed in `status.code`: 403 for policy, 422 for invalid input. */
  readonly code: number;
  readonly message: string;
}

export interface Patched extends VerdictBase {
  readonly kind: 'patched';
  /** RFC 6902 operations; never empty (an empty patch is an Allowed). */
  readonly ops: readonly PatchOperation[];
}

export interface Errored extends VerdictBase {
  readonly kind: 'errored';
  /** 500 for internal failures; the message must be safe to show to the requester. */
  readonly code: number;
  readonly message: string;
}

export type Verdict = Allowed | Denied | Patched | Errored;
/** Validating webhooks may never return a patch. */
export type ValidationVerdict = Exclude<Verdict, Patched>;

export interface VerdictOptions {
  warnings?: readonly string[];
  auditAnnotations?: Readonly<Record<string, string>>;
  outcomes?: readonly RuleOutcome[];
}

const none: readonly string[] = Object.freeze([]);
const noAnnotations: Readonly<Record<string, string>> = Object.freeze({});
const noOutcomes: readonly RuleOutcome[] = Object.freeze([]);

// Fields are written out rather than spread in: an object spread costs microseconds on the hot path.
export function allowed(opts?: VerdictOptions): Allowed {
  return {
    kind: 'allowed',
    warnings: opts?.warnings ?? none,
    auditAnnotations: opts?.auditAnnotations ?? noAnnotations,
    outcomes: opts?.outcomes ?? noOutcomes,
  };
}

export function denied(code: number, message: string, opts?: VerdictOptions): Denied {
  return {
    kind: 'denied',
    code,
    message,
    warnings: opts?.warnings ?? none,
    auditAnnotations: opts?.auditAnnotations ?? noAnnotations,
    outcomes: opts?.outcomes ?? noOutcomes,
  };
}

/** A patch verdict; an empty op list collapses to Allowed so no empty patch is ever sent. */
export function patched(ops: readonly PatchOperation[], opts?: VerdictOptions): Patched | Allowed {
  if (ops.length === 0) return allowed(opts);
  return {
    kind: 'patched',
    ops,
    warnings: opts?.warnings ?? none,
    auditAnnotations: opts?.auditAnnotations ?? noAnnotations,
    outcomes: opts?.outcomes ?? noOutcomes,
  };
}

export function errored(message: string, opts?: VerdictOptions & { code?: number }): Errored {
  const code = opts?.code ?? 500;
  return {
    kind: 'errored',
    code,
    message,
    warnings: opts?.warnings ?? none,
    auditAnnotations: opts?.auditAnnotations ?? noAnnotations,
    outcomes: opts?.outcomes ?? noOutcomes,
  };
}
