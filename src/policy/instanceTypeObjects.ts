import { isObject } from '../k8s/json.js';
import { compareQuantities, parseQuantity, wholeNumber, type Quantity } from '../k8s/quantity.js';
import { isExtendedResource } from '../k8s/resources.js';
import type { InstanceType } from './types.js';

/**
 * AML's InstanceType objects (instancetypes.amlarc.azureml.com, cluster-scoped, installed by the
 * AML extension; deploy/crds/instancetypes.yaml has the same definition), read as the instance
 * types the rules use. Pure: the watch in kube/instanceTypes.ts and `dry-run -f` hand objects in.
 *
 * AML's rules (learn.microsoft.com, "Create and manage instance types"), which the CRD's
 * validation states too: CPU and memory requests and limits are required and not zero; GPUs (any
 * extended resource) are whole numbers in limits only; `nvidia.com/gpu: 0` and `null` mean none.
 */

export const INSTANCE_TYPE_GROUP = 'amlarc.azureml.com';
export const INSTANCE_TYPE_VERSION = 'v1alpha1';
export const INSTANCE_TYPE_API_VERSION = `${INSTANCE_TYPE_GROUP}/${INSTANCE_TYPE_VERSION}`;
export const INSTANCE_TYPE_KIND = 'InstanceType';
export const INSTANCE_TYPE_LIST_KIND = 'InstanceTypeList';
export const INSTANCE_TYPE_PLURAL = 'instancetypes';

/** The type of pods that name none, on AML and here. */
export const DEFAULT_INSTANCE_TYPE = 'defaultinstancetype';

/**
 * AML's built-in `defaultinstancetype`: no nodeSelector, few resources. AML creates it on attach
 * without an object (`kubectl get instancetype` does not list it); an object of that name overrides it.
 */
export const AML_DEFAULT_INSTANCE_TYPE: InstanceType = Object.freeze({
  nodeSelector: Object.freeze({}),
  resources: Object.freeze({
    requests: Object.freeze({ cpu: '100m', memory: '2Gi' }),
    limits: Object.freeze({ cpu: '2', memory: '2Gi' }),
  }),
}) as InstanceType;

export type InstanceTypeRead =
  { readonly ok: true; readonly name: string; readonly type: InstanceType } | { readonly ok: false; readonly name: string; readonly errors: readonly string[] };

/** An InstanceType document: by apiVersion group and kind (any version of the group). */
export function isInstanceTypeDocument(apiVersion: string, kind: string): boolean {
  return kind === INSTANCE_TYPE_KIND && apiVersion.split('/')[0] === INSTANCE_TYPE_GROUP;
}

export function isInstanceTypeListDocument(apiVersion: string, kind: string): boolean {
  return kind === INSTANCE_TYPE_LIST_KIND && apiVersion.split('/')[0] === INSTANCE_TYPE_GROUP;
}

const REQUIRED = ['cpu', 'memory'] as const;

/** One resource list (requests or limits): quantities as strings, nulls and zero extended resources dropped. */
function readList(v: unknown, at: string, errors: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isObject(v)) {
    errors.push(`${at} must be a map of resource quantities`);
    return out;
  }
  for (const [name, q] of Object.entries(v)) {
    const path = `${at}[${name}]`;
    if (q === null) continue; // AML's `nvidia.com/gpu: null`: none
    if (typeof q === 'number' && !Number.isInteger(q)) {
      errors.push(`${path} must be a quantity string or a whole number, got ${q}`);
      continue;
    }
    if (typeof q !== 'string' && typeof q !== 'number') {
      errors.push(`${path} must be a quantity string or a whole number`);
      continue;
    }
    const text = String(q);
    const value = parseQuantity(text);
    if (value === undefined) errors.push(`${path}: "${text}" is not a resource quantity`);
    else if (value.mantissa < 0n) errors.push(`${path} must not be negative, got "${text}"`);
    else if (isExtendedResource(name) && wholeNumber(text) === undefined) errors.push(`${path} must be a whole number, got "${text}"`);
    else if (!(isExtendedResource(name) && value.mantissa === 0n)) out[name] = text; // `nvidia.com/gpu: 0`: none
  }
  return out;
}

const positive = (q: Quantity | undefined): boolean => q !== undefined && q.mantissa > 0n;

/** Reads one InstanceType object; every broken rule is reported, named by field. */
export function readInstanceTypeObject(obj: unknown): InstanceTypeRead {
  const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const errors: string[] = [];
  if (name === '') errors.push('metadata.name is required');
  const spec = isObject(obj) && isObject(obj.spec) ? obj.spec : undefined;
  if (spec === undefined) return { ok: false, name, errors: [...errors, 'spec is required'] };
  const nodeSelector: Record<string, string> = {};
  if (spec.nodeSelector !== undefined && spec.nodeSelector !== null) {
    if (!isObject(spec.nodeSelector)) errors.push('spec.nodeSelector must be a map of strings');
    else
      for (const [k, v] of Object.entries(spec.nodeSelector)) {
        if (v === null) continue; // the API server prunes nulls of fields that are not nullable
        if (typeof v === 'string') nodeSelector[k] = v;
        else errors.push(`spec.nodeSelector[${k}] must be a string`);
      }
  }
  const resources = isObject(spec.resources) ? spec.resources : undefined;
  if (resources === undefined) return { ok: false, name, errors: [...errors, 'spec.resources is required (CPU and memory requests and limits)'] };
  const requests = readList(resources.requests, 'spec.resources.requests', errors);
  const limits = readList(resources.limits, 'spec.resources.limits', errors);
  for (const [kind, list] of [
    ['requests', requests],
    ['limits', limits],
  ] as const) {
    for (const r of REQUIRED) {
      const given = isObject(resources[kind]) ? (resources[kind] as Record<string, unknown>)[r] : undefined;
      if (given === undefined || given === null) errors.push(`spec.resources.${kind}[${r}] is required`);
      else if (list[r] !== undefined && !positive(parseQuantity(list[r]))) errors.push(`spec.resources.${kind}[${r}] must not be zero`);
    }
  }
  for (const r of Object.keys(requests)) {
    if (isExtendedResource(r)) errors.push(`spec.resources.requests[${r}]: ${r} goes in limits only (the request follows the limit)`);
    else if (limits[r] !== undefined && compareQuantities(parseQuantity(requests[r]!)!, parseQuantity(limits[r]!)!) > 0)
      errors.push(`spec.resources.requests[${r}] ${requests[r]} is greater than the limit ${limits[r]}`);
  }
  if (errors.length > 0) return { ok: false, name, errors };
  return { ok: true, name, type: { nodeSelector, resources: { requests, limits } } };
}

/** The cluster's InstanceType objects, read: the valid ones by name, and why the others were refused. */
export interface ClusterInstanceTypes {
  readonly types: ReadonlyMap<string, InstanceType>;
  readonly refused: ReadonlyMap<string, string>;
}

export const NO_CLUSTER_INSTANCE_TYPES: ClusterInstanceTypes = Object.freeze({ types: new Map(), refused: new Map() });

export function clusterInstanceTypes(objects: Iterable<unknown>): ClusterInstanceTypes {
  const types = new Map<string, InstanceType>();
  const refused = new Map<string, string>();
  for (const obj of objects) {
    const read = readInstanceTypeObject(obj);
    if (read.ok) types.set(read.name, read.type);
    else if (read.name !== '') refused.set(read.name, read.errors.join('; '));
  }
  return { types, refused };
}
