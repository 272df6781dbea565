import assert from 'node:assert/strict';
import { createLogger, isoTime } from '../../src/observability/logger.js';
import { LogCapture } from '../helpers/server.js';

describe('logger', () => {
  it('stamps every line with the current time in ISO 8601', () => {
    const lines = new LogCapture();
    const before = Date.now();
    createLogger({ destination: lines }).info({ a: 1 }, 'hello');
    const time = lines.lines[0]!.time as string;
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(time) - before) < 1000);
  });

  it('formats the time as a pino timestamp fragment and follows the clock', async () => {
    const first = isoTime();
    assert.match(first, /^,"time":"[^"]+Z"$/);
    await new Promise((r) => setTimeout(r, 5));
    assert.notEqual(isoTime(), first, 'a later millisecond gives a later time');
  });

  it('redacts tokens and env values a caller logs by mistake', () => {
    const lines = new LogCapture();
    createLogger({ destination: lines }).info({ auth: { token: 's3cret' }, container: { env: [{ name: 'PASSWORD', value: 'hunter2' }] } }, 'oops');
    const text = JSON.stringify(lines.lines[0]);
    assert.doesNotMatch(text, /s3cret|hunter2/);
  });

  it('redacts private keys but keeps the harmless fields named key', () => {
    const lines = new LogCapture();
    const pem = '-----BEGIN PRIVATE KEY-----abc';
    createLogger({ destination: lines }).info(
      {
        configMap: 'azureml/aml-admission-policy',
        key: 'policy.yaml',
        taint: { key: 'ml.azure.com/compute' },
        certificate: { keyPem: pem },
        secret: { tls: { key: pem } },
      },
      'loaded',
    );
    const line = lines.lines[0]!;
    assert.doesNotMatch(JSON.stringify(line), /BEGIN PRIVATE KEY/);
    assert.equal(line.key, 'policy.yaml');
    assert.deepEqual(line.taint, { key: 'ml.azure.com/compute' });
  });
});
