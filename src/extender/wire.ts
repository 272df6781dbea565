import { isObject } from '../k8s/json.js';
import type { NodeFacts } from '../k8s/node.js';
import { decodePod, type PodView } from '../k8s/pod.js';
import type { NodeFit } from './filter.js';

/**
 * kube-scheduler's extender v1 wire types (k8s.io/kube-scheduler/extender/v1). The Go structs
 * have no json tags, so the top-level keys are the Go field names (PascalCase); the embedded
 * Pod and NodeList are ordinary Kubernetes JSON (camelCase).
 */

/** The two ways kube-scheduler sends candidates: full Node objects, or names only (nodeCacheCapable). */
export const NodeMode = { Nodes: 'Nodes', NodeNames: 'NodeNames' } as const;
export type NodeMode = (typeof NodeMode)[keyof typeof NodeMode];

/** ExtenderArgs after defensive decoding. */
export type ExtenderArgs =
  | { readonly mode: typeof NodeMode.NodeNames; readonly pod: PodView; readonly names: readonly string[] }
  | { readonly mode: typeof NodeMode.Nodes; readonly pod: PodView; readonly names: readonly string[]; readonly nodes: readonly object[] };

export type DecodeResult = { readonly ok: true; readonly args: ExtenderArgs } | { readonly ok: false; readonly error: string };

/** Go's encoding/json matches field names case-insensitively; so do we, preferring the exact name. */
function field(o: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function nodeNamesOf(v: unknown): string[] | string {
  if (!Array.isArray(v) || !v.every((n) => typeof n === 'string' && n !== '')) return 'ExtenderArgs.NodeNames must be a list of node names';
  return v as string[];
}

function nodesOf(v: unknown): { names: string[]; nodes: object[] } | string {
  if (!isObject(v)) return 'ExtenderArgs.Nodes must be a NodeList object';
  const items = v.items ?? []; // Go encodes an empty (nil) slice as null
  if (!Array.isArray(items)) return 'ExtenderArgs.Nodes.items must be a list of Nodes';
  const names: string[] = [];
  for (const [i, node] of items.entries()) {
    const meta = isObject(node) ? node.metadata : undefined;
    const name = isObject(meta) ? meta.name : undefined;
    if (typeof name !== 'string' || name === '') return `ExtenderArgs.Nodes.items[${i}] has no metadata.name`;
    names.push(name);
  }
  return { names, nodes: items as object[] };
}

function duplicate(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) return n;
    seen.add(n);
  }
  return undefined;
}

/** Parsed JSON → ExtenderArgs, or the reason it is not one. Never throws. */
export function decodeExtenderArgs(body: unknown): DecodeResult {
  if (!isObject(body)) return { ok: false, error: 'ExtenderArgs must be a JSON object' };
  // kube-scheduler only ever sends pods the API server accepted; anything else gets a clear Error, not half a judgement.
  const decoded = decodePod(field(body, 'Pod'));
  if (!decoded.ok) return { ok: false, error: decoded.error === 'not an object' ? 'ExtenderArgs.Pod must be a Pod object' : `Pod.${decoded.error}` };
  const { pod } = decoded;
  const rawNames = field(body, 'NodeNames');
  const rawNodes = field(body, 'Nodes');
  let args: ExtenderArgs;
  // nodeCacheCapable extenders get NodeNames (and Nodes null); the others get Nodes.
  if (rawNames != null) {
    const names = nodeNamesOf(rawNames);
    if (typeof names === 'string') return { ok: false, error: names };
    args = { mode: NodeMode.NodeNames, pod, names };
  } else if (rawNodes != null) {
    const list = nodesOf(rawNodes);
    if (typeof list === 'string') return { ok: false, error: list };
    args = { mode: NodeMode.Nodes, pod, names: list.names, nodes: list.nodes };
  } else {
    return { ok: false, error: 'ExtenderArgs needs Nodes or NodeNames' };
  }
  // Two different objects under one name could get two verdicts, so Nodes must name each node
  // once. A repeated NodeName gets the same verdict each time, so it is left alone rather than
  // paying a set of 5,000 names on every call for a case kube-scheduler never produces.
  if (args.mode === NodeMode.Nodes) {
    const dup = duplicate(args.names);
    if (dup !== undefined) return { ok: false, error: `ExtenderArgs.Nodes lists node "${dup}" more than once` };
  }
  return { ok: true, args };
}

/** A candidate's name as JSON: precomputed for known nodes, encoded here for the rest. */
function nameJson(args: ExtenderArgs, facts: readonly (NodeFacts | undefined)[], i: number): string {
  const f = facts[i];
  return f !== undefined && f.name === args.names[i] ? f.nameJson : JSON.stringify(args.names[i]);
}

/**
 * An ExtenderFilterResult for the mode the request came in (the scheduler reads the matching
 * field). Concatenated by hand from precomputed pieces rather than JSON.stringify of name-keyed
 * objects: with thousands of nodes, encoding cost more than judging the nodes.
 */
export function encodeFilterResult(args: ExtenderArgs, facts: readonly (NodeFacts | undefined)[], verdicts: readonly NodeFit[]): string {
  let kept = '';
  const keptNodes: object[] = [];
  let failed = '';
  let unresolvable = '';
  const reasons = new Map<NodeFit, string>(); // verdicts are shared, so each reason is encoded once
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i]!;
    if (v.fits) {
      if (args.mode === NodeMode.Nodes) keptNodes.push(args.nodes[i]!);
      else kept += (kept === '' ? '' : ',') + nameJson(args, facts, i);
      continue;
    }
    let reason = reasons.get(v);
    if (reason === undefined) reasons.set(v, (reason = JSON.stringify(v.reason)));
    const entry = nameJson(args, facts, i) + ':' + reason;
    if (v.unresolvable) unresolvable += (unresolvable === '' ? '' : ',') + entry;
    else failed += (failed === '' ? '' : ',') + entry;
  }
  const nodes = args.mode === NodeMode.Nodes ? `{"metadata":{},"items":${JSON.stringify(keptNodes)}}` : 'null';
  const names = args.mode === NodeMode.NodeNames ? `[${kept}]` : 'null';
  return `{"Nodes":${nodes},"NodeNames":${names},"FailedNodes":{${failed}},"FailedAndUnresolvableNodes":{${unresolvable}},"Error":""}`;
}

/** A logical failure: HTTP 200 with Error set; kube-scheduler then fails the pod's scheduling cycle with this text. */
export function encodeFilterError(error: string): string {
  return JSON.stringify({ Nodes: null, NodeNames: null, FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: error });
}

/** A HostPriorityList, one entry per input node in input order. */
export function encodePriorities(args: ExtenderArgs, facts: readonly (NodeFacts | undefined)[], scores: readonly number[]): string {
  let out = '[';
  for (let i = 0; i < scores.length; i++) out += (i === 0 ? '{"Host":' : ',{"Host":') + nameJson(args, facts, i) + ',"Score":' + scores[i] + '}';
  return out + ']';
}
