import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import type { NodeSelectorTerm } from './affinity.js';
import { isObject } from './json.js';
import { wholeNumber } from './quantity.js';
import type { Toleration } from './tolerations.js';

/**
 * The pod under review. The JSON is untrusted, so its shape is checked once, at the edge
 * (decodePod): past that, every field the project reads has the type client-node's V1Pod says.
 */

export type Pod = V1Pod;
export type Container = V1Container;
export type Volume = V1Volume;

/**
 * The fields of a pod the rules and the extender read, absent ones defaulted. Read through on
 * each access (no copies), so a view of a pod being patched costs nothing to make.
 */
export class PodView {
  /** The pod JSON as received (shape checked). */
  constructor(readonly object: Pod) {}

  get name(): string {
    return this.object.metadata?.name ?? '';
  }
  get namespace(): string {
    return this.object.metadata?.namespace ?? '';
  }
  get labels(): Readonly<Record<string, string>> {
    return this.object.metadata?.labels ?? EMPTY;
  }
  get annotations(): Readonly<Record<string, string>> {
    return this.object.metadata?.annotations ?? EMPTY;
  }
  get containers(): readonly Container[] {
    return this.object.spec?.containers ?? NONE;
  }
  get initContainers(): readonly Container[] {
    return this.object.spec?.initContainers ?? NONE;
  }
  get nodeSelector(): Readonly<Record<string, string>> {
    return this.object.spec?.nodeSelector ?? EMPTY;
  }
  /** The required node-affinity terms (ORed); undefined when the pod requires none. */
  get requiredTerms(): readonly NodeSelectorTerm[] | undefined {
    return this.object.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? undefined;
  }
  /** The pod sets node affinity of any kind (required or preferred). */
  get hasNodeAffinity(): boolean {
    return !absent(this.object.spec?.affinity?.nodeAffinity);
  }
  get tolerations(): readonly Toleration[] {
    return (this.object.spec?.tolerations ?? NONE) as readonly Toleration[];
  }
  get volumes(): readonly Volume[] {
    return this.object.spec?.volumes ?? NONE;
  }
  get schedulerName(): string | undefined {
    return this.object.spec?.schedulerName ?? undefined;
  }
  get nodeName(): string | undefined {
    return this.object.spec?.nodeName || undefined;
  }
}

export type PodDecode = { readonly ok: true; readonly pod: PodView } | { readonly ok: false; readonly error: string };

const NONE: readonly never[] = Object.freeze([]);
const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** A part of the pod that does not have its type; the message is the path and the type it needs. */
class ShapeError extends Error {}

// The checks build a message only when they fail: on the hot path every pod passes them.
function fail(message: string): never {
  throw new ShapeError(message);
}

const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

function optionalObject(v: unknown, path: string): Record<string, unknown> | undefined {
  if (absent(v)) return undefined;
  if (!isObject(v)) fail(`${path} must be an object`);
  return v;
}

/** The key of `keys` whose value in `o` is present but not a string. */
function nonString(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (!absent(o[k]) && typeof o[k] !== 'string') return k;
  return undefined;
}

function strings(o: Record<string, unknown>, keys: readonly string[], path: string): void {
  const k = nonString(o, keys);
  if (k !== undefined) fail(`${path}.${k} must be a string`);
}

function stringMap(v: unknown, path: string): void {
  const o = optionalObject(v, path);
  for (const k in o) if (typeof o[k] !== 'string') fail(`${path}[${JSON.stringify(k)}] must be a string`);
}

function objects(v: unknown, path: string): readonly Record<string, unknown>[] {
  if (absent(v)) return NONE;
  if (!Array.isArray(v) || !v.every(isObject)) fail(`${path} must be a list of objects`);
  return v as Record<string, unknown>[];
}

function validRequirement(r: unknown): boolean {
  return (
    isObject(r) &&
    typeof r.key === 'string' &&
    typeof r.operator === 'string' &&
    (absent(r.values) || (Array.isArray(r.values) && r.values.every((v) => typeof v === 'string')))
  );
}

const TERMS = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution';

function checkTerms(required: Record<string, unknown>): void {
  const terms = required.nodeSelectorTerms;
  if (!Array.isArray(terms)) fail(`${TERMS}.nodeSelectorTerms must be a list`);
  terms.forEach((term: unknown, i) => {
    if (!isObject(term)) fail(`${TERMS}.nodeSelectorTerms[${i}] must be an object`);
    for (const part of ['matchExpressions', 'matchFields'] as const) {
      const reqs = term[part];
      if (!absent(reqs) && !(Array.isArray(reqs) && reqs.every(validRequirement)))
        fail(`${TERMS}.nodeSelectorTerms[${i}].${part} must be a list of {key, operator, values}`);
    }
  });
}

const CONTAINER_STRINGS = ['name', 'restartPolicy'];
const TOLERATION_STRINGS = ['key', 'operator', 'value', 'effect'];
const PARTS = ['requests', 'limits'];

function checkContainers(list: 'containers' | 'initContainers', v: unknown): void {
  const containers = objects(v, `spec.${list}`);
  for (let i = 0; i < containers.length; i++) {
    const c = containers[i]!;
    const k = nonString(c, CONTAINER_STRINGS);
    if (k !== undefined) fail(`spec.${list}[${i}].${k} must be a string`);
    const r = c.resources;
    if (!absent(r)) {
      if (!isObject(r)) fail(`spec.${list}[${i}].resources must be an object`);
      for (const part of PARTS) if (!absent(r[part]) && !isObject(r[part])) fail(`spec.${list}[${i}].resources.${part} must be an object`);
    }
    const mounts = c.volumeMounts;
    if (!absent(mounts) && !(Array.isArray(mounts) && mounts.every(isObject))) fail(`spec.${list}[${i}].volumeMounts must be a list of objects`);
  }
}

function check(raw: Record<string, unknown>): void {
  const meta = optionalObject(raw.metadata, 'metadata');
  if (meta) {
    strings(meta, ['name', 'generateName', 'namespace'], 'metadata');
    stringMap(meta.labels, 'metadata.labels');
    stringMap(meta.annotations, 'metadata.annotations');
  }
  const spec = optionalObject(raw.spec, 'spec');
  if (!spec) return;
  strings(spec, ['schedulerName', 'nodeName'], 'spec');
  stringMap(spec.nodeSelector, 'spec.nodeSelector');
  checkContainers('containers', spec.containers);
  checkContainers('initContainers', spec.initContainers);
  const tolerations = objects(spec.tolerations, 'spec.tolerations');
  for (let i = 0; i < tolerations.length; i++) {
    const t = tolerations[i]!;
    const k = nonString(t, TOLERATION_STRINGS);
    if (k !== undefined) fail(`spec.tolerations[${i}].${k} must be a string`);
    if (!absent(t.tolerationSeconds) && typeof t.tolerationSeconds !== 'number') fail(`spec.tolerations[${i}].tolerationSeconds must be a number`);
  }
  objects(spec.volumes, 'spec.volumes');
  const nodeAffinity = optionalObject(optionalObject(spec.affinity, 'spec.affinity')?.nodeAffinity, 'spec.affinity.nodeAffinity');
  const required = optionalObject(nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, TERMS);
  if (required) checkTerms(required);
}

/**
 * Checks the shape of untrusted pod JSON (an AdmissionReview's object, an ExtenderArgs Pod, a
 * file) once. The error names the first field with the wrong type, relative to the pod; a value
 * that is not an object at all says `not an object`.
 */
export function decodePod(raw: unknown): PodDecode {
  if (!isObject(raw)) return { ok: false, error: 'not an object' };
  try {
    check(raw);
  } catch (err) {
    if (err instanceof ShapeError) return { ok: false, error: err.message };
    throw err;
  }
  return { ok: true, pod: viewPod(raw as Pod) };
}

/** The view of a pod whose shape is known: one decodePod accepted, or one built from it by a patch. */
export function viewPod(object: Pod): PodView {
  return new PodView(object);
}

/**
 * A container's amount of the extended resources `names`: the limit if set (extended resources
 * cannot be overcommitted, so a limit alone implies the request), else the request. NaN when a
 * quantity is not a whole number.
 */
export function containerAmount(c: Container, names: readonly string[]): number {
  let total = 0;
  for (const name of names) {
    const q: unknown = c.resources?.limits?.[name] ?? c.resources?.requests?.[name];
    if (q !== undefined) total += wholeNumber(q) ?? NaN;
  }
  return total;
}

/**
 * The pod's amount as the scheduler counts it (PodRequests, KEP-753): app containers plus sidecars
 * (init containers with restartPolicy Always, which run for the pod's whole life), or, if larger,
 * an ordinary init container together with the sidecars started before it.
 */
export function podAmount(pod: PodView, names: readonly string[]): number {
  let running = 0;
  for (const c of pod.containers) running += containerAmount(c, names);
  let sidecars = 0;
  let init = 0;
  for (const c of pod.initContainers) {
    const amount = containerAmount(c, names);
    if (c.restartPolicy === 'Always') {
      sidecars += amount;
      running += amount;
      init = Math.max(init, sidecars);
    } else {
      init = Math.max(init, amount + sidecars);
    }
  }
  return Math.max(running, init);
}

/** Names of the extended resources (those with a `/`, e.g. nvidia.com/gpu) any container or init container asks for. */
export function extendedResources(pod: PodView): Set<string> {
  const names = new Set<string>();
  for (const c of [...pod.containers, ...pod.initContainers]) {
    for (const part of [c.resources?.limits, c.resources?.requests]) for (const k in part) if (k.includes('/')) names.add(k);
  }
  return names;
}

/** The first present, non-empty label among `keys` (the policy's "first present wins" rule). */
export function firstLabel(labels: Readonly<Record<string, string>>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = labels[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/** An object's name for reports: `metadata.name`, or `prefix…` for one named by generateName; '' when neither. */
export function objectName(object: unknown): string {
  const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  if (typeof meta.name === 'string' && meta.name !== '') return meta.name;
  return typeof meta.generateName === 'string' && meta.generateName !== '' ? `${meta.generateName}…` : '';
}
