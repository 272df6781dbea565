import { execFileSync } from 'node:child_process';

export const ROOT = new URL('../../../', import.meta.url).pathname;

export type Binary =
  'etcd' | 'kube-apiserver' | 'kube-scheduler' | 'kube-controller-manager' | 'kubectl' | 'helm' | 'cert-manager-crds.yaml' | 'prometheus-operator-crds.yaml';

function locate(names: readonly Binary[]): string {
  return execFileSync('bash', [`${ROOT}scripts/e2e-assets.sh`, '--locate', ...names], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function parse(out: string): Partial<Record<Binary, string>> {
  const found: Partial<Record<Binary, string>> = {};
  for (const line of out.trim().split('\n')) {
    const [name, path] = line.split('=', 2) as [Binary, string];
    found[name] = path;
  }
  return found;
}

/**
 * Where each control-plane binary and tool is: `scripts/e2e-assets.sh --locate` decides
 * (KUBEBUILDER_ASSETS first, then the cache), so the pinned versions and the lookup live in one place.
 */
export function locateAssets(): Record<Binary, string> {
  try {
    return parse(locate([])) as Record<Binary, string>;
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    throw new Error(`e2e assets are missing; run \`npm run e2e:assets\` (or set KUBEBUILDER_ASSETS):\n${stderr}`, { cause: err });
  }
}

/** One asset, or undefined when it has not been built (for tests outside the e2e suite, which skip then). */
export function locateAsset(name: Binary): string | undefined {
  try {
    return parse(locate([name]))[name];
  } catch {
    return undefined;
  }
}
