import assert from 'node:assert/strict';
import jsonpatch from 'fast-json-patch';
import type { Pod } from '../../../src/k8s/pod.js';
import { ClaimIndex, claimMetaOf } from '../../../src/policy/amlClaims.js';
import { PolicySnapshot } from '../../../src/policy/snapshot.js';
import type { Policy } from '../../../src/policy/types.js';
import { mutate, MUTATING_RULES } from '../../../src/rules/mutate.js';
import { validate } from '../../../src/rules/validate.js';
import { podRequest } from '../../helpers/admission.js';
import { assertValidPod, policyWith, testPolicy } from './helpers.js';

/** AML's PVC convention: PVCs labelled ml.azure.com/pvc: "true" are mounted into the AML pods of their namespace. */

const pvc = (name: string, opts: { namespace?: string; label?: string; mountPath?: string; gid?: string } = {}) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name,
    namespace: opts.namespace ?? 'azureml',
    labels: { 'ml.azure.com/pvc': opts.label ?? 'true' },
    annotations: {
      ...(opts.mountPath !== '' ? { 'ml.azure.com/mountpath': opts.mountPath ?? `/mnt/${name}` } : {}),
      ...(opts.gid ? { 'ml.azure.com/gid': opts.gid } : {}),
    },
  },
});

function claims(...objects: unknown[]): ClaimIndex {
  const index = new ClaimIndex();
  for (const o of objects) index.upsert(claimMetaOf(o)!);
  return index;
}

function amlPod(edit: (pod: any) => void = () => {}): Pod {
  const pod: any = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'train', namespace: 'azureml', labels: { 'ml.azure.com/compute': 'gpu-cluster' } },
    spec: {
      containers: [
        { name: 'trainer', image: 'busybox' },
        { name: 'sidecar', image: 'busybox' },
      ],
      initContainers: [{ name: 'init', image: 'busybox' }],
    },
  };
  edit(pod);
  return pod as Pod;
}

function run(policy: Policy, pod: Pod, index: ClaimIndex) {
  const verdict = mutate(new PolicySnapshot(policy), podRequest(pod), MUTATING_RULES, index).verdict;
  const ops = verdict.kind === 'patched' ? verdict.ops : [];
  const mutated = jsonpatch.applyPatch(structuredClone(pod), structuredClone([...ops]), true, false).newDocument as any;
  const outcome = verdict.outcomes.find((o) => o.ruleId === 'pvc-volumes')!;
  return { verdict, mutated, outcome };
}

describe("pvc-volumes: AML's labelled PVCs", () => {
  it("Mounts a labelled PVC of the pod's namespace into every regular container, and joins its gid.", () => {
    const { mutated, outcome } = run(testPolicy(), amlPod(), claims(pvc('datasets', { gid: '3000' })));
    assert.equal(outcome.result, 'mutated');
    assert.deepEqual(mutated.spec.volumes, [{ name: 'pvc-datasets', persistentVolumeClaim: { claimName: 'datasets' } }]);
    for (const c of mutated.spec.containers) assert.deepEqual(c.volumeMounts, [{ name: 'pvc-datasets', mountPath: '/mnt/datasets' }], c.name);
    assert.equal(mutated.spec.initContainers[0].volumeMounts, undefined, 'init containers are not job containers');
    assert.deepEqual(mutated.spec.securityContext, { supplementalGroups: [3000] });
    assertValidPod(mutated);
  });

  it('Leaves out PVCs of other namespaces, unlabelled ones and label values other than "true".', () => {
    const { outcome, mutated } = run(testPolicy(), amlPod(), claims(pvc('elsewhere', { namespace: 'team-b' }), pvc('off', { label: 'false' })));
    assert.equal(outcome.result, 'pass');
    assert.equal(mutated.spec.volumes, undefined);
  });

  it('Leaves non-AML pods alone.', () => {
    const { verdict } = run(
      testPolicy(),
      amlPod((p) => (p.metadata.labels = {})),
      claims(pvc('datasets')),
    );
    assert.equal(verdict.outcomes.find((o) => o.ruleId === 'pvc-volumes')?.result, 'skipped');
  });

  it("Mounts only the PVCs the compute's resource claims allow, so validation never denies what it added.", () => {
    const policy = policyWith((d) => (d.computes['gpu-cluster'].claims = { resources: { persistentVolumeClaims: ['datasets'] } }));
    const pod = amlPod();
    const { mutated, verdict } = run(policy, pod, claims(pvc('datasets'), pvc('scratch')));
    assert.deepEqual(
      mutated.spec.volumes.map((v: any) => v.persistentVolumeClaim.claimName),
      ['datasets'],
    );
    assert.ok(
      verdict.warnings.some((w) => w === "[pvc-volumes] PVC scratch not mounted: not in the compute's allowed PVCs"),
      JSON.stringify(verdict.warnings),
    );
    const checked = validate(new PolicySnapshot(policy), podRequest(mutated)).verdict;
    assert.equal(checked.outcomes.find((o) => o.ruleId === 'resource-claims')?.result, 'pass');
  });

  it('Says why a labelled PVC without a usable mount path or gid is not mounted.', () => {
    const { mutated, verdict } = run(
      testPolicy(),
      amlPod(),
      claims(pvc('a', { mountPath: '' }), pvc('b', { mountPath: 'relative' }), pvc('c', { gid: 'staff' })),
    );
    assert.equal(mutated.spec.volumes, undefined);
    assert.deepEqual(verdict.warnings, [
      '[pvc-volumes] PVC a not mounted: no ml.azure.com/mountpath annotation',
      `[pvc-volumes] PVC b not mounted: ml.azure.com/mountpath "relative" is not an absolute path without ':'`,
      '[pvc-volumes] PVC c not mounted: ml.azure.com/gid "staff" is not a group id',
    ]);
  });

  it('Is a no-op on its own output, and on a pod that mounts the claim itself.', () => {
    const index = claims(pvc('datasets', { gid: '3000' }));
    const first = run(testPolicy(), amlPod(), index).mutated;
    const second = run(testPolicy(), first, index);
    assert.equal(second.outcome.result, 'pass');
    const own = amlPod((p) => (p.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'datasets' } }]));
    assert.equal(run(testPolicy(), own, index).outcome.result, 'pass');
  });

  it("Keeps a container's own mount at the same path, and names a long claim's volume by a digest.", () => {
    const long = 'a'.repeat(60) + '.b';
    const pod = amlPod((p) => {
      p.spec.volumes = [{ name: 'mine', emptyDir: {} }];
      p.spec.containers[1].volumeMounts = [{ name: 'mine', mountPath: '/mnt/data' }];
    });
    const { mutated, verdict } = run(testPolicy(), pod, claims(pvc(long, { mountPath: '/mnt/data' })));
    const added = mutated.spec.volumes[1];
    assert.match(added.name, /^pvc-[0-9a-f]{16}$/);
    assert.deepEqual(mutated.spec.containers[0].volumeMounts, [{ name: added.name, mountPath: '/mnt/data' }]);
    assert.deepEqual(mutated.spec.containers[1].volumeMounts, [{ name: 'mine', mountPath: '/mnt/data' }]);
    assert.ok(
      verdict.warnings.some((w) => w.startsWith('[pvc-volumes] container "sidecar" already mounts /mnt/data; PVC')),
      JSON.stringify(verdict.warnings),
    );
    assertValidPod(mutated);
  });
});
