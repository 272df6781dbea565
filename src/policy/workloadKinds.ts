import { WorkloadKinds } from '../k8s/workloads.js';
import { fact } from './snapshot.js';

/** The workload kinds a policy judges: the built-in ones and its `workloads`, compiled once per snapshot. */
export const WORKLOAD_KINDS = fact((s) => new WorkloadKinds(s.policy.workloads, s.registered));
