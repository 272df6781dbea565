import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { deepFreeze } from '../k8s/json.js';
import { QUANTITY_PATTERN } from '../k8s/quantity.js';
import { yamlErrorText } from '../util/yamlErrors.js';
import { policyErrors, type PolicyError } from './checks.js';
import { policySchema } from './schema.js';
import type { Compute, Policy } from './types.js';

export type { PolicyError };

export type LoadResult = { readonly ok: true; readonly policy: Policy } | { readonly ok: false; readonly errors: readonly PolicyError[] };

// Compiled once per process: building an ajv validator is the expensive part.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
const validateSchema = ajv.compile(policySchema);

function fromAjv(e: ErrorObject): PolicyError {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return { path: e.instancePath, message: `unknown field "${String(params.additionalProperty)}"` };
  if (e.keyword === 'required') return { path: e.instancePath, message: `missing required field "${String(params.missingProperty)}"` };
  if (e.keyword === 'propertyNames') return { path: e.instancePath, message: `name "${String(params.propertyName)}" is not a valid name` };
  if (e.keyword === 'enum')
    return { path: e.instancePath, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
  if (e.keyword === 'pattern' && params.pattern === QUANTITY_PATTERN)
    return {
      path: e.instancePath,
      message: 'is not a resource quantity the API server accepts (e.g. 500m, 4Gi, 2; suffixes Ki Mi Gi Ti Pi Ei, m k M G T P E)',
    };
  if (e.keyword === 'const') return { path: e.instancePath, message: `must be ${JSON.stringify(params.allowedValue)}` };
  return { path: e.instancePath, message: e.message ?? e.keyword };
}

/** Fills defaults that depend on other fields: a pool's labels default to `{ <first pool label>: <pool name> }`. */
function normalize(policy: Policy): Policy {
  const poolLabel = policy.keys.nodePoolLabels[0]!;
  for (const c of Object.values(policy.computes) as Compute[]) {
    for (const [name, pool] of Object.entries(c.nodePools)) {
      if (Object.keys(pool.labels).length === 0) pool.labels = { [poolLabel]: name };
    }
    c.defaultNodePool ??= Object.keys(c.nodePools)[0]!;
  }
  return policy;
}

/** Checks an already parsed document and fills defaults (the input is not modified). */
export function loadPolicyObject(doc: unknown): LoadResult {
  const copy: unknown = structuredClone(doc);
  if (!validateSchema(copy)) return { ok: false, errors: (validateSchema.errors ?? []).map(fromAjv) };
  const policy = normalize(copy as unknown as Policy);
  const errors = policyErrors(policy);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy: deepFreeze(policy) };
}

/** Parses YAML (or JSON) text into a checked Policy, reporting every error with its path. */
export function loadPolicy(text: string): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => ({ path: '', message: `not valid YAML at ${yamlErrorText(e, lines)}` })) };
  }
  return loadPolicyObject(doc.toJS());
}

export function formatErrors(errors: readonly PolicyError[]): string {
  return errors.map((e) => `${e.path || '/'}: ${e.message}`).join('\n');
}
