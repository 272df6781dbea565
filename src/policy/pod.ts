import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Compute, InstanceType, Policy, Toleration } from './types.js';

/** A Pod as it arrives in JSON (client-node's types describe the same field names). */
export type Pod = V1Pod;
export type Container = V1Container;

/** One entry of the `ml.azure.com/blobfuse-mounts` annotation. */
export interface BlobfuseMount {
  readonly name: string;
  readonly container: string;
  readonly mountPath: string;
  readonly secretName: string;
  readonly readOnly?: boolean;
  readonly mountOptions?: string;
  /** Containers to mount into; absent means every container. */
  readonly containers?: readonly string[];
}

export type BlobfuseParse = { readonly ok: true; readonly mounts: readonly BlobfuseMount[] } | { readonly ok: false; readonly error: string };

/** The AML facts about a pod, resolved once from its labels and the policy; shared by all rules. */
export interface AmlPod {
  readonly computeName: string;
  /** Undefined when the policy does not define the compute (policy-input denies it). */
  readonly compute: Compute | undefined;
  readonly instanceTypeName: string;
  /** True when the instance type came from the label rather than the compute's default. */
  readonly instanceTypeExplicit: boolean;
  /** Undefined when the compute (or its instance type) is unknown. */
  readonly instanceType: InstanceType | undefined;
  readonly workspace: string | undefined;
  readonly resourceGroup: string | undefined;
  /** The distributed job (gang) the pod belongs to, if any. */
  readonly jobName: string | undefined;
  /** Undefined when the pod has no blobfuse annotation. */
  readonly blobfuse: BlobfuseParse | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value usable as a Pod: an object whose spec (if any) is an object. Anything else is not judged as a pod. */
export function asPod(object: unknown): Pod | undefined {
  if (!isObject(object)) return undefined;
  if (object.spec !== undefined && !isObject(object.spec)) return undefined;
  return object as Pod;
}

export function labelsOf(pod: Pod): Record<string, string> {
  const l = pod.metadata?.labels;
  return isObject(l) ? (l as Record<string, string>) : {};
}

export function annotationsOf(pod: Pod): Record<string, string> {
  const a = pod.metadata?.annotations;
  return isObject(a) ? (a as Record<string, string>) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const MOUNT_KEYS = new Set(['name', 'container', 'mountPath', 'secretName', 'readOnly', 'mountOptions', 'containers']);

/** Parses the blobfuse annotation; errors name the entry and field, never echo secret values. */
export function parseBlobfuseMounts(text: string): BlobfuseParse {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, error: 'is not valid JSON' };
  }
  if (!Array.isArray(doc)) return { ok: false, error: 'must be a JSON list of mounts' };
  const mounts: BlobfuseMount[] = [];
  const names = new Set<string>();
  for (const [i, m] of doc.entries()) {
    if (!isObject(m)) return { ok: false, error: `entry ${i} must be an object` };
    for (const key of Object.keys(m)) if (!MOUNT_KEYS.has(key)) return { ok: false, error: `entry ${i} has unknown field "${key}"` };
    for (const key of ['name', 'container', 'mountPath', 'secretName'] as const) {
      if (typeof m[key] !== 'string' || m[key] === '') return { ok: false, error: `entry ${i} needs a non-empty string "${key}"` };
    }
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(m.name as string)) return { ok: false, error: `entry ${i}: "name" must be a DNS label` };
    if (!(m.mountPath as string).startsWith('/')) return { ok: false, error: `entry ${i}: "mountPath" must be absolute` };
    if (names.has(m.name as string)) return { ok: false, error: `entry ${i}: duplicate name "${m.name as string}"` };
    names.add(m.name as string);
    if (m.readOnly !== undefined && typeof m.readOnly !== 'boolean') return { ok: false, error: `entry ${i}: "readOnly" must be a boolean` };
    if (m.mountOptions !== undefined && typeof m.mountOptions !== 'string') return { ok: false, error: `entry ${i}: "mountOptions" must be a string` };
    if (m.containers !== undefined && (!Array.isArray(m.containers) || !m.containers.every((c) => typeof c === 'string'))) {
      return { ok: false, error: `entry ${i}: "containers" must be a list of container names` };
    }
    mounts.push(m as unknown as BlobfuseMount);
  }
  return { ok: true, mounts };
}

/** Resolves a pod's AML facts; undefined when it is not an AML pod (no compute label). */
export function amlPod(policy: Policy, pod: Pod): AmlPod | undefined {
  const labels = labelsOf(pod);
  const keys = policy.keys;
  const computeName = str(labels[keys.computeLabel]);
  if (computeName === undefined) return undefined;
  const compute = Object.hasOwn(policy.computes, computeName) ? policy.computes[computeName] : undefined;
  const labelled = str(labels[keys.instanceTypeLabel]);
  const instanceTypeName = labelled ?? compute?.defaultInstanceType ?? '';
  const instanceType = compute && Object.hasOwn(compute.instanceTypes, instanceTypeName) ? compute.instanceTypes[instanceTypeName] : undefined;
  const annotation = annotationsOf(pod)[keys.blobfuseAnnotation];
  return {
    computeName,
    compute,
    instanceTypeName,
    instanceTypeExplicit: labelled !== undefined,
    instanceType,
    workspace: str(labels[keys.workspaceLabel]),
    resourceGroup: str(labels[keys.resourceGroupLabel]),
    jobName: keys.jobNameLabels.map((k) => str(labels[k])).find((v) => v !== undefined),
    blobfuse: annotation === undefined ? undefined : typeof annotation === 'string' ? parseBlobfuseMounts(annotation) : { ok: false, error: 'must be a string' },
  };
}

export function containersOf(pod: Pod): Container[] {
  const c = pod.spec?.containers;
  return Array.isArray(c) ? c.filter(isObject) : [];
}

export function initContainersOf(pod: Pod): Container[] {
  const c = pod.spec?.initContainers;
  return Array.isArray(c) ? c.filter(isObject) : [];
}

/**
 * A container's amount of an extended resource: the limit if set (extended resources cannot be
 * overcommitted, so a request without a limit is invalid and a limit alone implies the request),
 * else the request. NaN when the quantity is not a whole number.
 */
export function containerGpus(c: Container, resourceNames: readonly string[]): number {
  const res = isObject(c.resources) ? c.resources : {};
  const limits = isObject(res.limits) ? (res.limits as Record<string, unknown>) : {};
  const requests = isObject(res.requests) ? (res.requests as Record<string, unknown>) : {};
  let total = 0;
  for (const name of resourceNames) {
    const q = limits[name] ?? requests[name];
    if (q === undefined) continue;
    const n = typeof q === 'number' ? q : typeof q === 'string' && /^\d+$/.test(q) ? Number(q) : NaN;
    total += n;
  }
  return total;
}

/** The pod's effective GPU count as the scheduler sees it: max(sum of containers, largest init container). */
export function podGpus(pod: Pod, resourceNames: readonly string[]): number {
  const sum = containersOf(pod).reduce((acc, c) => acc + containerGpus(c, resourceNames), 0);
  const init = initContainersOf(pod).reduce((acc, c) => Math.max(acc, containerGpus(c, resourceNames)), 0);
  return Math.max(sum, init);
}

/** True when any container or init container requests or limits a GPU resource. */
export function requestsGpu(pod: Pod, resourceNames: readonly string[]): boolean {
  return [...containersOf(pod), ...initContainersOf(pod)].some((c) => containerGpus(c, resourceNames) !== 0);
}

/** Tolerations the AML taint keys give a pod of this compute (aml-tolerations writes the same). */
export function amlOwnTolerations(policy: Policy, aml: AmlPod): Toleration[] {
  const { amlTaints } = policy;
  const own: [string, string | undefined][] = [
    [amlTaints.resourceGroupKey, aml.resourceGroup],
    [amlTaints.workspaceKey, aml.workspace],
    [amlTaints.computeKey, aml.computeName],
  ];
  return own.filter((e): e is [string, string] => e[1] !== undefined).map(([key, value]) => ({ key, operator: 'Equal', value, effect: amlTaints.effect }));
}
