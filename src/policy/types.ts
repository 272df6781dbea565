import type { CustomWorkload } from '../k8s/workloads.js';
import type { Taint, TaintEffect, Toleration } from '../k8s/tolerations.js';

export type { Taint, TaintEffect, Toleration };

/**
 * The policy document after loading: the YAML a user writes with every default filled in
 * (the JSON Schema in schema.ts supplies them). docs/policy.md documents each field.
 */

export const POLICY_API_VERSION = 'aml-admission.azure.com/v1alpha1';
export const POLICY_KIND = 'AdmissionPolicy';

export const EnforcementAction = { Deny: 'deny', Warn: 'warn', Audit: 'audit' } as const;
export type EnforcementAction = (typeof EnforcementAction)[keyof typeof EnforcementAction];

/** What a rule that throws does: `closed` denies with a clear message, `open` allows with a warning. */
export const FailureMode = { Closed: 'closed', Open: 'open' } as const;
export type FailureMode = (typeof FailureMode)[keyof typeof FailureMode];

export const MutatingRuleId = {
  GpuTolerations: 'gpu-tolerations',
  AmlTolerations: 'aml-tolerations',
  InstanceType: 'instance-type',
  NodePool: 'node-pool',
  VolcanoScheduler: 'volcano-scheduler',
  BlobfuseVolumes: 'blobfuse-volumes',
  PvcVolumes: 'pvc-volumes',
} as const;
export type MutatingRuleId = (typeof MutatingRuleId)[keyof typeof MutatingRuleId];

export const ValidatingRuleId = {
  NodePoolTargeting: 'node-pool-targeting',
  ReservedPools: 'reserved-pools',
  IdentityClaims: 'identity-claims',
  ResourceClaims: 'resource-claims',
  PolicyInput: 'policy-input',
} as const;
export type ValidatingRuleId = (typeof ValidatingRuleId)[keyof typeof ValidatingRuleId];

export type RuleId = MutatingRuleId | ValidatingRuleId;
export const RULE_IDS: readonly RuleId[] = [...Object.values(MutatingRuleId), ...Object.values(ValidatingRuleId)];

export interface RuleSettings {
  /** Switched-off rules neither mutate nor validate. */
  enabled: boolean;
  /** Validating rules only: what a failed check does. */
  enforcementAction: EnforcementAction;
  failureMode: FailureMode;
}

/** Pod metadata keys the rules read and write (all configurable). */
export interface PolicyKeys {
  /** Label naming the pod's compute; its presence makes a pod an AML pod. */
  computeLabel: string;
  workspaceLabel: string;
  resourceGroupLabel: string;
  instanceTypeLabel: string;
  /** Labels naming a pod's distributed job, first present wins. */
  jobNameLabels: string[];
  blobfuseAnnotation: string;
  /** PVC label (value "true") that offers a claim to every AML pod of its namespace (AML's convention). */
  pvcLabel: string;
  /** PVC annotation with the absolute path to mount the claim at. */
  pvcMountPathAnnotation: string;
  /** PVC annotation with a group id the pods join (supplementalGroups), for the volume's permissions. */
  pvcGidAnnotation: string;
  podGroupAnnotation: string;
  queueAnnotation: string;
  /** Node labels naming a node's pool, first present wins. */
  nodePoolLabels: string[];
}

export interface GpuSettings {
  /** Extended resources that count as GPUs. */
  resourceNames: string[];
  /** Added to pods that request or limit any of them (like ExtendedResourceToleration). */
  tolerations: Toleration[];
}

export interface AmlTaints {
  /** Tolerations every AML pod gets (e.g. ml.azure.com/amlarc=true). */
  static: Toleration[];
  /** Taint keys whose value is the pod's own resource group / workspace / compute. */
  resourceGroupKey: string;
  workspaceKey: string;
  computeKey: string;
  /** Effects the tolerations built from the keys above tolerate (all three by default). */
  effects: TaintEffect[];
}

/**
 * The AML extension's settings that shape every instance type (docs/policy.md#amlextension): the
 * cluster's InstanceType objects and the extension-wide nodeSelector.
 */
export interface AmlExtension {
  /** Honour the cluster's InstanceType objects (amlarc.azureml.com/v1alpha1): a watch in `serve`, `-f` documents offline. */
  instanceTypes: boolean;
  /** The extension's nodeSelector (AML's `nodeSelector.*` setting): joins every instance type's selector. */
  nodeSelector: Record<string, string>;
}

export interface NodePool {
  /** GPU pool (true) or CPU pool (false). */
  gpu: boolean;
  /** Node labels that identify the pool's nodes; default `{ agentpool: <pool name> }`. */
  labels: Record<string, string>;
  /** Taints the pool's nodes carry; pods placed there must tolerate them. */
  taints: Taint[];
  /** Only AML pods of the owning compute may target or tolerate a reserved pool. */
  reserved: boolean;
}

export interface ResourceList {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

export interface InstanceType {
  nodeSelector: Record<string, string>;
  resources: ResourceList;
}

export interface SchedulerSettings {
  /** Scheduler name set on gang pods ("volcano"). */
  name: string;
  queue: string;
  /** Gang scheduling on/off: when off, no schedulerName, PodGroup or queue is written. */
  gang: boolean;
}

/** How a blob mount becomes a volume: the blobfuse FlexVolume, or an inline Azure Blob CSI volume. */
export const BlobVolume = { FlexVolume: 'flexVolume', Csi: 'csi' } as const;
export type BlobVolume = (typeof BlobVolume)[keyof typeof BlobVolume];

export interface BlobfuseSettings {
  /** The volume the mounts become (the FlexVolume driver is deprecated; AML's extension ships Blob CSI). */
  volume: BlobVolume;
  /** FlexVolume driver (volume: flexVolume). */
  driver: string;
  /** CSI driver (volume: csi). */
  csiDriver: string;
  tmpPath: string;
  mountOptions: string;
  /** Secrets the blobfuse mounts may name; empty means any. */
  allowedSecrets: string[];
}

export interface IdentityClaims {
  /** All lists empty means anyone may create pods for the compute. */
  users: string[];
  groups: string[];
  /** `namespace/name`, or `namespace/*` for every service account of a namespace. */
  serviceAccounts: string[];
  /** `userInfo.extra` key → accepted values (any one matches). */
  extra: Record<string, string[]>;
}

export interface ResourceClaims {
  /** Most GPUs one pod may ask for; absent means no limit beyond the pools'. */
  maxGpusPerPod?: number;
  /** Instance types pods may use; empty means every type the compute defines. */
  instanceTypes: string[];
  /** PVC claim names pods may mount; empty means any. */
  persistentVolumeClaims: string[];
  /** Blobfuse secrets pods may name; empty means the compute's blobfuse.allowedSecrets. */
  blobfuseSecrets: string[];
  /** Whether pods may bring their own placement. */
  allowNodeSelector: boolean;
  allowAffinity: boolean;
  allowTolerations: boolean;
}

export interface Claims {
  identity: IdentityClaims;
  resources: ResourceClaims;
}

export interface Compute {
  /** Namespaces whose pods may use the compute; empty means any. */
  namespaces: string[];
  nodePools: Record<string, NodePool>;
  /** Pool targeted when a pod has no pool targeting of its own; default: the first pool. */
  defaultNodePool?: string;
  /** The compute's own instance types; with `amlExtension.instanceTypes` the cluster's join them (policy/instanceTypes.ts). */
  instanceTypes: Record<string, InstanceType>;
  /** `defaultinstancetype` unless set, as on AML. */
  defaultInstanceType: string;
  /** Extra tolerations for every AML pod of the compute. */
  tolerations: Toleration[];
  scheduler: SchedulerSettings;
  blobfuse: BlobfuseSettings;
  claims: Claims;
}

/**
 * The controllers that create pods (and workloads) for the people who submitted their owners. A
 * pod or workload one of them creates for a controlling owner the validating webhook judges is
 * judged on every rule except the requester's identity: that was judged on the owner.
 */
export interface TrustedControllers {
  /** `namespace/name` of their service accounts. */
  serviceAccounts: string[];
  /** Usernames (e.g. `system:kube-controller-manager` without --use-service-account-credentials). */
  users: string[];
}

export interface Policy {
  apiVersion: typeof POLICY_API_VERSION;
  kind: typeof POLICY_KIND;
  keys: PolicyKeys;
  trustedControllers: TrustedControllers;
  /** Workload kinds beyond the built-in ones (k8s/workloads.ts), with their template paths. */
  workloads: CustomWorkload[];
  gpu: GpuSettings;
  amlTaints: AmlTaints;
  amlExtension: AmlExtension;
  rules: Record<RuleId, RuleSettings>;
  computes: Record<string, Compute>;
}
