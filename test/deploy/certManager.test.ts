import assert from 'node:assert/strict';
import { loadWebhookTemplates, renderWebhookConfig } from '../../src/kube/webhookConfigs.js';
import { locateAsset } from '../e2e/harness/assets.js';
import { kustomize, kustomizeWith } from './render.js';
import { crdValidators, validate, validateCustom, type Obj } from './schema.js';

const id = (o: Obj): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const CRDS = locateAsset('cert-manager-crds.yaml');

describe('deploy/components/cert-manager', () => {
  const plain = kustomize('deploy');
  const rendered = kustomizeWith(['deploy/components/cert-manager']);
  const custom = (o: Obj) => o.apiVersion === 'cert-manager.io/v1';

  it('replaces the init Job, its CronJob, ServiceAccount and RBAC by cert-manager objects and the webhook configurations', () => {
    const names = (objs: Obj[]) => new Set(objs.map(id));
    const only = (a: Obj[], b: Obj[]) => [...names(a)].filter((n) => !names(b).has(n)).sort();
    assert.deepEqual(only(plain, rendered), [
      'ClusterRole azureml-connector-admission-init',
      'ClusterRoleBinding azureml-connector-admission-init',
      'CronJob azureml/azureml-connector-admission-renew',
      'Job azureml/azureml-connector-admission-init',
      'Role azureml/azureml-connector-admission-init',
      'RoleBinding azureml/azureml-connector-admission-init',
      'ServiceAccount azureml/azureml-connector-admission-init',
    ]);
    assert.deepEqual(only(rendered, plain), [
      'Certificate azureml/azureml-connector-admission',
      'Certificate azureml/azureml-connector-admission-ca',
      'Issuer azureml/azureml-connector-admission-ca',
      'Issuer azureml/azureml-connector-admission-selfsigned',
      'MutatingWebhookConfiguration azureml-connector-admission',
      'ValidatingWebhookConfiguration azureml-connector-admission',
    ]);
  });

  for (const obj of rendered.filter((o) => !custom(o))) it(`${id(obj)} validates against the Kubernetes schema`, () => validate(obj));
  const validators = CRDS ? crdValidators(CRDS) : undefined;
  for (const obj of rendered.filter(custom)) {
    if (!validators) it(`${id(obj)} validates against cert-manager's CRD schema: needs the CRDs, run \`npm run e2e:assets\``);
    else it(`${id(obj)} validates against cert-manager's CRD schema`, () => validateCustom(validators, obj));
  }

  it("registers webhook-config/ as init would, with cainjector's annotation naming the serving Certificate", async () => {
    const want = (await loadWebhookTemplates('webhook-config')).map((t) => {
      const c = renderWebhookConfig(t, { namespace: 'azureml', service: 'azureml-connector-admission', caBundle: '' }) as Obj;
      for (const w of c.webhooks) delete w.clientConfig.caBundle;
      c.metadata.labels['app.kubernetes.io/part-of'] = 'aml-admission';
      c.metadata.annotations = { 'cert-manager.io/inject-ca-from': 'azureml/azureml-connector-admission' };
      return c;
    });
    assert.deepEqual(
      rendered.filter((o) => o.kind.endsWith('WebhookConfiguration')),
      want,
    );
    const cert = rendered.find((o) => o.kind === 'Certificate' && o.metadata.name === 'azureml-connector-admission')!;
    const pod = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'azureml-connector-admission')!.spec.template.spec;
    assert.equal(cert.spec.secretName, pod.volumes.find((v: Obj) => v.name === 'tls').secret.secretName, 'into the Secret the pods mount');
    assert.ok(cert.spec.dnsNames.includes('azureml-connector-admission.azureml.svc'), 'for the name the API server calls');
  });
});
