import { execFileSync } from 'node:child_process';

export const ROOT = new URL('../../../', import.meta.url).pathname;

export type Binary = 'etcd' | 'kube-apiserver' | 'kube-scheduler' | 'kube-controller-manager' | 'kubectl';

/**
 * Where each control-plane binary is: `scripts/e2e-assets.sh --locate` decides (KUBEBUILDER_ASSETS
 * first, then the cache), so the pinned versions and the lookup live in one place.
 */
export function locateAssets(): Record<Binary, string> {
  let out: string;
  try {
    out = execFileSync('bash', [`${ROOT}scripts/e2e-assets.sh`, '--locate'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    throw new Error(`e2e assets are missing; run \`npm run e2e:assets\` (or set KUBEBUILDER_ASSETS):\n${stderr}`, { cause: err });
  }
  const found: Partial<Record<Binary, string>> = {};
  for (const line of out.trim().split('\n')) {
    const [name, path] = line.split('=', 2) as [Binary, string];
    found[name] = path;
  }
  return found as Record<Binary, string>;
}
