import { jsonRoute, type JsonRouteDeps, type RawHandler } from '../http/jsonRoute.js';
import { ExtenderVerb, filter, internalFailure, prioritize, type ExtenderAnswer, type ExtenderContext } from './extender.js';

export interface ExtenderRouteDeps extends JsonRouteDeps {
  /** The policy and cluster view in force at the time of each request. */
  readonly context: () => ExtenderContext;
}

/** URL paths, relative to the server root; the KubeSchedulerConfiguration's verbs name them. */
export const EXTENDER_PATHS: Readonly<Record<ExtenderVerb, string>> = {
  [ExtenderVerb.Filter]: '/scheduler/filter',
  [ExtenderVerb.Prioritize]: '/scheduler/prioritize',
};

const handlers: Readonly<Record<ExtenderVerb, (body: unknown, ctx: ExtenderContext) => ExtenderAnswer>> = {
  [ExtenderVerb.Filter]: filter,
  [ExtenderVerb.Prioritize]: prioritize,
};

/**
 * One extender verb on the raw fast path, like the admission routes: HTTP errors (400 not JSON
 * or wrong content type, 413 too large) for what is not an ExtenderArgs body at all; HTTP 200
 * for everything else, with logical failures in `Error` (filter) or an empty list (prioritize).
 */
export function extenderRoute(verb: ExtenderVerb, deps: ExtenderRouteDeps): RawHandler {
  const endpoint = EXTENDER_PATHS[verb];
  const handle = handlers[verb];
  return jsonRoute(
    endpoint,
    deps,
    (body) => {
      let answer: ExtenderAnswer;
      let failure: unknown;
      try {
        answer = handle(body, deps.context());
      } catch (err) {
        failure = err;
        answer = internalFailure(verb);
      }
      return { payload: answer.payload, decision: answer.decision, answer, failure };
    },
    ({ answer, failure }, ms) => {
      const fields = {
        endpoint,
        decision: answer.decision,
        ...(answer.pod ? { namespace: answer.pod.namespace, name: answer.pod.name } : {}),
        nodes: answer.nodes,
        ...(answer.kept !== undefined ? { kept: answer.kept } : {}),
        latencyMs: Math.round(ms * 1000) / 1000,
      };
      if (failure !== undefined) deps.logger.error({ ...fields, err: failure }, 'scheduler extender failed');
      else if (answer.error !== undefined) deps.logger.warn({ ...fields, reason: answer.error }, 'malformed extender arguments');
      else deps.logger.debug(fields, 'scheduler extender call');
    },
  );
}

/** Both verbs keyed by path, ready to merge into the server's fast routes. */
export function extenderRoutes(deps: ExtenderRouteDeps): Record<string, RawHandler> {
  return Object.fromEntries(Object.values(ExtenderVerb).map((verb) => [EXTENDER_PATHS[verb], extenderRoute(verb, deps)]));
}
