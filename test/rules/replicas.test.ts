import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { isObject } from '../../src/k8s/json.js';
import { BUILTIN_WORKLOAD_KINDS, podFromSite, replicaOf } from '../../src/k8s/workloads.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { PolicySnapshot } from '../../src/policy/snapshot.js';
import { mutate } from '../../src/rules/mutate.js';
import { validate } from '../../src/rules/validate.js';
import { policyFrom, podRequest } from '../helpers/admission.js';

/**
 * dry-run judges replica 0 of each replica type for all its replicas (workloads.ts replicaOf).
 * That holds only while no rule reads what tells replicas apart, their name and replica-index:
 * this judges replicas 0 to 3 of every workload fixture and example under two policies and
 * requires the same patch and verdict for each.
 */
const FOLDERS = ['../fixtures/validation/dryrun/', '../../examples/'].map((f) => new URL(f, import.meta.url));
const workloads = FOLDERS.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map((d) => ({ file: f, doc: d.toJS() as unknown }))),
).filter(({ doc }) => isObject(doc) && isObject(doc.spec) && isObject(doc.metadata));

const policies = {
  builtin: new PolicySnapshot(builtinPolicy()),
  fixture: new PolicySnapshot(policyFrom(readFileSync(new URL('../fixtures/validation/policy.yaml', import.meta.url), 'utf8'))),
};

describe('replicas of one template are judged alike (dry-run judges replica 0 for all)', () => {
  it('has indexed workloads to check', () => {
    const indexed = workloads.flatMap(({ doc }: any) => BUILTIN_WORKLOAD_KINDS.sites(doc.apiVersion, doc.kind, doc.metadata.name, doc.spec) ?? []);
    assert.ok(indexed.filter((s) => 'name' in s.naming).length >= 3, 'fixtures with named replicas');
  });
  for (const { file, doc } of workloads as { file: string; doc: any }[]) {
    const sites = BUILTIN_WORKLOAD_KINDS.sites(doc.apiVersion, doc.kind, doc.metadata.name, doc.spec) ?? [];
    for (const site of sites.filter((s) => 'name' in s.naming)) {
      for (const [policyName, snapshot] of Object.entries(policies)) {
        it(`${file} ${doc.kind}/${doc.metadata.name} ${site.at} under the ${policyName} policy`, () => {
          const judged = [0, 1, 2, 3].map((i) => {
            const replica = replicaOf(site, i);
            const pod = podFromSite(replica, doc.metadata.namespace ?? 'default');
            assert.ok(typeof pod === 'object', String(pod));
            const name = (pod.metadata as { name: string }).name;
            const request = podRequest(pod, { username: site.creator.username });
            const blind = (v: unknown) =>
              JSON.parse(
                JSON.stringify(v)
                  .split(name)
                  .join('<pod>')
                  .replace(/"training\.kubeflow\.org\/replica-index":"\d+"/g, '"<index>"'),
              );
            return { mutation: blind(mutate(snapshot, request).verdict), validation: blind(validate(snapshot, request).verdict), name };
          });
          assert.deepEqual(new Set(judged.map((j) => j.name)).size, 4, 'the replicas have their own names');
          for (const j of judged.slice(1)) {
            assert.deepEqual(j.mutation, judged[0]!.mutation, `${j.name} is mutated as replica 0`);
            assert.deepEqual(j.validation, judged[0]!.validation, `${j.name} is judged as replica 0`);
          }
        });
      }
    }
  }
});
