import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { amlCli, createNamespace, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { USERS } from './harness/controlPlane.js';
import { core, POLICY_FILE } from './harness/objects.js';
import { cluster } from './harness/suite.js';

/**
 * Offline and online agree: for each fixture, the pod the API server stores equals what
 * `dry-run -o json` says the mutated pod is, apart from what the API server itself adds. Those
 * additions are named here, each with who adds it; nothing else may differ.
 *
 * The fixtures: test/fixtures/pods/ (pods as the API server sends them to webhooks, already
 * defaulted) and test/e2e/fixtures/pods/ (pods as users write them, where defaulting shows).
 */
const NS = 'e2e-agreement';

type Json = Record<string, any>;

/** Server bookkeeping: never part of what a client sends. */
const BOOKKEEPING = { metadata: ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation'], top: ['status'] };
/** Pod fields the API server's defaulting (SetDefaults_Pod and friends) sets when absent. */
const SPEC_DEFAULTS = [
  'dnsPolicy',
  'restartPolicy',
  'schedulerName',
  'securityContext',
  'terminationGracePeriodSeconds',
  'enableServiceLinks',
  'preemptionPolicy',
  'priority',
];
/** Container fields defaulting sets when absent. */
const CONTAINER_DEFAULTS = ['terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy'];
/** The ServiceAccount admission plugin: the account, its token volume and the mounts of it. */
const SERVICE_ACCOUNT = { spec: ['serviceAccountName', 'serviceAccount'], volume: /^kube-api-access-/ };
/** The DefaultTolerationSeconds admission plugin: 300 s NoExecute tolerations of these taints. */
const DEFAULT_TOLERATIONS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/**
 * `stored` without what the API server added to `offline` (the names above, each removed only
 * where `offline` lacks it). Container requests the server copied from limits are checked
 * equal to those limits before they are removed.
 */
function withoutServerAdditions(stored: Json, offline: Json): Json {
  const s = structuredClone(stored);
  for (const k of BOOKKEEPING.top) delete s[k];
  for (const k of BOOKKEEPING.metadata) delete s.metadata[k];
  const spec = s.spec;
  const ospec = offline.spec ?? {};
  for (const k of [...SPEC_DEFAULTS, ...SERVICE_ACCOUNT.spec]) if (!(k in ospec)) delete spec[k];
  if (Array.isArray(spec.tolerations)) {
    const theirs = new Set((ospec.tolerations ?? []).map((t: Json) => t.key));
    spec.tolerations = spec.tolerations.filter(
      (t: Json) => !(DEFAULT_TOLERATIONS.includes(t.key) && t.effect === 'NoExecute' && t.tolerationSeconds === 300 && !theirs.has(t.key)),
    );
    if (spec.tolerations.length === 0 && !ospec.tolerations) delete spec.tolerations;
  }
  const ownVolumes = new Set((ospec.volumes ?? []).map((v: Json) => v.name));
  if (Array.isArray(spec.volumes)) {
    spec.volumes = spec.volumes.filter((v: Json) => !(SERVICE_ACCOUNT.volume.test(v.name) && !ownVolumes.has(v.name)));
    if (spec.volumes.length === 0 && !ospec.volumes) delete spec.volumes;
  }
  for (const list of ['containers', 'initContainers'] as const) {
    (spec[list] ?? []).forEach((c: Json, i: number) => {
      const oc: Json = ospec[list]?.[i] ?? {};
      for (const k of CONTAINER_DEFAULTS) if (!(k in oc)) delete c[k];
      if (Array.isArray(c.volumeMounts)) {
        c.volumeMounts = c.volumeMounts.filter((m: Json) => !(SERVICE_ACCOUNT.volume.test(m.name) && !ownVolumes.has(m.name)));
        if (c.volumeMounts.length === 0 && !oc.volumeMounts) delete c.volumeMounts;
      }
      // Defaulting copies limits into requests that are not set (SetDefaults_ResourceList of a container).
      const limits: Json = c.resources?.limits ?? {};
      const requests: Json = c.resources?.requests ?? {};
      for (const [name, value] of Object.entries(requests)) {
        if (oc.resources?.requests?.[name] === undefined && limits[name] === value) delete requests[name];
      }
      if (c.resources?.requests && Object.keys(requests).length === 0 && !oc.resources?.requests) delete c.resources.requests;
      if (c.resources && Object.keys(c.resources).length === 0 && !oc.resources) delete c.resources;
    });
  }
  return s;
}

/** Quantities as the API server writes them back (it canonicalises `1000m` to `1`, ...): compare parsed. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}

interface Fixture {
  readonly file: string;
  readonly pod: Json;
}

function fixtures(): Fixture[] {
  const dirs = [new URL('../fixtures/pods/', import.meta.url).pathname, new URL('./fixtures/pods/', import.meta.url).pathname];
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.(json|ya?ml)$/.test(f))
      .sort()
      .map((f) => {
        const pod = parse(readFileSync(join(dir, f), 'utf8')) as Json;
        pod.metadata.namespace = NS;
        // Owners that do not exist here would have the garbage collector delete the pod; no rule reads them today.
        delete pod.metadata.ownerReferences;
        return { file: f, pod };
      }),
  );
}

describe('offline and online agree: dry-run -o json and the pod the API server stores', () => {
  let server: AmlServer;
  const all = fixtures();
  /** The fixtures as files, and the requester flags of dry-run (the admin user, as online). */
  const files: string[] = [];
  let asAdmin: string[];
  let offline: { where: string; allowed: boolean; mutated: Json; mutation: { message?: string }; validation?: { message?: string } }[];

  before(async function () {
    this.timeout(180_000);
    const plane = cluster();
    server = await installServer(plane, { name: 'aml-agreement', args: ['--policy', POLICY_FILE, '--components', 'admission'] });
    await createNamespace(plane, NS);
    for (const [i, f] of all.entries()) {
      const path = join(plane.dir, `agreement-${i}-${f.file.replace(/\.ya?ml$/, '.json')}`);
      await writeFile(path, JSON.stringify(f.pod));
      files.push(path);
    }
    // The same requester as online: the admin user of the token file, with the group the API server adds.
    const admin = USERS.admin;
    asAdmin = ['--as', admin.name, ...[...admin.groups, 'system:authenticated'].flatMap((g) => ['--as-group', g])];
    const run = await amlCli(['dry-run', ...files.flatMap((f) => ['-f', f]), '--policy', POLICY_FILE, ...asAdmin, '-o', 'json']);
    assert.ok(run.code === 0 || run.code === 1, `dry-run exited ${run.code}: ${run.err}`);
    offline = (JSON.parse(run.out) as { results: typeof offline }).results;
    assert.equal(offline.length, all.length, 'one result per fixture');
  });
  after(async () => {
    await uninstall(cluster());
    await server?.stop();
  });

  // First: a server-side dry run stores nothing, so the pods below can still be created under their names.
  it('dry-run --mutated-only -o yaml is a stream kubectl takes: the API server accepts every mutated pod it prints, as it stands', async () => {
    const run = await amlCli(['dry-run', ...files.flatMap((f) => ['-f', f]), '--policy', POLICY_FILE, ...asAdmin, '--mutated-only', '-o', 'yaml']);
    assert.ok(run.code === 0 || run.code === 1, `dry-run exited ${run.code}: ${run.err}`);
    const printed = run.out.split(/^---$/m).filter((d) => d.trim() !== '').length;
    assert.equal(printed, offline.filter((r) => r.allowed).length, 'one document per allowed pod');
    const created = await cluster().kubectl(['create', '--dry-run=server', '-n', NS, '-o', 'name', '-f', '-'], { input: run.out });
    assert.equal(created.code, 0, created.err);
    assert.equal(created.out.trim().split('\n').length, printed, created.out);
  });

  for (const [i, f] of all.entries()) {
    it(`${f.file}: the stored pod is dry-run's mutated pod plus the API server's own defaults`, async () => {
      const result = offline[i]!;
      const api = core(cluster());
      let stored: V1Pod | undefined;
      let refused: string | undefined;
      try {
        stored = await api.createNamespacedPod({ namespace: NS, body: f.pod as V1Pod });
      } catch (err) {
        refused = JSON.parse(String((err as { body?: unknown }).body ?? '{}')).message ?? String(err);
      }
      if (!result.allowed) {
        const message = result.validation?.message ?? result.mutation.message ?? '';
        assert.equal(refused, `admission webhook "validate.aml-admission.ml.azure.com" denied the request: ${message}`, 'refused online as offline');
        return;
      }
      assert.equal(refused, undefined, 'allowed online as offline');
      const got = withoutServerAdditions(JSON.parse(JSON.stringify(stored)) as Json, result.mutated);
      assert.ok(sameJson(got, result.mutated), `stored (minus the API server's additions) differs from dry-run's mutated pod:\n${diff(got, result.mutated)}`);
    });
  }
});

/** The differing paths, for the failure message. */
function diff(a: unknown, b: unknown, path = ''): string {
  if (sameJson(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys]
      .map((k) => diff((a as Json)[k], (b as Json)[k], `${path}/${k}`))
      .filter(Boolean)
      .join('\n');
  }
  return `${path}: online ${JSON.stringify(a)} offline ${JSON.stringify(b)}`;
}
