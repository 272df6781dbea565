import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { Ajv, type ValidateFunction } from 'ajv';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read as plain JSON */
export type Obj = Record<string, any>;

/** kubernetes-models classes by apiVersion/kind: the OpenAPI schema of each type, with required fields, types and enums. */
const SCHEMAS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': CustomResourceDefinition,
};

/**
 * Fields the schema does not know: client-node's generated models keep only the fields of the
 * OpenAPI definition, so a round trip through them drops a misspelt or misplaced field (which
 * the JSON Schema validation above allows, and the API server would silently ignore).
 */
function unknownFields(obj: Obj): string[] {
  const type = `V1${obj.kind as string}`;
  const back = JSON.parse(JSON.stringify(ObjectSerializer.serialize(ObjectSerializer.deserialize(obj, type, ''), type, ''))) as unknown;
  const missing: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (Array.isArray(a)) return a.forEach((v, i) => walk(v, Array.isArray(b) ? b[i] : undefined, `${path}[${i}]`));
    if (typeof a !== 'object' || a === null) return;
    for (const [k, v] of Object.entries(a)) {
      const there = (b as Obj | undefined)?.[k];
      if (there === undefined) missing.push(`${path}.${k}`);
      else walk(v, there, `${path}.${k}`);
    }
  };
  walk(obj, back, '');
  return missing;
}

/** A built-in object against the Kubernetes schema: types, required fields, enums, and no unknown field. */
export function validate(obj: Obj): void {
  const Model = SCHEMAS[`${obj.apiVersion as string}/${obj.kind as string}`];
  assert.ok(Model, `no schema for ${obj.apiVersion}/${obj.kind}: add its kubernetes-models class to SCHEMAS`);
  new Model(obj).validate();
  assert.deepEqual(unknownFields(obj), [], 'fields the Kubernetes schema does not define');
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

/**
 * An OpenAPI v3 schema of a CRD as JSON Schema: what the API server checks too, less its
 * `x-kubernetes-*` extensions and CEL rules (the e2e suite's server-side dry-run checks those).
 * Unknown fields are refused, as the API server prunes them.
 */
function crdJsonSchema(schema: Obj): Obj {
  if (Array.isArray(schema)) return schema.map(crdJsonSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-')) continue;
    // Go regular expressions (RE2) that JavaScript cannot read, such as (?i), stay the API server's to check.
    if (k === 'pattern' && !compiles(v as string)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Obj).map(([p, s]) => [p, crdJsonSchema(s as Obj)])) : crdJsonSchema(v as Obj);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  if (schema['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  return out;
}

/** Validators by apiVersion/kind for every served version of the CRDs in a YAML file. */
export function crdValidators(file: string): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  const out = new Map<string, ValidateFunction>();
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const crd = doc.toJS() as Obj | null;
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    for (const version of crd.spec.versions as Obj[]) {
      if (!version.served) continue;
      const schema = crdJsonSchema(version.schema.openAPIV3Schema);
      // metadata is the API server's (ObjectMeta), not the CRD's to describe.
      schema.properties = { ...schema.properties, metadata: { type: 'object' } };
      out.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema));
    }
  }
  return out;
}

/** A custom resource against its CRD's schema. */
export function validateCustom(validators: Map<string, ValidateFunction>, obj: Obj): void {
  const check = validators.get(`${obj.apiVersion as string}/${obj.kind as string}`);
  assert.ok(check, `no CRD for ${obj.apiVersion}/${obj.kind}`);
  assert.ok(check(obj), `${obj.kind} ${obj.metadata?.name}: ${JSON.stringify(check.errors)}`);
}
