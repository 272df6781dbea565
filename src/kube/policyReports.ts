import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { POLICY_REPORT_GROUP, POLICY_REPORT_NAME, POLICY_REPORT_PLURAL, POLICY_REPORT_VERSION, type PolicyReport } from '../observability/policyReport.js';
import { apiFailure, isNotFound } from './errors.js';

/** What the background audit writes through: one PolicyReport per namespace. */
export interface ReportWriter {
  /** Creates or replaces the report; answers what was done. */
  apply(report: PolicyReport): Promise<'created' | 'replaced' | 'unchanged'>;
  /** Deletes the report of a namespace (none there is fine). */
  remove(namespace: string): Promise<void>;
}

/** A report's content without the times: two rounds (or two replicas) finding the same write nothing. */
function content(report: { summary?: unknown; results?: readonly { timestamp?: unknown }[]; metadata?: { annotations?: unknown } }): string {
  return JSON.stringify([report.summary, report.metadata?.annotations ?? {}, (report.results ?? []).map(({ timestamp: _t, ...rest }) => rest)]);
}

/** Thrown when the PolicyReport CRD is not installed: a state the caller reports once, not an error each round. */
export class NoPolicyReportCrd extends Error {
  override readonly name = 'NoPolicyReportCrd';
}

export class KubeReportWriter implements ReportWriter {
  private readonly api: CustomObjectsApi;
  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private ref(namespace: string) {
    return { group: POLICY_REPORT_GROUP, version: POLICY_REPORT_VERSION, plural: POLICY_REPORT_PLURAL, namespace };
  }

  async apply(report: PolicyReport): Promise<'created' | 'replaced' | 'unchanged'> {
    const { namespace } = report.metadata;
    const current = (await this.api.getNamespacedCustomObject({ ...this.ref(namespace), name: POLICY_REPORT_NAME }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
      return undefined;
    })) as (PolicyReport & { metadata: { resourceVersion?: string } }) | undefined;
    try {
      if (current === undefined) {
        await this.api.createNamespacedCustomObject({ ...this.ref(namespace), body: report });
        return 'created';
      }
      if (content(current) === content(report)) return 'unchanged';
      const body = { ...report, metadata: { ...report.metadata, resourceVersion: current.metadata.resourceVersion } };
      await this.api.replaceNamespacedCustomObject({ ...this.ref(namespace), name: POLICY_REPORT_NAME, body });
      return 'replaced';
    } catch (err) {
      // A 404 on create: the API server does not serve the resource at all.
      if (isNotFound(err) && current === undefined) throw new NoPolicyReportCrd(apiFailure(err).message);
      throw err;
    }
  }

  async remove(namespace: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({ ...this.ref(namespace), name: POLICY_REPORT_NAME }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
}
