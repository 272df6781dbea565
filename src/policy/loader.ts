import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseAllDocuments } from 'yaml';
import { deepFreeze, isObject } from '../k8s/json.js';
import { yamlErrorText } from '../util/yamlErrors.js';
import { policyErrors, type PolicyError } from './checks.js';
import { policySchema, SCHEMA_PATTERNS } from './schema.js';
import type { Compute, InstanceType, Policy, TaintEffect } from './types.js';

export type { PolicyError };

export type LoadResult = { readonly ok: true; readonly policy: Policy } | { readonly ok: false; readonly errors: readonly PolicyError[] };

// Compiled once per process: building an ajv validator is the expensive part.
// verbose: errors carry the value, so a message can quote what did not match.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
const validateSchema = ajv.compile(policySchema);

/** Pattern → its meaning in words (schema.ts). */
const PATTERN_WORDS: ReadonlyMap<string, string> = new Map(Object.values(SCHEMA_PATTERNS).map((p) => [p.pattern, p.words]));

/** One message per ajv error; undefined for the ones another error already says (propertyNames). */
function fromAjv(e: ErrorObject): PolicyError | undefined {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return { path: e.instancePath, message: `unknown field "${String(params.additionalProperty)}"` };
  if (e.keyword === 'required') return { path: e.instancePath, message: `missing required field "${String(params.missingProperty)}"` };
  // A bad key fails twice: as propertyNames, and as its pattern with `propertyName` set; the second says it in words.
  if (e.keyword === 'propertyNames') return undefined;
  if (e.keyword === 'enum')
    return { path: e.instancePath, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
  if (e.keyword === 'pattern') {
    const words = PATTERN_WORDS.get(String(params.pattern)) ?? `a string matching ${String(params.pattern)}`;
    if (e.propertyName !== undefined) return { path: e.instancePath, message: `name "${e.propertyName}" is not ${words}` };
    return { path: e.instancePath, message: `${JSON.stringify(e.data)} is not ${words}` };
  }
  if (e.keyword === 'const') return { path: e.instancePath, message: `must be ${JSON.stringify(params.allowedValue)}` };
  return { path: e.instancePath, message: e.message ?? e.keyword };
}

/**
 * Instance type quantities as the rules read them: strings. AML's spellings of "no GPU"
 * (`nvidia.com/gpu: 0`, `null`) are no entry, a whole number is its string.
 */
function normalizeResources(type: InstanceType, gpuNames: readonly string[]): void {
  for (const list of [type.resources.requests, type.resources.limits] as Record<string, unknown>[]) {
    for (const [name, q] of Object.entries(list)) {
      if (q === null || (gpuNames.includes(name) && (q === 0 || q === '0'))) delete list[name];
      else if (typeof q === 'number') list[name] = String(q);
    }
  }
}

/** Fills defaults that depend on other fields: a pool's labels default to `{ <first pool label>: <pool name> }`. */
function normalize(policy: Policy): Policy {
  const taints = policy.amlTaints as Policy['amlTaints'] & { effect?: TaintEffect };
  if (taints.effect !== undefined) {
    taints.effects = [taints.effect]; // the deprecated single effect
    delete taints.effect;
  }
  const poolLabel = policy.keys.nodePoolLabels[0]!;
  for (const c of Object.values(policy.computes) as Compute[]) {
    for (const [name, pool] of Object.entries(c.nodePools)) {
      if (Object.keys(pool.labels).length === 0) pool.labels = { [poolLabel]: name };
    }
    c.defaultNodePool ??= Object.keys(c.nodePools)[0]!;
    for (const t of Object.values(c.instanceTypes)) normalizeResources(t, policy.gpu.resourceNames);
  }
  return policy;
}

/** Checks an already parsed document and fills defaults (the input is not modified). */
export function loadPolicyObject(doc: unknown): LoadResult {
  const copy: unknown = structuredClone(doc);
  if (!validateSchema(copy)) return { ok: false, errors: (validateSchema.errors ?? []).flatMap((e) => fromAjv(e) ?? []) };
  const policy = normalize(copy as unknown as Policy);
  const errors = policyErrors(policy);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy: deepFreeze(policy) };
}

const failed = (message: string): LoadResult => ({ ok: false, errors: [{ path: '', message }] });

/** The policy text in a ConfigMap's data key, or why there is none (one message for files and the watched ConfigMap). */
export function configMapPolicyText(data: unknown, key: string): string | { readonly error: string } {
  const text = isObject(data) ? data[key] : undefined;
  if (typeof text === 'string') return text;
  const keys = isObject(data) ? Object.keys(data) : [];
  return { error: `the ConfigMap has no data key "${key}"${keys.length > 0 ? ` (its keys: ${keys.join(', ')})` : ''}` };
}

/** A ConfigMap where a policy was expected: say where the policy is and how to get at it. */
function configMapHint(doc: Record<string, unknown>): string {
  const keys = isObject(doc.data) ? Object.keys(doc.data) : [];
  const key = keys[0] ?? 'policy.yaml';
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : 'NAME';
  const namespace = typeof meta.namespace === 'string' ? ` -n ${meta.namespace}` : '';
  return (
    `is a ConfigMap, not an AdmissionPolicy: the policy is the text of one of its data keys (${keys.length > 0 ? keys.join(', ') : 'it has none'}); ` +
    `check it with "policy check --key ${key} FILE", or extract it with ` +
    `kubectl get configmap ${name}${namespace} -o jsonpath='{.data.${key.replaceAll('.', '\\.')}}' > policy.yaml`
  );
}

export interface LoadOptions {
  /** The text is a ConfigMap: check the policy in this data key (policy check --key). */
  readonly configMapKey?: string;
}

/**
 * Parses YAML (or JSON) text into a checked Policy, reporting every error with its path: YAML
 * errors with line and column, and in plain words an empty text, several documents, and a
 * ConfigMap (which holds the policy in a data key) where the policy itself was expected.
 */
export function loadPolicy(text: string, opts: LoadOptions = {}): LoadResult {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  // An empty text is an EmptyStream (not an array); a text of comments only is one null document.
  const list = Array.isArray(docs) ? docs : [];
  const errors = list.flatMap((d) => d.errors);
  if (errors.length > 0) return { ok: false, errors: errors.map((e) => ({ path: '', message: `not valid YAML at ${yamlErrorText(e, lines)}` })) };
  const values: unknown[] = list.map((d) => d.toJS()).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) return failed('is empty: no policy document (`policy default` prints one to start from)');
  if (values.length > 1) return failed(`holds ${values.length} YAML documents; a policy is a single document (one policy per file, no --- separators)`);
  const doc = values[0];
  const isConfigMap = isObject(doc) && doc.kind === 'ConfigMap';
  if (opts.configMapKey !== undefined) {
    if (!isConfigMap)
      return failed(
        `--key ${opts.configMapKey} reads a ConfigMap's data key, but this is ${isObject(doc) && typeof doc.kind === 'string' ? `kind ${doc.kind}` : 'not a ConfigMap'}`,
      );
    const inner = configMapPolicyText(doc.data, opts.configMapKey);
    if (typeof inner !== 'string') return failed(inner.error);
    const loaded = loadPolicy(inner);
    return loaded.ok
      ? loaded
      : { ok: false, errors: loaded.errors.map((e) => (e.path === '' ? { ...e, message: `data key ${opts.configMapKey}: ${e.message}` } : e)) };
  }
  if (isConfigMap) return failed(configMapHint(doc));
  return loadPolicyObject(doc);
}

export function formatErrors(errors: readonly PolicyError[]): string {
  return errors.map((e) => `${e.path || '/'}: ${e.message}`).join('\n');
}
