import { createHash } from 'node:crypto';
import type { AppsV1Api } from '@kubernetes/client-node';
import { isNotFound, KubeError } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';

/** On the scheduler's pod template: the digest of the CA bundle its pods were started with. */
export const CA_BUNDLE_ANNOTATION = 'aml-admission.azure.com/ca-bundle-sha256';

export type RollAction = 'rolled' | 'unchanged' | 'not found';

export const bundleDigest = (pem: string): string => createHash('sha256').update(pem).digest('hex');

/**
 * kube-scheduler reads the extender's `tlsConfig.caFile` once, at start: when the CA bundle changes,
 * its pods must be replaced to trust the new CA. Stamping the bundle's digest on the pod template
 * makes the Deployment roll exactly then (and converges: a run that failed after changing the CA
 * rolls on the next one). A JSON patch with a `test` on the resourceVersion: a concurrent writer
 * makes it fail rather than be overwritten, and the next run decides again.
 */
export async function rollOnCaBundle(
  apps: AppsV1Api,
  opts: { readonly namespace: string; readonly name: string; readonly bundlePem: string; readonly retry: RetryOptions },
): Promise<RollAction> {
  const { namespace, name } = opts;
  const digest = bundleDigest(opts.bundlePem);
  const call = <T>(step: string, fn: () => Promise<T>) =>
    withRetry(fn, opts.retry).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw new KubeError(`${step} Deployment ${namespace}/${name}`, err);
    });
  const deployment = await call('read', () => apps.readNamespacedDeployment({ namespace, name }));
  if (deployment === undefined) return 'not found';
  const annotations = deployment.spec?.template.metadata?.annotations;
  if (annotations?.[CA_BUNDLE_ANNOTATION] === digest) return 'unchanged';
  const patch = [
    { op: 'test', path: '/metadata/resourceVersion', value: deployment.metadata?.resourceVersion },
    ...(deployment.spec?.template.metadata === undefined ? [{ op: 'add', path: '/spec/template/metadata', value: {} }] : []),
    annotations === undefined
      ? { op: 'add', path: '/spec/template/metadata/annotations', value: { [CA_BUNDLE_ANNOTATION]: digest } }
      : { op: 'add', path: `/spec/template/metadata/annotations/${CA_BUNDLE_ANNOTATION.replace('/', '~1')}`, value: digest },
  ];
  const patched = await call('patch', () => apps.patchNamespacedDeployment({ namespace, name, body: patch }));
  return patched === undefined ? 'not found' : 'rolled';
}
