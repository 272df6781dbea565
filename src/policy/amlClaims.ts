import { createHash } from 'node:crypto';
import { isObject } from '../k8s/json.js';
import { isDns1123Label } from '../k8s/names.js';
import type { PolicyKeys } from './types.js';

/**
 * AML's PVC convention ("AzureML jobs connect with custom data storage"): a PersistentVolumeClaim
 * labelled `ml.azure.com/pvc: "true"` is mounted into the AML jobs of its namespace, at the path
 * of its `ml.azure.com/mountpath` annotation; `ml.azure.com/gid` names a group the job's user
 * joins for the volume's permissions. Pure: the PVC informer and `dry-run -f` hand claims in.
 */

/** What the rules need of a PVC: where it is and its metadata. */
export interface ClaimMeta {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The PVCs known to the webhook, by namespace (its informer in `serve`, the documents in `dry-run`). */
export interface ClaimLookup {
  inNamespace(namespace: string): readonly ClaimMeta[];
}

export const NO_CLAIMS: ClaimLookup = { inNamespace: () => [] };

/** A claim offered to AML pods, read from its metadata. */
export interface AmlVolumeClaim {
  readonly claimName: string;
  /** The pod volume's name: `pvc-<claim>` when that is a DNS label, else a digest of the claim name. */
  readonly volumeName: string;
  readonly mountPath: string;
  readonly gid?: number;
}

export type AmlClaimRead = { readonly ok: true; readonly claim: AmlVolumeClaim } | { readonly ok: false; readonly error: string };

/** Group ids as the API server takes them in supplementalGroups (int64, not negative). */
const GID = /^\d{1,10}$/;

function volumeName(claim: string): string {
  const plain = `pvc-${claim}`;
  return isDns1123Label(plain) ? plain : `pvc-${createHash('sha256').update(claim).digest('hex').slice(0, 16)}`;
}

/** The AML claim a PVC offers; undefined when it has not the label (value "true"). */
export function amlVolumeClaim(meta: ClaimMeta, keys: PolicyKeys): AmlClaimRead | undefined {
  if (meta.labels[keys.pvcLabel] !== 'true') return undefined;
  const mountPath = meta.annotations[keys.pvcMountPathAnnotation];
  if (mountPath === undefined || mountPath === '') return { ok: false, error: `no ${keys.pvcMountPathAnnotation} annotation` };
  if (!mountPath.startsWith('/') || mountPath.includes(':'))
    return { ok: false, error: `${keys.pvcMountPathAnnotation} "${mountPath}" is not an absolute path without ':'` };
  const gidText = meta.annotations[keys.pvcGidAnnotation];
  if (gidText !== undefined && (!GID.test(gidText) || Number(gidText) > 2 ** 31 - 1))
    return { ok: false, error: `${keys.pvcGidAnnotation} "${gidText}" is not a group id` };
  return {
    ok: true,
    claim: { claimName: meta.name, volumeName: volumeName(meta.name), mountPath, ...(gidText !== undefined ? { gid: Number(gidText) } : {}) },
  };
}

const strings = (v: unknown): Record<string, string> =>
  isObject(v) ? (Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>) : {};

/** A PVC object's metadata (plain JSON or a client-node model); undefined without a name. */
export function claimMetaOf(pvc: unknown, defaultNamespace = ''): ClaimMeta | undefined {
  const meta = isObject(pvc) && isObject(pvc.metadata) ? pvc.metadata : undefined;
  if (meta === undefined || typeof meta.name !== 'string' || meta.name === '') return undefined;
  return {
    namespace: typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : defaultNamespace,
    name: meta.name,
    labels: strings(meta.labels),
    annotations: strings(meta.annotations),
  };
}

/** PVC metadata by namespace and name, kept in step with a watch (or filled from files). */
export class ClaimIndex implements ClaimLookup {
  private readonly byNamespace = new Map<string, Map<string, ClaimMeta>>();

  upsert(meta: ClaimMeta): void {
    let names = this.byNamespace.get(meta.namespace);
    if (names === undefined) this.byNamespace.set(meta.namespace, (names = new Map()));
    names.set(meta.name, meta);
  }

  remove(namespace: string, name: string): void {
    const names = this.byNamespace.get(namespace);
    names?.delete(name);
    if (names?.size === 0) this.byNamespace.delete(namespace);
  }

  inNamespace(namespace: string): readonly ClaimMeta[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  /** How many PVCs it holds. */
  get size(): number {
    let n = 0;
    for (const names of this.byNamespace.values()) n += names.size;
    return n;
  }
}
