/**
 * Extended resources (GPUs and any `domain/name` outside kubernetes.io): the API server refuses
 * them fractional, overcommitted (a request other than the limit) or requested without a limit.
 */
export function isExtendedResource(resource: string): boolean {
  const slash = resource.indexOf('/');
  if (slash < 0) return false;
  const domain = resource.slice(0, slash);
  return domain !== 'kubernetes.io' && !domain.endsWith('.kubernetes.io') && !resource.startsWith('requests.');
}
