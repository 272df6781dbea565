import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { covers, loadWebhookTemplates, parseWebhookUrl, renderWebhookConfig, urlHost } from '../../src/kube/webhookConfigs.js';

describe('webhook configuration templates', () => {
  it('loads the mutating and validating configurations from webhook-config/', async () => {
    const templates = await loadWebhookTemplates('webhook-config');
    assert.deepEqual(templates.map((t) => t.kind).sort(), ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
  });

  it('points every webhook at the given Service, injects the caBundle and excludes the real namespace instead of the template one', async () => {
    const [template] = (await loadWebhookTemplates('webhook-config')).filter((t) => t.kind === 'MutatingWebhookConfiguration');
    const frozen = structuredClone(template!);

    const rendered = renderWebhookConfig(template!, { namespace: 'ml-system', service: 'aml-hooks', caBundle: 'Q0E=' });

    const webhook = rendered.webhooks![0]!;
    assert.deepEqual(webhook.clientConfig.service, { name: 'aml-hooks', namespace: 'ml-system', path: '/mutate', port: 443 });
    assert.equal(webhook.clientConfig.caBundle, 'Q0E=');
    const byName = webhook.namespaceSelector!.matchExpressions!.find((e) => e.key === 'kubernetes.io/metadata.name');
    assert.deepEqual(byName, { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'ml-system'] });
    assert.deepEqual(template, frozen, 'the template itself is not modified');
  });

  it('adds the admin’s excluded namespaces to both webhooks, and opts out of validation by no label anyone could set', async () => {
    const rendered = (await loadWebhookTemplates('webhook-config')).map((t) =>
      renderWebhookConfig(t, { namespace: 'azureml', service: 'aml-hooks', caBundle: 'Q0E=', excludeNamespaces: ['gpu-operator', 'azureml'] }),
    );
    for (const config of rendered) {
      const byName = config.webhooks![0]!.namespaceSelector!.matchExpressions!.find((e) => e.key === 'kubernetes.io/metadata.name');
      assert.deepEqual(byName?.values, ['kube-system', 'azureml', 'gpu-operator'], config.kind);
    }
    const validating = rendered.find((c) => c.kind === 'ValidatingWebhookConfiguration')!;
    assert.deepEqual(
      validating.webhooks![0]!.namespaceSelector!.matchExpressions!.map((e) => e.key),
      ['kubernetes.io/metadata.name'],
      'only the name the API server sets decides which namespaces validation skips',
    );
  });

  it('registers every webhook by URL (base URL + the template path) for a server outside the cluster, keeping the namespace exclusion', async () => {
    const templates = await loadWebhookTemplates('webhook-config');
    const urls = ['https://192.168.49.1:8443', 'https://dev.example.com:9443/aml/'];
    const want = [
      ['https://192.168.49.1:8443/mutate', 'https://192.168.49.1:8443/validate'],
      ['https://dev.example.com:9443/aml/mutate', 'https://dev.example.com:9443/aml/validate'],
    ];
    for (const [i, url] of urls.entries()) {
      const rendered = templates.map((t) =>
        renderWebhookConfig(t, { namespace: 'ml-system', service: 'aml-hooks', caBundle: 'Q0E=', url: parseWebhookUrl(url) }),
      );
      const byKind = Object.fromEntries(rendered.map((c) => [c.kind, c.webhooks![0]!]));
      assert.deepEqual(
        [byKind.MutatingWebhookConfiguration!.clientConfig, byKind.ValidatingWebhookConfiguration!.clientConfig],
        want[i]!.map((u) => ({ url: u, caBundle: 'Q0E=' })),
      );
      const byName = byKind.MutatingWebhookConfiguration!.namespaceSelector!.matchExpressions!.find((e) => e.key === 'kubernetes.io/metadata.name');
      assert.deepEqual(byName?.values, ['kube-system', 'ml-system']);
    }
  });

  const badUrls: { given: string; want: RegExp }[] = [
    { given: 'http://127.0.0.1:8443', want: /only calls webhooks over https/ },
    { given: '127.0.0.1:8443', want: /only calls webhooks over https|not a URL/ },
    { given: 'https://user:pw@host:8443', want: /may not contain user info/ },
    { given: 'https://host:8443/?a=1', want: /may not have a query or fragment/ },
    { given: 'https://host:8443/#x', want: /may not have a query or fragment/ },
    { given: 'not a url', want: /is not a URL/ },
  ];
  for (const { given, want } of badUrls) {
    it(`refuses the webhook URL ${given}`, () => assert.throws(() => parseWebhookUrl(given), want));
  }

  it('names the host of a webhook URL as the certificate needs it (IPv6 without brackets)', () => {
    assert.deepEqual(
      ['https://[::1]:8443', 'https://10.1.2.3', 'https://dev.local:1'].map((u) => urlHost(parseWebhookUrl(u))),
      ['::1', '10.1.2.3', 'dev.local'],
    );
  });

  const bad: { name: string; given: string; want: RegExp }[] = [
    {
      name: 'a kind that is not a webhook configuration',
      given: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n',
      want: /kind must be MutatingWebhookConfiguration or ValidatingWebhookConfiguration, got "ConfigMap"/,
    },
    {
      name: 'a webhook without a Service reference',
      given: 'kind: ValidatingWebhookConfiguration\nmetadata: { name: x }\nwebhooks:\n  - name: a.b.c\n    clientConfig: { url: "https://x" }\n',
      want: /webhooks\[0\]\.clientConfig\.service needs a name and namespace/,
    },
    { name: 'YAML that does not parse', given: 'kind: [\n', want: /bad\.yaml: / },
  ];
  for (const { name, given, want } of bad) {
    it(`refuses a template folder with ${name}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'aml-templates-'));
      try {
        await writeFile(join(dir, 'bad.yaml'), given);
        await assert.rejects(loadWebhookTemplates(dir), want);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('covers (what init counts as unchanged)', () => {
  const cases: { name: string; given: { actual: unknown; wanted: unknown }; want: boolean }[] = [
    {
      name: 'fields the server added do not count as a difference',
      given: { actual: { a: 1, defaulted: 'x', nested: { b: 2, c: 3 } }, wanted: { a: 1, nested: { b: 2 } } },
      want: true,
    },
    { name: 'a different value is a difference', given: { actual: { timeoutSeconds: 10 }, wanted: { timeoutSeconds: 5 } }, want: false },
    { name: 'a field the server does not have is a difference', given: { actual: {}, wanted: { caBundle: 'Q0E=' } }, want: false },
    { name: 'a list of another length is a difference', given: { actual: [{ a: 1 }, { a: 2 }], wanted: [{ a: 1 }] }, want: false },
    { name: 'lists are compared element by element in order', given: { actual: ['UPDATE', 'CREATE'], wanted: ['CREATE', 'UPDATE'] }, want: false },
    { name: 'an undefined wanted field is ignored', given: { actual: {}, wanted: { a: undefined } }, want: true },
    { name: 'an object where a scalar is wanted is a difference', given: { actual: { a: { b: 1 } }, wanted: { a: 'b' } }, want: false },
  ];
  for (const { name, given, want } of cases) {
    it(name, () => assert.equal(covers(given.actual, given.wanted), want));
  }
});
