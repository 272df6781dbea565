import { nodeFacts } from '../k8s/node.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { ClusterView } from './cache.js';
import { filterNodes, NodeFitter, type Candidates } from './filter.js';
import { placementIndex, podDemand, type PodDemand } from './placement.js';
import { scoreNodes } from './prioritize.js';
import { decodeExtenderArgs, encodeFilterError, encodeFilterResult, encodePriorities, NodeMode, type ExtenderArgs } from './wire.js';

/** The two extender verbs, named as the URL paths kube-scheduler calls. */
export const ExtenderVerb = { Filter: 'filter', Prioritize: 'prioritize' } as const;
export type ExtenderVerb = (typeof ExtenderVerb)[keyof typeof ExtenderVerb];

/** How a call ended, for metrics: some nodes kept, none kept, scored, or a logical error. */
export const ExtenderDecision = { Fit: 'fit', NoFit: 'no_fit', Scored: 'scored', Error: 'error' } as const;
export type ExtenderDecision = (typeof ExtenderDecision)[keyof typeof ExtenderDecision];

/** What one call sees: the policy in force and the cluster (read synchronously). */
export interface ExtenderContext {
  readonly snapshot: PolicySnapshot;
  readonly view: ClusterView;
}

export interface ExtenderAnswer {
  /** The JSON body to send with HTTP 200. */
  readonly payload: string;
  readonly decision: ExtenderDecision;
  /** Set when decision is `error`: what was wrong with the request. */
  readonly error?: string;
  readonly pod?: { readonly namespace: string; readonly name: string };
  readonly nodes: number;
  readonly kept?: number;
}

/**
 * A logical failure in prioritize. HostPriorityList has no Error field, and kube-scheduler
 * ignores a prioritize failure anyway, so an empty list ("no opinion") is the honest answer.
 */
const NO_PRIORITIES = '[]';

/** Where the candidates' facts come from: the request (Nodes) or the cache (NodeNames). */
function candidates(args: ExtenderArgs, view: ClusterView): Candidates {
  const facts = args.mode === NodeMode.Nodes ? args.nodes.map(nodeFacts) : args.names.map((n) => view.node(n));
  return { names: args.names, facts };
}

type Prepared = { readonly ok: true; readonly args: ExtenderArgs; readonly demand: PodDemand } | { readonly ok: false; readonly error: string };

function prepare(body: unknown, snapshot: PolicySnapshot): Prepared {
  const decoded = decodeExtenderArgs(body);
  if (!decoded.ok) return decoded;
  const demand = podDemand(snapshot.policy, decoded.args.pod);
  if (!demand.ok) return demand;
  return { ok: true, args: decoded.args, demand: demand.demand };
}

function podRef(demand: PodDemand): { namespace: string; name: string } {
  return { namespace: demand.namespace, name: demand.pod.name };
}

/** `/scheduler/filter`: parsed ExtenderArgs → ExtenderFilterResult JSON. Pure apart from reading the view. */
export function filter(body: unknown, ctx: ExtenderContext): ExtenderAnswer {
  const prepared = prepare(body, ctx.snapshot);
  if (!prepared.ok) return { payload: encodeFilterError(prepared.error), decision: ExtenderDecision.Error, error: prepared.error, nodes: 0 };
  const { args, demand } = prepared;
  const fitter = new NodeFitter(placementIndex(ctx.snapshot), demand, ctx.view);
  const nodes = candidates(args, ctx.view);
  const outcome = filterNodes(fitter, nodes);
  return {
    payload: encodeFilterResult(args, nodes.facts, outcome.verdicts),
    decision: outcome.kept > 0 ? ExtenderDecision.Fit : ExtenderDecision.NoFit,
    pod: podRef(demand),
    nodes: args.names.length,
    kept: outcome.kept,
  };
}

/** `/scheduler/prioritize`: parsed ExtenderArgs → HostPriorityList JSON (one entry per input node, in order). */
export function prioritize(body: unknown, ctx: ExtenderContext): ExtenderAnswer {
  const prepared = prepare(body, ctx.snapshot);
  if (!prepared.ok) return { payload: NO_PRIORITIES, decision: ExtenderDecision.Error, error: prepared.error, nodes: 0 };
  const { args, demand } = prepared;
  const nodes = candidates(args, ctx.view);
  const scores = scoreNodes(placementIndex(ctx.snapshot), demand, ctx.view, nodes);
  return { payload: encodePriorities(args, nodes.facts, scores), decision: ExtenderDecision.Scored, pod: podRef(demand), nodes: args.names.length };
}

/** Internal failures are answered like logical ones, without details (those go to the log). */
export function internalFailure(verb: ExtenderVerb): ExtenderAnswer {
  const error = 'internal error in the aml-admission scheduler extender; see its log';
  return { payload: verb === ExtenderVerb.Filter ? encodeFilterError(error) : NO_PRIORITIES, decision: ExtenderDecision.Error, error, nodes: 0 };
}
