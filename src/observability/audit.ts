import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import type { ReviewOutcome } from '../admission/webhook.js';
import type { RuleOutcome } from '../admission/verdict.js';
import type { ReviewObserver } from '../http/webhookRoute.js';
import type { Policy } from '../policy/types.js';
import { AuditFile, type AuditFileOptions, type Rotation } from './auditFile.js';
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
  /** The AML compute the object names, if any. */
  readonly compute?: string;
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function metaOf(object: unknown): Record<string, unknown> {
  return isObject(object) && isObject(object.metadata) ? object.metadata : {};
}

function stringAt(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Builds the record for one answered review; `computeLabel` is the policy's compute label key. */
export function auditRecord(outcome: ReviewOutcome, endpoint: string, latencyMs: number, computeLabel: string): AuditRecord {
  const { request: r, verdict: v } = outcome;
  const meta = metaOf(r.object ?? r.oldObject);
  const labels = isObject(meta.labels) ? meta.labels : {};
  const compute = stringAt(labels, computeLabel);
  const name = r.name || stringAt(meta, 'name') || (stringAt(meta, 'generateName') ? `${stringAt(meta, 'generateName')}*` : '');
  return {
    uid: r.uid,
    endpoint,
    operation: r.operation,
    kind: r.kind.kind,
    namespace: r.namespace,
    name,
    username: r.userInfo.username,
    groups: r.userInfo.groups,
    ...(compute !== undefined ? { compute } : {}),
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
export function auditObserver(sinks: readonly Logger[], policy: { current(): Policy }): ReviewObserver {
  return (outcome, endpoint, latencyMs) => {
    const record = auditRecord(outcome, endpoint, latencyMs, policy.current().keys.computeLabel);
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
  policy: { current(): Policy };
  file?: string;
  rotation?: Rotation;
  onError?: AuditFileOptions['onError'];
}): AuditLog {
  const file = opts.file === undefined ? undefined : new AuditFile(opts.file, { ...(opts.rotation ? { rotation: opts.rotation } : {}), ...(opts.onError ? { onError: opts.onError } : {}) });
  const sinks = [auditLogger(opts.destination, opts.level), ...(file ? [auditLogger(file)] : [])];
  return {
    observer: auditObserver(sinks, opts.policy),
    close: () => file?.close(),
  };
}
