import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { EXTENDER_PATHS } from '../../src/extender/route.js';
import { builtinPolicy } from '../../src/policy/builtin.js';
import { parseDuration } from '../../src/util/duration.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read as plain JSON */
const repoPath = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const configText = readFileSync(repoPath('deploy/scheduler/scheduler-config.yaml'), 'utf8');
const config = parse(configText) as Record<string, any>;

/**
 * The fields kubescheduler.config.k8s.io/v1 defines, per object. kube-scheduler decodes its
 * configuration strictly, so a misspelt field stops it from starting; this catches that here.
 */
const FIELDS: Record<string, readonly string[]> = {
  config: [
    'apiVersion',
    'kind',
    'parallelism',
    'leaderElection',
    'clientConnection',
    'enableProfiling',
    'enableContentionProfiling',
    'percentageOfNodesToScore',
    'podInitialBackoffSeconds',
    'podMaxBackoffSeconds',
    'profiles',
    'extenders',
    'delayCacheUntilActive',
  ],
  leaderElection: ['leaderElect', 'leaseDuration', 'renewDeadline', 'retryPeriod', 'resourceLock', 'resourceName', 'resourceNamespace'],
  profile: ['schedulerName', 'percentageOfNodesToScore', 'plugins', 'pluginConfig'],
  extender: [
    'urlPrefix',
    'filterVerb',
    'preemptVerb',
    'prioritizeVerb',
    'weight',
    'bindVerb',
    'enableHTTPS',
    'tlsConfig',
    'httpTimeout',
    'nodeCacheCapable',
    'managedResources',
    'ignorable',
  ],
  tlsConfig: ['insecure', 'serverName', 'certFile', 'keyFile', 'caFile', 'certData', 'keyData', 'caData'],
  managedResource: ['name', 'ignoredByScheduler'],
};

function unknown(obj: Record<string, unknown>, kind: string): string[] {
  return Object.keys(obj).filter((k) => !FIELDS[kind]!.includes(k));
}

describe('deploy/scheduler KubeSchedulerConfiguration', () => {
  const extender = config.extenders?.[0] ?? {};

  it('is a v1 KubeSchedulerConfiguration with only fields that version defines', () => {
    assert.equal(config.apiVersion, 'kubescheduler.config.k8s.io/v1');
    assert.equal(config.kind, 'KubeSchedulerConfiguration');
    assert.deepEqual(unknown(config, 'config'), []);
    assert.deepEqual(unknown(config.leaderElection, 'leaderElection'), []);
    for (const p of config.profiles) assert.deepEqual(unknown(p, 'profile'), []);
    assert.equal(config.extenders.length, 1);
    assert.deepEqual(unknown(extender, 'extender'), []);
    assert.deepEqual(unknown(extender.tlsConfig, 'tlsConfig'), []);
    for (const r of extender.managedResources) assert.deepEqual(unknown(r, 'managedResource'), []);
  });

  it('runs one profile under its own scheduler name, not the default or Volcano one', () => {
    assert.deepEqual(
      config.profiles.map((p: any) => p.schedulerName),
      ['azureml-scheduler'],
    );
    assert.notEqual(builtinPolicy().computes['example-compute']!.scheduler.name, 'azureml-scheduler');
  });

  it('elects its leader on its own Lease, the one its RBAC grants', () => {
    assert.deepEqual(config.leaderElection, {
      leaderElect: true,
      resourceLock: 'leases',
      resourceName: 'azureml-connector-scheduler',
      resourceNamespace: 'azureml',
    });
  });

  it('calls the extender paths this server serves, over HTTPS to the Service, verifying with the CA', () => {
    assert.equal(extender.urlPrefix, 'https://azureml-connector-admission.azureml.svc:443');
    assert.equal(`/${extender.filterVerb}`, EXTENDER_PATHS.filter);
    assert.equal(`/${extender.prioritizeVerb}`, EXTENDER_PATHS.prioritize);
    assert.equal(extender.enableHTTPS, true);
    assert.equal(extender.tlsConfig.insecure, undefined);
    assert.equal(extender.tlsConfig.caFile, '/etc/aml-admission/ca/ca.crt');
  });

  it('is node-cache capable, manages every GPU resource of the default policy, and counts GPUs in the scheduler too', () => {
    assert.equal(extender.nodeCacheCapable, true);
    assert.deepEqual(
      extender.managedResources.map((r: any) => r.name),
      builtinPolicy().gpu.resourceNames,
    );
    assert.ok(extender.managedResources.every((r: any) => r.ignoredByScheduler === false));
  });

  it('sets a positive integer weight, a timeout of a few seconds, and is not ignorable', () => {
    assert.ok(Number.isInteger(extender.weight) && extender.weight > 0);
    const timeout = parseDuration(extender.httpTimeout);
    assert.ok(timeout >= 1000 && timeout <= 10_000, `httpTimeout ${extender.httpTimeout}`);
    assert.equal(extender.ignorable, false);
  });

  it('explains each extender setting in a comment', () => {
    const block = configText.slice(configText.indexOf('extenders:'));
    for (const key of ['weight', 'tlsConfig', 'httpTimeout', 'nodeCacheCapable', 'managedResources', 'ignorable']) {
      const before =
        block
          .slice(0, block.indexOf(`    ${key}:`))
          .trimEnd()
          .split('\n')
          .pop() ?? '';
      assert.match(before, /^\s*#/, `${key} has a comment right above it`);
    }
  });

  it('renders with kustomize as the ConfigMap and key the scheduler Deployment mounts', () => {
    const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', repoPath('deploy/scheduler')], { encoding: 'utf8' })).map(
      (d) => d.toJS() as Record<string, any>,
    );
    assert.equal(rendered.length, 1);
    const cm = rendered[0]!;
    assert.equal(cm.kind, 'ConfigMap');
    assert.equal(cm.metadata.namespace, 'azureml');
    assert.match(cm.metadata.name, /^azureml-connector-scheduler-config-[a-z0-9]+$/);
    assert.deepEqual(Object.keys(cm.data), ['scheduler-config.yaml']);
    assert.equal(cm.data['scheduler-config.yaml'], configText);

    const deployment = parse(readFileSync(repoPath('deploy/kube-scheduler/deployment.yaml'), 'utf8')) as Record<string, any>;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const configVolume = pod.volumes.find((v: any) => v.configMap?.name === 'azureml-connector-scheduler-config');
    assert.ok(configVolume, 'the Deployment mounts the ConfigMap');
    const configDir = container.volumeMounts.find((m: any) => m.name === configVolume.name).mountPath;
    assert.ok(container.command.includes(`--config=${configDir}/scheduler-config.yaml`));
    const caVolume = pod.volumes.find((v: any) => v.secret?.items?.some((i: any) => i.path === 'ca.crt'));
    const caDir = container.volumeMounts.find((m: any) => m.name === caVolume.name).mountPath;
    assert.equal(`${caDir}/ca.crt`, extender.tlsConfig.caFile);
  });
});
