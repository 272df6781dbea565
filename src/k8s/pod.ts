import type { V1Container, V1ObjectMeta, V1Pod, V1Volume } from '@kubernetes/client-node';
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

/** The fields of a pod the rules and the extender read, with absent ones defaulted. */
export interface PodView {
  /** The pod JSON as received (shape checked). */
  readonly object: Pod;
  readonly name: string;
  readonly generateName: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly containers: readonly Container[];
  readonly initContainers: readonly Container[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** The required node-affinity terms (ORed); undefined when the pod requires none. */
  readonly requiredTerms: readonly NodeSelectorTerm[] | undefined;
  /** The pod sets node affinity of any kind (required or preferred). */
  readonly hasNodeAffinity: boolean;
  readonly tolerations: readonly Toleration[];
  readonly volumes: readonly Volume[];
  readonly schedulerName: string | undefined;
  readonly nodeName: string | undefined;
}

export type PodDecode = { readonly ok: true; readonly pod: PodView } | { readonly ok: false; readonly error: string };

const NONE: readonly never[] = Object.freeze([]);
const EMPTY: Readonly<Record<string, string>> = Object.freeze({});
const NO_META: V1ObjectMeta = Object.freeze({});

/** A part of the pod that does not have its type; the message is the path and the type it needs. */
class ShapeError extends Error {}

function need(ok: boolean, message: string): void {
  if (!ok) throw new ShapeError(message);
}

const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

function optionalObject(v: unknown, path: string): Record<string, unknown> | undefined {
  if (absent(v)) return undefined;
  need(isObject(v), `${path} must be an object`);
  return v as Record<string, unknown>;
}

function strings(o: Record<string, unknown>, keys: readonly string[], path: string): void {
  for (const k of keys) need(absent(o[k]) || typeof o[k] === 'string', `${path}.${k} must be a string`);
}

function stringMap(v: unknown, path: string): void {
  const o = optionalObject(v, path);
  for (const k in o) need(typeof o[k] === 'string', `${path}[${JSON.stringify(k)}] must be a string`);
}

function objects(v: unknown, path: string): readonly Record<string, unknown>[] {
  if (absent(v)) return NONE;
  need(Array.isArray(v) && v.every(isObject), `${path} must be a list of objects`);
  return v as Record<string, unknown>[];
}

function checkContainer(c: Record<string, unknown>, path: string): void {
  strings(c, ['name', 'restartPolicy'], path);
  const resources = optionalObject(c.resources, `${path}.resources`);
  if (resources) for (const part of ['requests', 'limits']) optionalObject(resources[part], `${path}.resources.${part}`);
  objects(c.volumeMounts, `${path}.volumeMounts`);
}

function checkTerms(required: Record<string, unknown>, path: string): void {
  const at = `${path}.nodeSelectorTerms`;
  const terms = required.nodeSelectorTerms;
  need(Array.isArray(terms), `${at} must be a list`);
  for (const [i, term] of (terms as unknown[]).entries()) {
    need(isObject(term), `${at}[${i}] must be an object`);
    for (const part of ['matchExpressions', 'matchFields'] as const) {
      const reqs = (term as Record<string, unknown>)[part];
      const valid = (r: unknown) =>
        isObject(r) && typeof r.key === 'string' && typeof r.operator === 'string' && (absent(r.values) || (Array.isArray(r.values) && r.values.every((v) => typeof v === 'string')));
      need(absent(reqs) || (Array.isArray(reqs) && reqs.every(valid)), `${at}[${i}].${part} must be a list of {key, operator, values}`);
    }
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
  for (const list of ['containers', 'initContainers'] as const) objects(spec[list], `spec.${list}`).forEach((c, i) => checkContainer(c, `spec.${list}[${i}]`));
  objects(spec.tolerations, 'spec.tolerations').forEach((t, i) => {
    strings(t, ['key', 'operator', 'value', 'effect'], `spec.tolerations[${i}]`);
    need(absent(t.tolerationSeconds) || typeof t.tolerationSeconds === 'number', `spec.tolerations[${i}].tolerationSeconds must be a number`);
  });
  objects(spec.volumes, 'spec.volumes');
  const nodeAffinity = optionalObject(optionalObject(spec.affinity, 'spec.affinity')?.nodeAffinity, 'spec.affinity.nodeAffinity');
  const at = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution';
  const required = optionalObject(nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, at);
  if (required) checkTerms(required, at);
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
  const meta = object.metadata ?? NO_META;
  const spec = object.spec;
  const nodeAffinity = spec?.affinity?.nodeAffinity;
  return {
    object,
    name: meta.name ?? '',
    generateName: meta.generateName ?? '',
    namespace: meta.namespace ?? '',
    labels: meta.labels ?? EMPTY,
    annotations: meta.annotations ?? EMPTY,
    containers: spec?.containers ?? NONE,
    initContainers: spec?.initContainers ?? NONE,
    nodeSelector: spec?.nodeSelector ?? EMPTY,
    requiredTerms: nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? undefined,
    hasNodeAffinity: !absent(nodeAffinity),
    tolerations: (spec?.tolerations ?? NONE) as readonly Toleration[],
    volumes: spec?.volumes ?? NONE,
    schedulerName: spec?.schedulerName ?? undefined,
    nodeName: spec?.nodeName || undefined,
  };
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

/** The pod's amount as the scheduler counts it: max(sum of containers, largest init container). */
export function podAmount(pod: PodView, names: readonly string[]): number {
  let sum = 0;
  for (const c of pod.containers) sum += containerAmount(c, names);
  let init = 0;
  for (const c of pod.initContainers) init = Math.max(init, containerAmount(c, names));
  return Math.max(sum, init);
}

/** True when any container or init container requests or limits any of `names` (a malformed quantity counts). */
export function asksFor(pod: PodView, names: readonly string[]): boolean {
  return pod.containers.some((c) => containerAmount(c, names) !== 0) || pod.initContainers.some((c) => containerAmount(c, names) !== 0);
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
