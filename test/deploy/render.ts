import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Obj } from './schema.js';

/** `kubectl kustomize DIR`, as objects. */
export function kustomize(dir: string): Obj[] {
  return parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/**
 * deploy/ with components, as a user's overlay does (`resources: [deploy]`, `components: [...]`).
 * Written in a temporary folder: kustomize takes only relative paths.
 */
export function kustomizeWith(components: readonly string[]): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), 'aml-overlay-'));
  try {
    const rel = (p: string) => relative(dir, resolve(p));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [rel('deploy')], components: components.map(rel) }),
    );
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
