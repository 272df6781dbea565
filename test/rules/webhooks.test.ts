import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { decide, inScope, type Webhook, type WebhookSpec } from '../../src/admission/webhook.js';
import { MUTATING_WEBHOOK, VALIDATING_WEBHOOK } from '../../src/rules/webhooks.js';
import { podRequest } from '../helpers/admission.js';

const dir = new URL('../../webhook-config/', import.meta.url);
const registered = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map((d) => d.toJS()))
  .flatMap((config) => config.webhooks as any[]);

describe('webhook declarations', () => {
  for (const spec of [MUTATING_WEBHOOK, VALIDATING_WEBHOOK]) {
    it(`webhook-config/ registers /${spec.name} with the operations, resources and failure policy it declares.`, () => {
      const [hook, ...others] = registered.filter((w) => w.clientConfig.service.path === `/${spec.name}`);
      assert.ok(hook, `a webhook for /${spec.name}`);
      assert.equal(others.length, 0);
      assert.equal(hook.failurePolicy, spec.failurePolicy);
      const rules = hook.rules as { operations: string[]; apiGroups: string[]; resources: string[] }[];
      assert.deepEqual([...new Set(rules.flatMap((r) => r.operations))].sort(), [...spec.operations].sort());
      const resources = rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)));
      assert.deepEqual(resources.sort(), spec.resources.map((r) => `${r.group}/${r.resource}`).sort());
    });
  }

  const cases: { name: string; given: Parameters<typeof podRequest>[1] & { kind?: string; subResource?: string }; want: [boolean, boolean] }[] = [
    { name: 'A Pod CREATE is judged by both webhooks.', given: {}, want: [true, true] },
    { name: 'A Pod UPDATE is judged by validation only (pod specs are immutable).', given: { operation: 'UPDATE' }, want: [false, true] },
    { name: 'A Pod DELETE is judged by neither.', given: { operation: 'DELETE' }, want: [false, false] },
    { name: 'A CONNECT to pods/exec is judged by neither.', given: { operation: 'CONNECT', subResource: 'exec' }, want: [false, false] },
    { name: 'An UPDATE of pods/status is judged by neither.', given: { operation: 'UPDATE', subResource: 'status' }, want: [false, false] },
    { name: 'A ConfigMap CREATE is judged by neither.', given: { kind: 'ConfigMap' }, want: [false, false] },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const { kind, subResource, ...opts } = t.given;
      const request = { ...podRequest({}, opts), ...(kind ? { kind: { group: '', version: 'v1', kind } } : {}), ...(subResource ? { subResource } : {}) };
      assert.deepEqual([inScope(MUTATING_WEBHOOK, request), inScope(VALIDATING_WEBHOOK, request)], t.want);
    });
  }

  const broken = (spec: WebhookSpec): Webhook => ({
    spec,
    decide: () => {
      throw new Error('a bug outside any rule');
    },
  });

  it('An internal error on the fail-open mutating webhook admits the pod unchanged, with a warning and the error for the log.', () => {
    const d = decide(broken(MUTATING_WEBHOOK), podRequest({}));
    assert.equal(d.verdict.kind, 'allowed');
    assert.deepEqual(d.verdict.warnings, [
      'internal error in the mutate webhook; admitted unchanged (failurePolicy Ignore); see the aml-admission log for uid test-uid-1',
    ]);
    assert.match(String(d.failure), /a bug outside any rule/);
  });

  it('An internal error on the fail-closed validating webhook refuses the pod without detail.', () => {
    const d = decide(broken(VALIDATING_WEBHOOK), podRequest({}));
    assert.equal(d.verdict.kind, 'errored');
    if (d.verdict.kind === 'errored') assert.equal(d.verdict.message, 'internal error in the validate webhook; see the aml-admission log for uid test-uid-1');
  });
});
