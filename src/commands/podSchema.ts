/**
 * The Pod's OpenAPI schema (kubernetes-models), to tell when the API server would refuse a pod
 * the webhooks let through, e.g. a quantity a policy wrote that the API server cannot parse.
 * Loaded only by the commands that use it: the schema modules are large.
 */

export type PodSchemaCheck = (pod: unknown) => readonly string[];

interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
}

/** `/spec/containers/0/resources` → `spec.containers[0].resources`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path === '' ? s : `${path}.${s}`), '');
}

/**
 * One message per field. A quantity is `string (format quantity) | number` in the schema, so a
 * bad one fails three ways; the format failure says it best.
 */
function messages(errors: readonly SchemaError[]): string[] {
  const byPath = new Map<string, SchemaError>();
  for (const e of errors) {
    if (e.keyword === 'oneOf') continue;
    const seen = byPath.get(e.instancePath);
    if (seen === undefined || (e.keyword === 'format' && seen.keyword !== 'format')) byPath.set(e.instancePath, e);
  }
  return [...byPath.values()].map((e) => `${fieldPath(e.instancePath) || '(object)'} ${e.message ?? e.keyword}`);
}

export async function loadPodSchemaCheck(): Promise<PodSchemaCheck> {
  const { Pod } = await import('kubernetes-models/v1/Pod');
  return (pod) => {
    try {
      new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
      return [];
    } catch (err) {
      const errors = (err as { errors?: SchemaError[] }).errors;
      return Array.isArray(errors) ? messages(errors) : [(err as Error).message];
    }
  };
}
