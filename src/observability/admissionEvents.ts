import { LRUCache } from 'lru-cache';
import type { ReviewOutcome } from '../admission/webhook.js';
import { isObject } from '../k8s/json.js';
import { objectName } from '../k8s/pod.js';
import { BUILTIN_WORKLOAD_KINDS, type WorkloadKinds } from '../k8s/workloads.js';
import { EventType, type EventSpec } from '../kube/events.js';
import { TokenBucket } from '../util/tokenBucket.js';
import type { Metrics } from './metrics.js';

/** `serve --events`: the outcomes that post a Kubernetes Event. */
export const EventOutcome = { Deny: 'deny', Warn: 'warn', Audit: 'audit' } as const;
export type EventOutcome = (typeof EventOutcome)[keyof typeof EventOutcome];
export const DEFAULT_EVENT_OUTCOMES: readonly EventOutcome[] = [EventOutcome.Deny, EventOutcome.Warn];

/** Reasons as `kubectl describe` and `kubectl events` show them, one per outcome. */
export const EVENT_REASONS: Readonly<Record<EventOutcome, string>> = {
  deny: 'PolicyViolationDenied',
  warn: 'PolicyViolationWarning',
  audit: 'PolicyViolationAudit',
};

/** `deny,warn,audit` or `none` → the outcomes; throws a message naming the choices on anything else. */
export function parseEventOutcomes(value: string): EventOutcome[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const all = Object.values(EventOutcome) as string[];
  if (list.length === 1 && list[0] === 'none') return [];
  if (list.length === 0 || list.some((o) => !all.includes(o))) throw new Error(`events are ${all.join(', ')} (comma-separated), or none`);
  return [...new Set(list)] as EventOutcome[];
}

type Reference = EventSpec['involved'];

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * What the Event is about, where its owner looks: for a Pod created by a workload (its controller
 * owner reference names a workload kind), that workload, which `kubectl describe` shows it on; for
 * a workload request the workload itself; else the Pod. A denied object never exists, so a Pod of
 * its own is found by `kubectl events` (name and namespace), a workload owner by describe too (the
 * owner reference carries its uid). Undefined for an object with no name to post it on.
 */
export function involvedObject(
  outcome: ReviewOutcome,
  kinds: WorkloadKinds = BUILTIN_WORKLOAD_KINDS,
): { involved: Reference; related?: Reference } | undefined {
  const { request } = outcome;
  const object = isObject(request.object) ? request.object : isObject(request.oldObject) ? request.oldObject : {};
  const meta = isObject(object.metadata) ? object.metadata : {};
  const namespace = request.namespace || str(meta, 'namespace');
  if (namespace === undefined) return undefined;
  const apiVersion = str(object, 'apiVersion') ?? (request.kind.group ? `${request.kind.group}/${request.kind.version}` : request.kind.version);
  const name = str(meta, 'name') ?? (request.name || undefined);
  const uid = str(meta, 'uid');
  const self: Reference | undefined = name === undefined ? undefined : { apiVersion, kind: request.kind.kind, namespace, name, ...(uid ? { uid } : {}) };
  if (request.kind.group === '' && request.kind.kind === 'Pod') {
    const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObject) : [];
    const owner = owners.find((o) => o.controller === true);
    const ownerKind = owner && str(owner, 'kind');
    const ownerApi = owner && str(owner, 'apiVersion');
    const ownerName = owner && str(owner, 'name');
    if (owner && ownerKind && ownerApi && ownerName && kinds.judges(ownerApi, ownerKind)) {
      const ownerUid = str(owner, 'uid');
      const involved: Reference = { apiVersion: ownerApi, kind: ownerKind, namespace, name: ownerName, ...(ownerUid ? { uid: ownerUid } : {}) };
      return self ? { involved, related: self } : { involved };
    }
  }
  return self ? { involved: self } : undefined;
}

/** The rule ids behind an outcome, each once, in the order the rules ran. */
function ruleIds(outcome: ReviewOutcome, matches: (action: string, result: string) => boolean): string[] {
  const ids: string[] = [];
  for (const o of outcome.verdict.outcomes) if (matches(o.action, o.result) && !ids.includes(o.ruleId)) ids.push(o.ruleId);
  return ids;
}

const failed = (result: string) => result === 'fail' || result === 'error';

/**
 * The Event one review posts, if any (pure): the most severe selected outcome of the review, on
 * its workload (see involvedObject), with the rule ids in the note. Dry runs post nothing: the
 * object was never going to exist, and `kubectl apply --dry-run=server` loops would flood.
 */
export function admissionEvent(
  outcome: ReviewOutcome,
  selected: ReadonlySet<EventOutcome>,
  /** The workload kinds the policy judges (a policy's own kinds included): their pods' Events go on them. */
  kinds: WorkloadKinds = BUILTIN_WORKLOAD_KINDS,
): EventSpec | undefined {
  const { request, verdict } = outcome;
  if (request.dryRun || selected.size === 0) return undefined;
  const refused = verdict.kind === 'denied' || verdict.kind === 'errored';
  let chosen: { outcome: EventOutcome; rules: string[]; detail: string } | undefined;
  if (refused) {
    // A refusal without failed rules is an internal error (logged with its uid), not a policy outcome.
    const rules = ruleIds(outcome, (action, result) => (action === 'deny' || action === 'mutate') && failed(result));
    if (selected.has(EventOutcome.Deny) && rules.length > 0) chosen = { outcome: EventOutcome.Deny, rules, detail: verdict.message };
  }
  for (const level of [EventOutcome.Warn, EventOutcome.Audit] as const) {
    if (chosen !== undefined || !selected.has(level)) continue;
    const rules = ruleIds(outcome, (action, result) => action === level && result === 'fail');
    if (rules.length === 0) continue;
    const messages = verdict.outcomes.filter((o) => o.action === level && o.result === 'fail').map((o) => `[${o.ruleId}] ${o.message ?? 'failed'}`);
    chosen = { outcome: level, rules, detail: messages.join('; ') };
  }
  if (chosen === undefined) return undefined;
  const target = involvedObject(outcome, kinds);
  if (target === undefined) return undefined;
  const what = `${request.kind.kind} ${objectName(request.object) || request.name || '(unnamed)'}`;
  const verb =
    chosen.outcome === EventOutcome.Deny
      ? `${request.operation} denied`
      : chosen.outcome === EventOutcome.Warn
        ? `${request.operation} warned`
        : `${request.operation} audited`;
  return {
    involved: target.involved,
    ...(target.related ? { related: target.related } : {}),
    type: chosen.outcome === EventOutcome.Audit ? EventType.Normal : EventType.Warning,
    reason: EVENT_REASONS[chosen.outcome],
    message: `${what}: ${verb} by rules ${chosen.rules.join(', ')}: ${chosen.detail}`,
  };
}

export interface EventQueueOptions {
  /** Posts one Event; resolves whether it was posted (never rejects). */
  readonly post: (spec: EventSpec) => Promise<boolean>;
  readonly metrics: Metrics;
  /** Events waiting at most; more are dropped. */
  readonly capacity?: number;
  /** Posts in flight at most. */
  readonly concurrency?: number;
  /** Per object and reason: a burst, then one per `perObjectIntervalMs`. */
  readonly perObjectBurst?: number;
  readonly perObjectIntervalMs?: number;
  /** All objects together: a burst, then `globalPerSecond`. */
  readonly globalBurst?: number;
  readonly globalPerSecond?: number;
  readonly now?: () => number;
}

/** Objects whose bucket is kept; the least recently seen go first (a full bucket again, which is what a new object gets). */
const TRACKED_OBJECTS = 10_000;

/**
 * Sends Events off the hot path. `offer` only rate-limits and enqueues; the posts run later on
 * the event loop, after the answer was written, a few at a time. What is refused is counted in
 * aml_admission_events_total{result}: `rate_limited` (a token bucket per object and reason, as
 * client-go's event spam filter keeps one per object, and a global one), `queue_full`
 * (a bounded queue: an API server that is slow to take Events never grows the heap).
 */
export class EventQueue {
  private readonly queue: EventSpec[] = [];
  private readonly buckets: LRUCache<string, TokenBucket>;
  private readonly global: TokenBucket;
  private readonly now: () => number;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(private readonly opts: EventQueueOptions) {
    this.now = opts.now ?? Date.now;
    this.buckets = new LRUCache({ max: TRACKED_OBJECTS });
    this.global = new TokenBucket(opts.globalBurst ?? 50, opts.globalPerSecond ?? 5, this.now());
  }

  offer(spec: EventSpec): void {
    if (this.closed) return;
    const { involved, reason } = spec;
    const key = `${involved.namespace}/${involved.kind}/${involved.name}/${reason}`;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.opts.perObjectBurst ?? 5, 1000 / (this.opts.perObjectIntervalMs ?? 60_000), now);
      this.buckets.set(key, bucket);
    }
    if (!bucket.take(now) || !this.global.take(now)) return this.count(reason, 'rate_limited');
    if (this.queue.length >= (this.opts.capacity ?? 1000)) return this.count(reason, 'queue_full');
    this.queue.push(spec);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.pump()); // after the answer: offer is called before it is written
    }
  }

  /** Resolves when nothing is queued or in flight (tests; shutdown). */
  settled(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Takes no more Events and lets the queued ones go out, waiting at most `timeoutMs`. */
  async close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs).unref()))]);
    clearTimeout(timer);
  }

  private count(reason: string, result: string): void {
    this.opts.metrics.events.inc({ reason, result });
  }

  private pump(): void {
    this.scheduled = false;
    const concurrency = this.opts.concurrency ?? 4;
    while (this.inFlight < concurrency && this.queue.length > 0) {
      const spec = this.queue.shift()!;
      this.inFlight++;
      void this.opts
        .post(spec)
        .catch(() => false)
        .then((posted) => {
          this.count(spec.reason, posted ? 'posted' : 'failed');
          this.inFlight--;
          if (this.queue.length > 0) this.pump();
          else if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }
}

/** The review observer that offers each review's Event (if any) to the queue. */
export function eventObserver(
  selected: readonly EventOutcome[],
  queue: EventQueue,
  kinds: () => WorkloadKinds = () => BUILTIN_WORKLOAD_KINDS,
): (outcome: ReviewOutcome) => void {
  const set = new Set(selected);
  return (outcome) => {
    const spec = admissionEvent(outcome, set, kinds());
    if (spec !== undefined) queue.offer(spec);
  };
}
