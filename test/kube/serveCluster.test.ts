import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterServeOptions, type ClusterFlags } from '../../src/commands/serveCluster.js';
import { Component } from '../../src/serve.js';

describe('serve: when to use a cluster', () => {
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aml-serve-cluster-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const both = [Component.Admission, Component.Extender];
  const ref = { namespace: 'azureml', name: 'aml-admission-policy', key: 'policy.yaml' };
  const cases: {
    name: string;
    given: Omit<ClusterFlags, 'kubeconfig'> & { kubeconfig?: boolean };
    want: { cluster: boolean; policyKey?: string; nodeCache: boolean; claims?: boolean };
  }[] = [
    { name: 'connects to nothing without --kubeconfig or --policy-configmap', given: { components: both }, want: { cluster: false, nodeCache: false } },
    {
      name: 'watches the ConfigMap and feeds the extender cache with --policy-configmap',
      given: { kubeconfig: true, policyConfigmap: ref, components: both },
      want: { cluster: true, policyKey: 'policy.yaml', nodeCache: true },
    },
    {
      name: 'reads another data key with --policy-key',
      given: { kubeconfig: true, policyConfigmap: ref, policyKey: 'strict.yaml', components: both },
      want: { cluster: true, policyKey: 'strict.yaml', nodeCache: true },
    },
    { name: 'feeds the extender cache with --kubeconfig alone', given: { kubeconfig: true, components: both }, want: { cluster: true, nodeCache: true } },
    {
      name: 'feeds a node cache for the admission webhooks alone (pods that name their node)',
      given: { kubeconfig: true, components: [Component.Admission] },
      want: { cluster: true, nodeCache: true },
    },
    {
      name: 'runs no informers when an --extender-state file feeds the extender',
      given: { kubeconfig: true, components: both, extenderState: 'state.yaml' },
      want: { cluster: true, nodeCache: false },
    },
    {
      name: "watches no PVCs for the extender alone (AML's labelled PVCs are the mutating webhook's)",
      given: { kubeconfig: true, components: [Component.Extender] },
      want: { cluster: true, nodeCache: true, claims: false },
    },
  ];
  for (const { name, given, want } of cases) {
    it(name, async () => {
      const { kubeconfig: useFile, ...flags } = given;
      const got = await clusterServeOptions({ ...flags, ...(useFile ? { kubeconfig } : {}) }, { POD_NAME: 'replica-7' });
      assert.equal(got.cluster !== undefined, want.cluster);
      assert.equal(got.nodeCache !== undefined, want.nodeCache);
      // A PVC index whenever a cluster serves the admission component.
      assert.equal(got.claims !== undefined, want.claims ?? (want.cluster && flags.components.includes(Component.Admission)));
      assert.equal(got.cluster?.policyConfigMap?.key, want.policyKey);
      if (got.cluster) assert.equal(got.cluster.instance, 'replica-7', 'Events name the pod');
    });
  }

  it('says which kubeconfig it could not load', async () => {
    await assert.rejects(clusterServeOptions({ kubeconfig: join(dir, 'missing'), components: both }, {}), /cannot load kubeconfig .*missing/);
  });
});
