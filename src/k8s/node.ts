import { isObject } from './json.js';
import { wholeNumber } from './quantity.js';
import { formatTaint, isHardTaint, TAINT_EFFECTS, type Taint, type TaintEffect } from './tolerations.js';

/**
 * What the extender needs to know about a Node, projected once from the v1 Node JSON (from a
 * request, an informer or a file). Projecting keeps the cache small and makes every later read
 * a field access instead of a defensive walk through untrusted JSON.
 */
export interface NodeFacts {
  readonly name: string;
  /** The name as a JSON string, encoded once: answers list thousands of names per call. */
  readonly nameJson: string;
  readonly labels: Readonly<Record<string, string>>;
  /** NoSchedule and NoExecute taints only: PreferNoSchedule never excludes a node. */
  readonly hardTaints: readonly Taint[];
  /** The hard taints as one string, so a call can judge each distinct taint set once. */
  readonly taintSignature: string;
  /** The Ready condition is "True". */
  readonly ready: boolean;
  /** Cordoned (`spec.unschedulable`). */
  readonly unschedulable: boolean;
  /** Allocatable extended resources (names with a `/`, e.g. nvidia.com/gpu) as whole numbers. */
  readonly allocatable: Readonly<Record<string, number>>;
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, s] of Object.entries(v)) if (typeof s === 'string') out[k] = s;
  return out;
}

function hardTaintsOf(spec: Record<string, unknown>): Taint[] {
  const list = spec.taints;
  if (!Array.isArray(list)) return [];
  const out: Taint[] = [];
  for (const t of list) {
    if (!isObject(t) || typeof t.key !== 'string' || typeof t.effect !== 'string' || !TAINT_EFFECTS.has(t.effect)) continue;
    const effect = t.effect as TaintEffect;
    const taint: Taint = typeof t.value === 'string' && t.value !== '' ? { key: t.key, value: t.value, effect } : { key: t.key, effect };
    if (isHardTaint(taint)) out.push(taint);
  }
  return out;
}

function readyOf(status: Record<string, unknown>): boolean {
  const conditions = status.conditions;
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
}

function extendedAllocatable(status: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  // Allocatable, not capacity: what the kubelet offers to pods, as the scheduler counts it.
  const alloc = isObject(status.allocatable) ? status.allocatable : {};
  for (const [name, q] of Object.entries(alloc)) {
    if (!name.includes('/')) continue; // cpu, memory, pods...: the scheduler's own plugins judge those
    const n = wholeNumber(q);
    if (n !== undefined) out[name] = n;
  }
  return out;
}

/** Projects a v1 Node; undefined when the value is not a Node with a name. Never throws. */
export function nodeFacts(node: unknown): NodeFacts | undefined {
  if (!isObject(node) || !isObject(node.metadata)) return undefined;
  const name = node.metadata.name;
  if (typeof name !== 'string' || name === '') return undefined;
  const spec = isObject(node.spec) ? node.spec : {};
  const status = isObject(node.status) ? node.status : {};
  const hardTaints = hardTaintsOf(spec);
  return {
    name,
    nameJson: JSON.stringify(name),
    labels: stringRecord(node.metadata.labels),
    hardTaints,
    taintSignature: hardTaints.map(formatTaint).join(','),
    ready: readyOf(status),
    unschedulable: spec.unschedulable === true,
    allocatable: extendedAllocatable(status),
  };
}
