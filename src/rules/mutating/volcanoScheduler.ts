import { set, type Mutation } from '../../admission/patch.js';
import { MutatingRuleId } from '../../policy/types.js';
import { Needs, nothing, unknownCompute, type MutatingRule } from '../rule.js';

/** What the API server fills in when a pod names no scheduler; replacing it overrides no choice of the user. */
export const DEFAULT_SCHEDULER = 'default-scheduler';

/**
 * AML pods of a distributed job go to Volcano: `schedulerName` (a scheduler the pod chose itself
 * is kept, with a warning) and, where Volcano reads it, the compute's queue. Volcano's contract:
 * - A pod that names no PodGroup (the training operator without its gang mode): Volcano's PodGroup
 *   controller creates one for the pod's owner and takes its queue from the pod's queue
 *   annotation, so that is where the queue goes.
 * - A pod that names a PodGroup (the operator's gang mode, a Volcano Job): its creator made that
 *   PodGroup, with the queue of the job (`runPolicy.schedulingPolicy.queue`, Volcano's
 *   `spec.queue`); a pod annotation would change nothing, so none is written.
 * The PodGroup annotation itself is never written: Volcano would skip the pod while waiting for a
 * PodGroup nobody creates (1.5's pod admission refuses it outright).
 */
export const volcanoScheduler: MutatingRule = {
  id: MutatingRuleId.VolcanoScheduler,
  needs: Needs.AmlPod,
  run({ policy, pod, aml }) {
    if (aml!.jobName === undefined) return nothing;
    if (!aml!.compute) return unknownCompute(aml!.computeName);
    const scheduler = aml!.compute.scheduler;
    if (!scheduler.gang) return nothing;
    const mutations: Mutation[] = [];
    const warnings: string[] = [];
    const current = pod.schedulerName;
    if (current === undefined || current === '' || current === DEFAULT_SCHEDULER) mutations.push(set(['spec', 'schedulerName'], scheduler.name));
    else if (current !== scheduler.name) warnings.push(`schedulerName "${current}" kept; gang scheduling needs "${scheduler.name}"`);
    const { podGroupAnnotation, queueAnnotation } = policy.keys;
    const ownPodGroup = !Object.hasOwn(pod.annotations, podGroupAnnotation);
    if (ownPodGroup && !Object.hasOwn(pod.annotations, queueAnnotation)) mutations.push(set(['metadata', 'annotations', queueAnnotation], scheduler.queue));
    return { mutations, warnings };
  },
};
