import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseAllDocuments } from 'yaml';
import { yamlErrorText } from '../util/yamlErrors.js';

/**
 * The declarative test file of `aml-admission test`, as `kyverno test` and `gator verify` have
 * theirs: resources, a policy, a requester, and what each object should get (allow, deny or
 * warn, with the ids of the rules that fail). Pure: the command reads the file and hands the text in.
 *
 *   apiVersion: aml-admission.azure.com/v1alpha1
 *   kind: AdmissionTest
 *   tests:
 *     - name: an engineer's GPU job goes to the GPU pool
 *       policy: policy.yaml                 # optional (default: the built-in policy); relative to this file
 *       resources: [train.yaml]             # files or folders, as dry-run -f takes them; relative to this file
 *       requester: { username: alice@contoso.com, groups: [ml-engineers] }   # optional, as --as/--as-group
 *       expect:
 *         - object: PyTorchJob/bert (Worker)   # a pod's ns/name, `Kind ns/name`, or what it came from
 *           result: allow                      # allow | deny | warn
 *           rules: []                          # the rules that fail (deny) or warn, in any order; optional
 */

export const TEST_API_VERSION = 'aml-admission.azure.com/v1alpha1';
export const TEST_KIND = 'AdmissionTest';

export const Expected = { Allow: 'allow', Deny: 'deny', Warn: 'warn' } as const;
export type Expected = (typeof Expected)[keyof typeof Expected];

export interface Expectation {
  readonly object: string;
  readonly result: Expected;
  /** Undefined: not checked. */
  readonly rules?: readonly string[];
}

export interface TestCase {
  readonly name: string;
  readonly policy?: string;
  readonly resources: readonly string[];
  readonly requester?: { readonly username: string; readonly groups?: readonly string[] };
  readonly expect: readonly Expectation[];
}

export interface TestFile {
  readonly tests: readonly TestCase[];
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'tests'],
  properties: {
    apiVersion: { const: TEST_API_VERSION },
    kind: { const: TEST_KIND },
    metadata: { type: 'object' },
    tests: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'resources', 'expect'],
        properties: {
          name: { type: 'string', minLength: 1 },
          policy: { type: 'string', minLength: 1 },
          resources: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          requester: {
            type: 'object',
            additionalProperties: false,
            required: ['username'],
            properties: { username: { type: 'string' }, groups: { type: 'array', items: { type: 'string', minLength: 1 } } },
          },
          expect: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['object', 'result'],
              properties: {
                object: { type: 'string', minLength: 1 },
                result: { enum: Object.values(Expected) },
                rules: { type: 'array', items: { type: 'string', minLength: 1 } },
              },
            },
          },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile<TestFile>(schema);

function errorText(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${at}: unknown field "${String(params.additionalProperty)}"`;
  if (e.keyword === 'required') return `${at}: missing required field "${String(params.missingProperty)}"`;
  if (e.keyword === 'enum') return `${at}: must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
  if (e.keyword === 'const') return `${at}: must be ${JSON.stringify(params.allowedValue)}`;
  return `${at}: ${e.message ?? e.keyword}`;
}

export type ParsedTestFile = { readonly ok: true; readonly file: TestFile } | { readonly ok: false; readonly errors: readonly string[] };

/** The test file a text holds, or every reason it is none ("path: message", YAML errors with line and column). */
export function parseTestFile(text: string): ParsedTestFile {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.length !== 1) return { ok: false, errors: [docs.length === 0 ? 'the file is empty' : `holds ${docs.length} YAML documents; a test file is one`] };
  const doc = docs[0]!;
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map((e) => `not valid YAML at ${yamlErrorText(e, lines)}`) };
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!validate(value)) return { ok: false, errors: (validate.errors ?? []).map(errorText) };
  return { ok: true, file: value };
}
