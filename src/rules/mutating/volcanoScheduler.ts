import { set, type Mutation } from '../../admission/patch.js';
import { MutatingRuleId } from '../../policy/types.js';
import { Needs, nothing, unknownCompute, type MutatingRule } from '../rule.js';

/** What the API server fills in when a pod names no scheduler; replacing it overrides no choice of the user. */
export const DEFAULT_SCHEDULER = 'default-scheduler';

/**
 * AML pods of a distributed job (gang) go to the gang scheduler: `schedulerName` (a scheduler
 * the pod chose itself is kept, with a warning), the PodGroup annotation (the job name, as the
 * training operator names its PodGroups) and the queue annotation. Existing values are kept.
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
    if (!Object.hasOwn(pod.annotations, podGroupAnnotation)) mutations.push(set(['metadata', 'annotations', podGroupAnnotation], aml!.jobName));
    if (!Object.hasOwn(pod.annotations, queueAnnotation)) mutations.push(set(['metadata', 'annotations', queueAnnotation], scheduler.queue));
    return { mutations, warnings };
  },
};
