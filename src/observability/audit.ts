import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import type { ReviewOutcome } from '../admission/webhook.js';
import type { RuleOutcome } from '../admission/verdict.js';
import type { ReviewObserver } from '../http/webhookRoute.js';
import { AuditFile, type AuditFileOptions, type Rotation } from './auditFile.js';
import { objectName } from '../k8s/pod.js';
import { isoTime } from './logger.js';

/**
 * The policy audit log (SPEC §7): one JSON line per admission decision, dry-run ones included.
 * Only the fields below are written — never the object, its env values, secret contents,
 * tokens or userInfo.extra — so nothing secret can reach the log by construction.
 */
export interface AuditRecord {
  readonly uid: string;
  readonly endpoint: string;
  readonly operation: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly username: string;
  readonly groups: readonly string[];
  /** What the rules resolved: the AML compute the object names, its instance type, the pools it can reach. */
  readonly compute?: string;
  readonly instanceType?: string;
  readonly pools?: readonly string[];
  readonly outcomes: readonly RuleOutcome[];
  /** The patch's operations without their values. */
  readonly patch: readonly { readonly op: string; readonly path: string }[];
  readonly decision: string;
  /** status.code and message of a denied or errored answer. */
  readonly code?: number;
  readonly message?: string;
  readonly warnings?: readonly string[];
  readonly latencyMs: number;
  readonly dryRun: boolean;
}

/** Builds the record for one answered review, with the facts the rules resolved (from the policy snapshot that decided). */
export function auditRecord(outcome: ReviewOutcome, endpoint: string, latencyMs: number): AuditRecord {
  const { request: r, verdict: v } = outcome;
  return {
    uid: r.uid,
    endpoint,
    operation: r.operation,
    kind: r.kind.kind,
    namespace: r.namespace,
    name: r.name || objectName(r.object ?? r.oldObject),
    username: r.userInfo.username,
    groups: r.userInfo.groups,
    compute: outcome.facts.compute,
    instanceType: outcome.facts.instanceType,
    pools: outcome.facts.pools,
    outcomes: v.outcomes,
    patch: v.kind === 'patched' ? v.ops.map((op) => ({ op: op.op, path: op.path })) : [],
    decision: v.kind,
    ...(v.kind === 'denied' || v.kind === 'errored' ? { code: v.code, message: v.message } : {}),
    ...(v.warnings.length > 0 ? { warnings: v.warnings } : {}),
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    dryRun: r.dryRun,
  };
}

/**
 * A pino logger for audit lines: ISO time, level label, `log: "audit"` on every line. It has no
 * redaction: records hold only the fields above, and redaction cost a tenth of the hot path.
 */
export function auditLogger(destination: DestinationStream, level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'aml-admission', log: 'audit' },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes one record per answered review to every sink. */
export function auditObserver(sinks: readonly Logger[]): ReviewObserver {
  return (outcome, endpoint, latencyMs) => {
    const record = auditRecord(outcome, endpoint, latencyMs);
    for (const sink of sinks) sink.info(record, 'admission decision');
  };
}

export interface AuditLog {
  readonly observer: ReviewObserver;
  /** Closes the file (every line is already written); call on shutdown. */
  close(): void;
}

/**
 * The audit log as `serve` wires it: lines go to the process's stdout destination at `level`
 * (the --log-level; below info they are dropped there) and, with `file`, are appended to that
 * file whatever the level, rotated by `rotation`.
 */
export function createAuditLog(opts: {
  destination: DestinationStream;
  level: LevelWithSilent;
  file?: string;
  rotation?: Rotation;
  onError?: AuditFileOptions['onError'];
}): AuditLog {
  const file =
    opts.file === undefined
      ? undefined
      : new AuditFile(opts.file, { ...(opts.rotation ? { rotation: opts.rotation } : {}), ...(opts.onError ? { onError: opts.onError } : {}) });
  const sinks = [auditLogger(opts.destination, opts.level), ...(file ? [auditLogger(file)] : [])];
  return {
    observer: auditObserver(sinks),
    close: () => file?.close(),
  };
}
