import assert from 'node:assert/strict';
import { allowed, denied, errored, type RuleOutcome, type Verdict } from '../../src/admission/verdict.js';
import type { ReviewOutcome } from '../../src/admission/webhook.js';
import type { AdmissionRequest } from '../../src/admission/request.js';
import type { EventSpec } from '../../src/kube/events.js';
import { admissionEvent, EventQueue, eventObserver, involvedObject, parseEventOutcomes, type EventOutcome } from '../../src/observability/admissionEvents.js';
import { Metrics } from '../../src/observability/metrics.js';
import { podRequest } from '../helpers/admission.js';
import { WorkloadKinds } from '../../src/k8s/workloads.js';

const rsOwner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9', uid: 'rs-uid', controller: true };
const pod = (meta: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'team-a', ...meta }, spec: { containers: [] } });

function outcome(verdict: Verdict, request: AdmissionRequest = podRequest(pod({ name: 'train-0' }))): ReviewOutcome {
  return { verdict, facts: {}, apiVersion: 'admission.k8s.io/v1', request, payload: '' };
}
const fail = (ruleId: string, action: string, message = `${ruleId} failed`): RuleOutcome => ({ ruleId, action, result: 'fail', message });
const all = new Set<EventOutcome>(['deny', 'warn', 'audit']);

describe('admission Events', () => {
  describe('--events', () => {
    it('Reads a comma-separated list of deny, warn, audit, or none, and refuses anything else.', () => {
      assert.deepEqual(parseEventOutcomes('deny,warn'), ['deny', 'warn']);
      assert.deepEqual(parseEventOutcomes('audit, deny,audit'), ['audit', 'deny']);
      assert.deepEqual(parseEventOutcomes('none'), []);
      assert.throws(() => parseEventOutcomes('deny,none'), /deny, warn, audit/);
      assert.throws(() => parseEventOutcomes(''), /or none/);
    });
  });

  describe('the object an Event is posted on', () => {
    it("Is a pod's workload owner (its controller reference, with the uid kubectl describe matches), the pod as related.", () => {
      const target = involvedObject(outcome(allowed(), podRequest(pod({ generateName: 'web-7d4b9-', ownerReferences: [rsOwner] }))));
      assert.deepEqual(target, { involved: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'team-a', name: 'web-7d4b9', uid: 'rs-uid' } });
      const named = involvedObject(
        outcome(
          allowed(),
          podRequest(pod({ name: 'train-worker-0', ownerReferences: [{ ...rsOwner, apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', name: 'train' }] })),
        ),
      );
      assert.equal(named?.involved.kind, 'PyTorchJob');
      assert.deepEqual(named?.related, { apiVersion: 'v1', kind: 'Pod', namespace: 'team-a', name: 'train-worker-0' });
    });

    it('Is the pod itself when its controller is not a workload kind, or it has none; nothing for a pod with no name at all.', () => {
      const custom = involvedObject(
        outcome(allowed(), podRequest(pod({ name: 'p', ownerReferences: [{ ...rsOwner, apiVersion: 'example.com/v1', kind: 'Thing' }] }))),
      );
      assert.deepEqual(custom, { involved: { apiVersion: 'v1', kind: 'Pod', namespace: 'team-a', name: 'p' } });
      const notController = involvedObject(outcome(allowed(), podRequest(pod({ name: 'p', ownerReferences: [{ ...rsOwner, controller: false }] }))));
      assert.equal(notController?.involved.kind, 'Pod');
      assert.equal(involvedObject(outcome(allowed(), podRequest(pod({ generateName: 'x-' })))), undefined);
    });

    it('Is the owner of a kind the policy adds (policy workloads), once the policy names it.', () => {
      const rayPod = outcome(
        allowed(),
        podRequest(pod({ name: 'ray-head', ownerReferences: [{ ...rsOwner, apiVersion: 'ray.io/v1', kind: 'RayCluster', name: 'ray' }] })),
      );
      const ray = new WorkloadKinds([
        { group: 'ray.io', kind: 'RayCluster', resource: 'rayclusters', templates: ['spec.headGroupSpec.template'], creator: 'ray/op' },
      ]);
      assert.equal(involvedObject(rayPod, ray)?.involved.kind, 'RayCluster');
      assert.equal(involvedObject(rayPod)?.involved.kind, 'Pod', 'without the policy kind: the pod');
    });

    it('Is the workload itself for a workload request.', () => {
      const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'etl', namespace: 'team-a', uid: 'job-uid' }, spec: {} };
      const request: AdmissionRequest = {
        ...podRequest(job),
        kind: { group: 'batch', version: 'v1', kind: 'Job' },
        resource: { group: 'batch', version: 'v1', resource: 'jobs' },
        operation: 'UPDATE',
      };
      assert.deepEqual(involvedObject(outcome(allowed(), request)), {
        involved: { apiVersion: 'batch/v1', kind: 'Job', namespace: 'team-a', name: 'etl', uid: 'job-uid' },
      });
    });
  });

  describe('the Event of a review', () => {
    const denial = denied(403, '[node-pool-targeting] the pod cannot reach the pools of compute gpu', {
      outcomes: [{ ruleId: 'gpu-quota', action: 'deny', result: 'pass' }, fail('node-pool-targeting', 'deny'), fail('image-registry', 'warn')],
    });

    it('For a denial: a Warning naming the outcome, the rule ids in the note, with the denial message.', () => {
      const e = admissionEvent(outcome(denial), all)!;
      assert.equal(e.type, 'Warning');
      assert.equal(e.reason, 'PolicyViolationDenied');
      assert.equal(e.message, 'Pod train-0: CREATE denied by rules node-pool-targeting: [node-pool-targeting] the pod cannot reach the pools of compute gpu');
    });

    it('None for a dry run, whatever the outcome.', () => {
      assert.equal(admissionEvent(outcome(denial, podRequest(pod({ name: 'train-0' }), { dryRun: true })), all), undefined);
    });

    it('The most severe outcome selected: warn when deny is not chosen; nothing when neither is.', () => {
      const warned = admissionEvent(outcome(denial), new Set<EventOutcome>(['warn']))!;
      assert.equal(warned.reason, 'PolicyViolationWarning');
      assert.match(warned.message, /warned by rules image-registry: \[image-registry\] image-registry failed/);
      assert.equal(admissionEvent(outcome(denial), new Set<EventOutcome>(['audit'])), undefined);
      assert.equal(admissionEvent(outcome(denial), new Set()), undefined);
    });

    it('An audit finding is a Normal Event, posted only when audit is chosen (not by default).', () => {
      const audited = outcome(allowed({ outcomes: [fail('privileged-containers', 'audit')] }));
      assert.equal(admissionEvent(audited, new Set<EventOutcome>(['deny', 'warn'])), undefined);
      const e = admissionEvent(audited, all)!;
      assert.equal(e.type, 'Normal');
      assert.equal(e.reason, 'PolicyViolationAudit');
    });

    it('A refusal by the mutating webhook counts as a denial; an internal error (no failed rule) posts nothing.', () => {
      const refusal = errored('[policy-input] compute nope is not defined', { outcomes: [{ ruleId: 'policy-input', action: 'mutate', result: 'error' }] });
      assert.equal(admissionEvent(outcome(refusal), all)?.reason, 'PolicyViolationDenied');
      assert.equal(admissionEvent(outcome(errored('internal error in the validate webhook')), all), undefined);
      assert.equal(admissionEvent(outcome(allowed({ outcomes: [{ ruleId: 'a', action: 'deny', result: 'pass' }] })), all), undefined);
    });
  });

  describe('the queue', () => {
    const spec = (name: string, reason = 'PolicyViolationDenied'): EventSpec => ({
      involved: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'team-a', name },
      type: 'Warning',
      reason,
      message: 'm',
    });
    async function counts(metrics: Metrics): Promise<Record<string, number>> {
      const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'aml_admission_events_total')!;
      return Object.fromEntries(m.values.map((v) => [`${v.labels.reason}/${v.labels.result}`, v.value]));
    }

    it('Posts off the caller: offer returns before any post starts, and the posts follow on the event loop.', async () => {
      const metrics = new Metrics({ defaultMetrics: false });
      const posted: string[] = [];
      const queue = new EventQueue({ post: async (s) => (posted.push(s.involved.name), true), metrics });
      queue.offer(spec('a'));
      queue.offer(spec('b'));
      assert.deepEqual(posted, [], 'nothing posted during offer');
      await queue.settled();
      assert.deepEqual(posted, ['a', 'b']);
      assert.deepEqual(await counts(metrics), { 'PolicyViolationDenied/posted': 2 });
    });

    it('Rate-limits per object and reason (a burst, then one per interval), and counts what it refuses.', async () => {
      let now = 0;
      const metrics = new Metrics({ defaultMetrics: false });
      const posted: string[] = [];
      const queue = new EventQueue({
        post: async (s) => (posted.push(`${s.involved.name}/${s.reason}`), true),
        metrics,
        perObjectBurst: 2,
        perObjectIntervalMs: 60_000,
        now: () => now,
      });
      for (let i = 0; i < 5; i++) queue.offer(spec('a'));
      queue.offer(spec('a', 'PolicyViolationWarning'));
      queue.offer(spec('b'));
      now = 60_000;
      queue.offer(spec('a'));
      await queue.settled();
      assert.deepEqual(posted.sort(), [
        'a/PolicyViolationDenied',
        'a/PolicyViolationDenied',
        'a/PolicyViolationDenied',
        'a/PolicyViolationWarning',
        'b/PolicyViolationDenied',
      ]);
      assert.equal((await counts(metrics))['PolicyViolationDenied/rate_limited'], 3);
    });

    it('Caps all objects together.', async () => {
      const metrics = new Metrics({ defaultMetrics: false });
      const queue = new EventQueue({ post: async () => true, metrics, globalBurst: 3, globalPerSecond: 0.001, now: () => 0 });
      for (let i = 0; i < 10; i++) queue.offer(spec(`o${i}`));
      await queue.settled();
      assert.deepEqual(await counts(metrics), { 'PolicyViolationDenied/posted': 3, 'PolicyViolationDenied/rate_limited': 7 });
    });

    it('Is bounded: with the API server not answering, Events beyond the capacity are dropped and counted; failures are counted.', async () => {
      const metrics = new Metrics({ defaultMetrics: false });
      const release: ((ok: boolean) => void)[] = [];
      const queue = new EventQueue({ post: () => new Promise<boolean>((r) => release.push(r)), metrics, capacity: 2, concurrency: 1 });
      queue.offer(spec('a'));
      await new Promise((r) => setImmediate(r)); // a is in flight
      for (const n of ['b', 'c', 'd', 'e']) queue.offer(spec(n));
      assert.equal((await counts(metrics))['PolicyViolationDenied/queue_full'], 2);
      while (release.length > 0 || (await counts(metrics))['PolicyViolationDenied/failed'] !== 3) {
        release.shift()?.(false);
        await new Promise((r) => setImmediate(r));
      }
      await queue.settled();
      assert.equal((await counts(metrics))['PolicyViolationDenied/failed'], 3);
    });

    it('The observer offers the Event of each review that has one, and nothing for the others.', async () => {
      const metrics = new Metrics({ defaultMetrics: false });
      const posted: EventSpec[] = [];
      const queue = new EventQueue({ post: async (s) => (posted.push(s), true), metrics });
      const observe = eventObserver(['deny'], queue);
      observe(outcome(allowed()));
      observe(outcome(denied(403, '[r] no', { outcomes: [fail('r', 'deny')] })));
      await queue.settled();
      assert.equal(posted.length, 1);
      assert.equal(posted[0]!.involved.name, 'train-0');
    });
  });
});
