import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { durationArg, sizeArg } from '../../src/commands/args.js';
import { formatDuration, parseDuration } from '../../src/util/duration.js';
import { formatSize, parseSize } from '../../src/util/size.js';

/** Durations and sizes as the README and --help write them (`2s`, `8MiB`), and the older bare numbers. */

describe('durations', () => {
  const read: [string, number][] = [
    ['2s', 2000],
    ['250ms', 250],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['2000', 2000], // the older form: milliseconds
    ['0', 0],
  ];
  for (const [text, ms] of read) it(`reads ${JSON.stringify(text)} as ${ms} ms.`, () => assert.equal(parseDuration(text), ms));

  for (const text of ['', 's', '5x', '1s2', '-1s', '2 s'])
    it(`refuses ${JSON.stringify(text)} with an example of the form.`, () => assert.throws(() => parseDuration(text), /invalid duration .*e\.g\. 500ms, 5s/));

  const written: [number, string][] = [
    [2000, '2s'],
    [25_000, '25s'],
    [500, '500ms'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [1500, '1500ms'],
    [0, '0s'],
  ];
  for (const [ms, text] of written)
    it(`writes ${ms} ms as ${text}, which reads back the same.`, () => {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    });

  it('--reload-interval and friends refuse a bad duration as a usage error.', () => assert.throws(() => durationArg('soon'), InvalidArgumentError));
});

describe('sizes', () => {
  const read: [string, number][] = [
    ['8MiB', 8 * 1024 ** 2],
    ['8Mi', 8 * 1024 ** 2], // as a Kubernetes quantity
    ['512KiB', 512 * 1024],
    ['1GiB', 1024 ** 3],
    ['1.5KiB', 1536],
    ['10MB', 10_000_000],
    ['10M', 10_000_000],
    ['1kB', 1000],
    ['1KB', 1000],
    ['512B', 512],
    ['8388608', 8_388_608], // the older form: bytes
  ];
  for (const [text, bytes] of read) it(`reads ${JSON.stringify(text)} as ${bytes} bytes.`, () => assert.equal(parseSize(text), bytes));

  for (const text of ['', 'MiB', '1.5B', '-1', '8 MiB', '8mib', '1m'])
    it(`refuses ${JSON.stringify(text)} with an example of the form.`, () => assert.throws(() => parseSize(text), /invalid size .*e\.g\. 8MiB/));

  const written: [number, string][] = [
    [8 * 1024 ** 2, '8MiB'],
    [64 * 1024, '64KiB'],
    [2 * 1024 ** 3, '2GiB'],
    [1000, '1000B'],
  ];
  for (const [bytes, text] of written)
    it(`writes ${bytes} bytes as ${text}, which reads back the same.`, () => {
      assert.equal(formatSize(bytes), text);
      assert.equal(parseSize(text), bytes);
    });

  it('--body-limit refuses a size out of range in sizes, as a usage error.', () => {
    const parse = sizeArg('--body-limit', 1024, 64 * 1024 ** 2);
    assert.equal(parse('8MiB'), 8 * 1024 ** 2);
    assert.throws(
      () => parse('65MiB'),
      (err: unknown) => err instanceof InvalidArgumentError && err.message === '--body-limit must be from 1KiB to 64MiB',
    );
    assert.throws(() => parse('lots'), InvalidArgumentError);
  });
});
