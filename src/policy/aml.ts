import { isObject } from '../k8s/json.js';
import { firstLabel, type PodView } from '../k8s/pod.js';
import type { Compute, InstanceType, Policy } from './types.js';
import { isDns1123Label } from '../k8s/names.js';

/** What the policy's vocabulary (SPEC §2 labels and annotations) says about one pod. */

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

/** The AML facts about a pod, resolved once from its labels and the policy. */
export interface AmlFacts {
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
    const { name, mountPath } = m as { name: string; mountPath: string };
    if (!isDns1123Label(name)) return { ok: false, error: `entry ${i}: "name" must be a DNS label` };
    if (!mountPath.startsWith('/')) return { ok: false, error: `entry ${i}: "mountPath" must be absolute` };
    if (names.has(name)) return { ok: false, error: `entry ${i}: duplicate name "${name}"` };
    names.add(name);
    if (m.readOnly !== undefined && typeof m.readOnly !== 'boolean') return { ok: false, error: `entry ${i}: "readOnly" must be a boolean` };
    if (m.mountOptions !== undefined && typeof m.mountOptions !== 'string') return { ok: false, error: `entry ${i}: "mountOptions" must be a string` };
    if (m.containers !== undefined && (!Array.isArray(m.containers) || !m.containers.every((c) => typeof c === 'string'))) {
      return { ok: false, error: `entry ${i}: "containers" must be a list of container names` };
    }
    mounts.push(m as unknown as BlobfuseMount);
  }
  return { ok: true, mounts };
}

/** A label's value; undefined when absent or empty. */
function label(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  const v = Object.hasOwn(labels, key) ? labels[key] : undefined;
  return v === '' ? undefined : v;
}

/** Resolves a pod's AML facts; undefined when it is not an AML pod (no compute label). */
export function amlFacts(policy: Policy, pod: PodView): AmlFacts | undefined {
  const { labels } = pod;
  const keys = policy.keys;
  const computeName = label(labels, keys.computeLabel);
  if (computeName === undefined) return undefined;
  const compute = Object.hasOwn(policy.computes, computeName) ? policy.computes[computeName] : undefined;
  const labelled = label(labels, keys.instanceTypeLabel);
  const instanceTypeName = labelled ?? compute?.defaultInstanceType ?? '';
  const instanceType = compute && Object.hasOwn(compute.instanceTypes, instanceTypeName) ? compute.instanceTypes[instanceTypeName] : undefined;
  const annotation = pod.annotations[keys.blobfuseAnnotation];
  return {
    computeName,
    compute,
    instanceTypeName,
    instanceTypeExplicit: labelled !== undefined,
    instanceType,
    workspace: label(labels, keys.workspaceLabel),
    resourceGroup: label(labels, keys.resourceGroupLabel),
    jobName: firstLabel(labels, keys.jobNameLabels),
    blobfuse: typeof annotation === 'string' ? parseBlobfuseMounts(annotation) : undefined,
  };
}
