import assert from 'node:assert/strict';
import { compareQuantities, parseQuantity, QUANTITY_PATTERN, wholeNumber } from '../../src/k8s/quantity.js';

/** Spellings apimachinery's ParseQuantity accepts and refuses (k8s.io/apimachinery/pkg/api/resource). */
const VALID = [
  '0',
  '1',
  '+1',
  '-1',
  '1.',
  '.5',
  '1.5',
  '500m',
  '2n',
  '3u',
  '4k',
  '4M',
  '4G',
  '4T',
  '4P',
  '4E',
  '1Ki',
  '1Mi',
  '1Gi',
  '1Ti',
  '1Pi',
  '1Ei',
  '1e3',
  '1E3',
  '1e-3',
  '1e+3',
  '2.0',
  '1000m',
];
const INVALID = ['', ' 1', '1 ', '4K', '1ki', '1KI', '1mi', 'Gi', '.', '+', '1.5.0', '1e', '1e1.5', '1ee3', '0x10', '1Kib', 'one', '1,000', '--1', '1e3m'];

describe('resource quantities (the apimachinery grammar)', () => {
  for (const s of VALID) it(`accepts ${JSON.stringify(s)}`, () => assert.notEqual(parseQuantity(s), undefined));
  for (const s of INVALID) it(`refuses ${JSON.stringify(s)}`, () => assert.equal(parseQuantity(s), undefined));

  it('the schema pattern is the same grammar', () => {
    const re = new RegExp(QUANTITY_PATTERN, 'u');
    for (const s of VALID) assert.ok(re.test(s), s);
    for (const s of INVALID) assert.ok(!re.test(s), s);
  });

  it('reads values exactly, binary suffixes as powers of 1024', () => {
    const eq = (a: string, b: string) => compareQuantities(parseQuantity(a)!, parseQuantity(b)!);
    assert.equal(eq('1Ki', '1024'), 0);
    assert.equal(eq('1.5Gi', '1536Mi'), 0);
    assert.equal(eq('1k', '1000'), 0);
    assert.equal(eq('100m', '0.1'), 0);
    assert.equal(eq('1e3', '1k'), 0);
    assert.equal(eq('1Gi', '1G'), 1);
    assert.equal(eq('999m', '1'), -1);
    assert.equal(eq('-1', '0'), -1);
    assert.equal(eq('-2', '-1'), -1);
    assert.equal(eq('1e100', '1e99'), 1);
  });

  it('counts every spelling of a whole number, and nothing else, as one', () => {
    for (const [q, n] of [
      ['2', 2],
      ['2.0', 2],
      ['2000m', 2],
      ['2e0', 2],
      ['0.2e1', 2],
      ['+2', 2],
      ['0', 0],
      ['1k', 1000],
      [3, 3],
    ] as const)
      assert.equal(wholeNumber(q), n, String(q));
    for (const q of ['1.5', '500m', '-1', '4K', '1e-1', '1e30', 1.5, -1, null, {}]) assert.equal(wholeNumber(q), undefined, String(q));
  });

  it('does not expand an absurd exponent', () => {
    assert.equal(wholeNumber('1e999999999'), undefined);
    assert.equal(wholeNumber('1e-999999999'), undefined);
    assert.equal(parseQuantity('1e99999999999'), undefined);
  });
});
