import type { CoreV1Api, CoreV1Event, V1ObjectReference } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { apiFailure } from './errors.js';

export const EventType = { Normal: 'Normal', Warning: 'Warning' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface EventSpec {
  readonly involved: V1ObjectReference & { namespace: string; name: string };
  /** A second object the Event is about (the Pod, when it is posted on the Pod's workload). */
  readonly related?: V1ObjectReference;
  readonly type: EventType;
  /** UpperCamelCase, short (e.g. InvalidPolicy). */
  readonly reason: string;
  readonly message: string;
}

export const EVENT_COMPONENT = 'aml-admission';
/** kubectl shows the message in one column; the events API rejects very long ones. */
const MAX_MESSAGE = 1024;

/** A core/v1 Event about `involved`, as `kubectl describe` shows it. */
export function buildEvent(spec: EventSpec, opts: { instance: string; now: Date }): CoreV1Event {
  const message = spec.message.length > MAX_MESSAGE ? `${spec.message.slice(0, MAX_MESSAGE - 1)}…` : spec.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${spec.involved.name}.`, namespace: spec.involved.namespace },
    involvedObject: spec.involved,
    ...(spec.related ? { related: spec.related } : {}),
    type: spec.type,
    reason: spec.reason,
    message,
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: opts.instance,
    firstTimestamp: opts.now,
    lastTimestamp: opts.now,
    count: 1,
  };
}

/** Posts Events; a failure to post is logged and never disturbs the caller (events are best effort). */
export class EventRecorder {
  constructor(
    private readonly core: CoreV1Api,
    private readonly opts: { instance: string; logger: Logger; now?: () => Date },
  ) {}

  /** Resolves whether the Event was posted. */
  async record(spec: EventSpec): Promise<boolean> {
    const body = buildEvent(spec, { instance: this.opts.instance, now: (this.opts.now ?? (() => new Date()))() });
    try {
      await this.core.createNamespacedEvent({ namespace: spec.involved.namespace, body });
      return true;
    } catch (err) {
      this.opts.logger.warn(
        { reason: spec.reason, involved: `${spec.involved.kind}/${spec.involved.namespace}/${spec.involved.name}`, error: apiFailure(err).message },
        'could not post a Kubernetes Event',
      );
      return false;
    }
  }
}
