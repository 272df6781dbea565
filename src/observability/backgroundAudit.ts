import { judgePods } from '../commands/audit.js';
import type { Input } from '../commands/inputs.js';
import type { ReportWriter } from '../kube/policyReports.js';
import { policyDigest } from '../policy/digest.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { policyReports, violationCounts, type JudgedPod } from './policyReport.js';

/** The pods the informer has, kept whole for the background audit (the extender's cache keeps only what it counts). */
export class PodIndex {
  private readonly pods = new Map<string, unknown>();

  upsert(pod: unknown): void {
    // Plain JSON, as the audit command reads pods: a list delivers client-node models.
    const plain = JSON.parse(JSON.stringify(pod)) as { metadata?: { namespace?: string; name?: string; managedFields?: unknown } };
    const key = `${plain.metadata?.namespace ?? ''}/${plain.metadata?.name ?? ''}`;
    if (plain.metadata) delete plain.metadata.managedFields; // most of a pod's bytes, never read
    this.pods.set(key, plain);
  }

  remove(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  get size(): number {
    return this.pods.size;
  }

  values(): unknown[] {
    return [...this.pods.values()];
  }
}

export interface BackgroundAuditOptions {
  readonly intervalMs: number;
  readonly pods: () => readonly unknown[];
  readonly snapshot: () => PolicySnapshot;
  readonly writer: ReportWriter;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Wait for this (the informers' first list) before the first round. */
  readonly ready?: Promise<void>;
  readonly now?: () => Date;
  readonly maxResults?: number;
}

/**
 * `serve --background-audit-interval`: every interval, the pods the informer holds are judged as
 * `audit` judges them (the validating rules, no requester), and one bounded PolicyReport per
 * namespace is written (unchanged reports are not rewritten); a namespace left without pods loses
 * its report. aml_admission_audit_violations{rule,action,namespace} counts the failing pods.
 */
export class BackgroundAudit {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private written = new Set<string>();
  private crdMissing = false;

  constructor(private readonly opts: BackgroundAuditOptions) {}

  start(): void {
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.running = this.runOnce().finally(schedule);
      }, this.opts.intervalMs);
      this.timer.unref();
    };
    void (this.opts.ready ?? Promise.resolve()).then(() => {
      if (this.stopped) return;
      this.running = this.runOnce().finally(schedule);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round; never throws (what failed is logged, and the next round tries again). */
  async runOnce(): Promise<void> {
    const { logger, metrics, writer } = this.opts;
    const snapshot = this.opts.snapshot();
    const inputs: Input[] = this.opts
      .pods()
      .map((pod, i) => ({ type: 'pod', where: { file: 'cluster (informer)', doc: i + 1 }, origin: 'Pod', pod: pod as never }));
    const judged: JudgedPod[] = judgePods(snapshot, inputs, undefined).map((j) => ({ pod: j.pod, outcomes: j.verdict.outcomes }));
    metrics.auditViolations.reset();
    for (const c of violationCounts(judged).values()) metrics.auditViolations.set({ rule: c.rule, action: c.action, namespace: c.namespace }, c.count);

    const reports = policyReports(judged, {
      now: (this.opts.now ?? (() => new Date()))(),
      digest: policyDigest(snapshot.loaded),
      ...(this.opts.maxResults ? { maxResults: this.opts.maxResults } : {}),
    });
    const now = new Set(reports.map((r) => r.metadata.namespace));
    let failed = 0;
    try {
      for (const report of reports) {
        try {
          await writer.apply(report);
        } catch (err) {
          if (err instanceof Error && err.name === 'NoPolicyReportCrd') throw err;
          failed += 1;
          logger.warn(
            { namespace: report.metadata.namespace, err: { message: (err as Error).message } },
            'could not write the PolicyReport; trying again next round',
          );
        }
      }
      for (const namespace of this.written) if (!now.has(namespace)) await writer.remove(namespace).catch(() => now.add(namespace)); // kept: removed next round
      this.written = now;
      if (this.crdMissing) logger.info('PolicyReport CRD found; writing reports');
      this.crdMissing = false;
      metrics.backgroundAudits.inc({ result: failed === 0 ? 'success' : 'failure' });
      logger.debug({ pods: judged.length, namespaces: reports.length, failed }, 'background audit done');
    } catch (err) {
      metrics.backgroundAudits.inc({ result: 'failure' });
      if (!this.crdMissing)
        logger.warn(
          { error: (err as Error).message },
          'the PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed: no reports written (deploy/crds/policyreports.yaml)',
        );
      this.crdMissing = true;
    }
  }
}
