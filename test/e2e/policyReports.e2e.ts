import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { ROOT } from './harness/assets.js';
import { createNamespace, installServer, uninstall, type AmlServer } from './harness/aml.js';
import { amlPod, createNode, POLICY_FILE } from './harness/objects.js';
import { waitFor } from './harness/processes.js';
import { cluster } from './harness/suite.js';

const NS = 'e2e-reports';
const NODE = 'reports-node';

/* eslint-disable @typescript-eslint/no-explicit-any -- reports are read as plain JSON */
async function report(): Promise<any | undefined> {
  const api = cluster().kubeConfig().makeApiClient(CustomObjectsApi);
  return api
    .getNamespacedCustomObject({ group: 'wgpolicyk8s.io', version: 'v1alpha2', plural: 'policyreports', namespace: NS, name: 'aml-admission' })
    .catch((err: { code?: number }) => {
      if (err.code === 404) return undefined;
      throw err;
    });
}

describe('background audit through a real API server (serve --background-audit-interval)', () => {
  let server: AmlServer;

  before(async () => {
    const plane = cluster();
    await plane.kubectlOk(['apply', '-f', join(ROOT, 'deploy/crds/policyreports.yaml')]);
    await plane.kubectlOk(['wait', '--for=condition=established', '--timeout=60s', 'crd/policyreports.wgpolicyk8s.io']);
    // As the admission ServiceAccount (deploy/admission/rbac.yaml): its grants must cover the reports.
    server = await installServer(plane, { name: 'aml-admission-reports', args: ['--policy', POLICY_FILE, '--background-audit-interval', '1s'] });
    // Pods that exist although the policy would refuse them today (created before the webhooks, or under an older policy).
    await uninstall(plane);
    await createNamespace(plane, NS);
    await createNode(plane, NODE, { labels: { agentpool: 'cpupool' } });
    const pod = amlPod('misplaced', NS, { instanceType: 'gpu-1' });
    pod.spec!.nodeName = NODE;
    await plane.kubeConfig().makeApiClient(CoreV1Api).createNamespacedPod({ namespace: NS, body: pod });
  });
  after(async () => {
    await cluster().kubectl(['delete', 'node', NODE, '--ignore-not-found']);
    await server?.stop();
  });

  it('writes a PolicyReport in the namespace, with a fail result for the pod, valid to the CRD, and counts it in the metric', async () => {
    const written = await waitFor(
      'a PolicyReport with the pod',
      async () => {
        const r = await report();
        return r?.results?.some((x: any) => x.resources?.[0]?.name === 'misplaced') && r;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(written.metadata.labels['app.kubernetes.io/managed-by'], 'aml-admission');
    const failed = written.results.filter((x: any) => x.result === 'fail').map((x: any) => x.rule);
    assert.ok(failed.includes('identity-claims'), `identity-claims fails: namespace ${NS} may not use gpu-compute (${JSON.stringify(written.results)})`);
    assert.ok(written.summary.fail >= 1);
    assert.equal(written.results[0].policy, 'aml-admission');
    const metrics = await fetchMetrics(server);
    assert.match(metrics, new RegExp(`aml_admission_audit_violations\\{rule="identity-claims",action="deny",namespace="${NS}"\\} 1`));
  });

  it('removes the report once the namespace has no pods left', async () => {
    await cluster().kubectlOk(['-n', NS, 'delete', 'pod', 'misplaced', '--grace-period=0', '--force']);
    await waitFor('the PolicyReport removed', async () => (await report()) === undefined, { timeoutMs: 60_000, intervalMs: 500 });
  });
});

async function fetchMetrics(server: AmlServer): Promise<string> {
  const { httpsGet } = await import('./harness/controlPlane.js');
  const res = await httpsGet(`${server.url}/metrics`, { ca: await server.ca() });
  return res.body;
}
