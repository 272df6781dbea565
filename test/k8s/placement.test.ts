import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fitsLabels, intOf, requirementMatches, type NodeSelectorTerm } from '../../src/k8s/affinity.js';
import { viewPod, type PodView } from '../../src/k8s/pod.js';
import { fitPlacement, PlacementMemo, type PoolLabels } from '../../src/k8s/placement.js';

type Req = { key: string; operator: string; values?: string[] };

function pod(nodeSelector?: Record<string, string>, terms?: NodeSelectorTerm[]): PodView {
  return viewPod({
    spec: {
      containers: [{ name: 'c' }],
      ...(nodeSelector ? { nodeSelector } : {}),
      ...(terms ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } : {}),
    },
  });
}
const term = (...matchExpressions: Req[]) => ({ matchExpressions });

const twoPools: PoolLabels = { cpupool: { agentpool: 'cpupool' }, gpupool: { agentpool: 'gpupool' } };
const zonal: PoolLabels = { a1: { agentpool: 'a', zone: '1' }, a2: { agentpool: 'a', zone: '2' } };
const tiers: PoolLabels = { t1: { tier: '1' }, t2: { tier: '2' } };
const layered: PoolLabels = { p1: { x: '1', y: '1' }, p2: { x: '1', y: '2' }, p3: { x: '2' } };

interface Want {
  unrestricted?: boolean;
  /** Per conjunct: [contained, satisfiable, reachable, named]. */
  conjuncts: [boolean, boolean, string[], string[]][];
}

const cases: { name: string; given: { pod: PodView; pools: PoolLabels }; want: Want }[] = [
  {
    name: 'A nodeSelector naming one pool is contained in it and targets it.',
    given: { pod: pod({ agentpool: 'cpupool' }), pools: twoPools },
    want: { conjuncts: [[true, true, ['cpupool'], ['cpupool']]] },
  },
  {
    name: 'A pod with no nodeSelector and no affinity is unrestricted and escapes.',
    given: { pod: pod(), pools: twoPools },
    want: { unrestricted: true, conjuncts: [[false, true, ['cpupool', 'gpupool'], []]] },
  },
  {
    name: 'A nodeSelector on a non-pool key escapes and can reach every pool.',
    given: { pod: pod({ 'kubernetes.io/os': 'linux' }), pools: twoPools },
    want: { conjuncts: [[false, true, ['cpupool', 'gpupool'], []]] },
  },
  {
    name: 'In over several pools of the set is contained.',
    given: { pod: pod(undefined, [term({ key: 'agentpool', operator: 'In', values: ['cpupool', 'gpupool'] })]), pools: twoPools },
    want: { conjuncts: [[true, true, ['cpupool', 'gpupool'], ['cpupool', 'gpupool']]] },
  },
  {
    name: 'In with one value that is no pool escapes.',
    given: { pod: pod(undefined, [term({ key: 'agentpool', operator: 'In', values: ['cpupool', 'other'] })]), pools: twoPools },
    want: { conjuncts: [[false, true, ['cpupool'], ['cpupool']]] },
  },
  {
    name: 'NotIn alone escapes (nodes without the label, or with another value) but does not name a pool.',
    given: { pod: pod(undefined, [term({ key: 'agentpool', operator: 'NotIn', values: ['cpupool'] })]), pools: twoPools },
    want: { conjuncts: [[false, true, ['gpupool'], []]] },
  },
  {
    name: 'Exists on the pool key escapes (any value is admitted).',
    given: { pod: pod(undefined, [term({ key: 'agentpool', operator: 'Exists' })]), pools: twoPools },
    want: { conjuncts: [[false, true, ['cpupool', 'gpupool'], []]] },
  },
  {
    name: 'DoesNotExist on the pool key escapes and reaches no pool.',
    given: { pod: pod(undefined, [term({ key: 'agentpool', operator: 'DoesNotExist' })]), pools: twoPools },
    want: { conjuncts: [[false, true, [], []]] },
  },
  {
    name: 'Of several terms, only the one that leaves the pool key open escapes.',
    given: {
      pod: pod(undefined, [
        term({ key: 'agentpool', operator: 'In', values: ['cpupool'] }),
        term({ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }),
      ]),
      pools: twoPools,
    },
    want: {
      conjuncts: [
        [true, true, ['cpupool'], ['cpupool']],
        [false, true, ['cpupool', 'gpupool'], []],
      ],
    },
  },
  {
    name: 'A nodeSelector narrows every term: a NotIn term combined with a pool selector stays contained.',
    given: { pod: pod({ agentpool: 'cpupool' }, [term({ key: 'agentpool', operator: 'NotIn', values: ['gpupool'] })]), pools: twoPools },
    want: { conjuncts: [[true, true, ['cpupool'], ['cpupool']]] },
  },
  {
    name: 'A nodeSelector that contradicts a term makes that term unsatisfiable.',
    given: { pod: pod({ agentpool: 'cpupool' }, [term({ key: 'agentpool', operator: 'In', values: ['gpupool'] })]), pools: twoPools },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'A pool named by one of two labels is not pinned: the other label may be absent.',
    given: { pod: pod({ agentpool: 'a' }), pools: zonal },
    want: { conjuncts: [[false, true, ['a1', 'a2'], ['a1', 'a2']]] },
  },
  {
    name: 'Both labels of multi-label pools pinned by In is contained.',
    given: { pod: pod({ agentpool: 'a' }, [term({ key: 'zone', operator: 'In', values: ['1', '2'] })]), pools: zonal },
    want: { conjuncts: [[true, true, ['a1', 'a2'], ['a1', 'a2']]] },
  },
  {
    name: 'NotIn on the second label of multi-label pools escapes.',
    given: { pod: pod({ agentpool: 'a' }, [term({ key: 'zone', operator: 'NotIn', values: ['3'] })]), pools: zonal },
    want: { conjuncts: [[false, true, ['a1', 'a2'], ['a1', 'a2']]] },
  },
  {
    name: 'Every combination of admitted values falls in some pool when pools overlap on keys.',
    given: { pod: pod(undefined, [term({ key: 'x', operator: 'In', values: ['1', '2'] }, { key: 'y', operator: 'In', values: ['1', '2'] })]), pools: layered },
    want: { conjuncts: [[true, true, ['p1', 'p2', 'p3'], ['p1', 'p2', 'p3']]] },
  },
  {
    name: 'One combination (x=1, y=3) falls in no pool, so the term escapes.',
    given: { pod: pod(undefined, [term({ key: 'x', operator: 'In', values: ['1', '2'] }, { key: 'y', operator: 'In', values: ['1', '3'] })]), pools: layered },
    want: { conjuncts: [[false, true, ['p1', 'p3'], ['p1', 'p3']]] },
  },
  {
    name: 'Gt and Lt alone escape: other spellings of the integers (01) are in no pool.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'Gt', values: ['0'] }, { key: 'tier', operator: 'Lt', values: ['3'] })]), pools: tiers },
    want: { conjuncts: [[false, true, ['t1', 't2'], []]] },
  },
  {
    name: 'Gt combined with In narrows to the pools in range and is contained.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'In', values: ['1', '2'] }, { key: 'tier', operator: 'Gt', values: ['1'] })]), pools: tiers },
    want: { conjuncts: [[true, true, ['t2'], ['t2']]] },
  },
  {
    name: 'Gt above every pool value reaches no pool and escapes.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'Gt', values: ['5'] })]), pools: tiers },
    want: { conjuncts: [[false, true, [], []]] },
  },
  {
    name: 'Gt and Lt with no integer between them admit no node.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'Gt', values: ['1'] }, { key: 'tier', operator: 'Lt', values: ['2'] })]), pools: tiers },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'A signed bound (+1) is an integer, as Go reads it, and narrows like 1.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'In', values: ['1', '2'] }, { key: 'tier', operator: 'Gt', values: ['+1'] })]), pools: tiers },
    want: { conjuncts: [[true, true, ['t2'], ['t2']]] },
  },
  {
    name: 'Gt at the int64 maximum leaves no integer above it and admits no node.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'Gt', values: ['9223372036854775807'] })]), pools: tiers },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'A bound outside int64 is not an integer and admits no node.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'Lt', values: ['9223372036854775808'] })]), pools: tiers },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'Gt with two values is malformed and admits no node.',
    given: { pod: pod(undefined, [term({ key: 'tier', operator: 'Gt', values: ['1', '2'] })]), pools: tiers },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'A term with only matchFields (node names) cannot be resolved to pools and escapes.',
    given: { pod: pod(undefined, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['aks-gpupool-1'] }] }]), pools: twoPools },
    want: { conjuncts: [[false, true, ['cpupool', 'gpupool'], []]] },
  },
  {
    name: 'An empty term matches no node.',
    given: { pod: pod(undefined, [{}]), pools: twoPools },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'A requirement with an empty key is invalid and matches no node.',
    given: { pod: pod(undefined, [term({ key: '', operator: 'Exists' })]), pools: twoPools },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'An unknown operator matches no node, as in the scheduler.',
    given: { pod: pod(undefined, [term({ key: 'agentpool', operator: 'Like', values: ['cpupool'] })]), pools: twoPools },
    want: { conjuncts: [[true, false, [], []]] },
  },
  {
    name: 'Required affinity with an empty term list leaves no way to place the pod.',
    given: { pod: pod(undefined, []), pools: twoPools },
    want: { conjuncts: [] },
  },
];

describe('placement: fitting a pod’s nodeSelector and required affinity to node pools', () => {
  for (const t of cases) {
    it(t.name, () => {
      const fit = fitPlacement(t.given.pod, t.given.pools);
      assert.equal(fit.unrestricted, t.want.unrestricted ?? false);
      assert.deepEqual(
        fit.conjuncts.map((c) => [c.contained, c.satisfiable, c.reachable, c.named]),
        t.want.conjuncts,
      );
    });
  }

  it('labels conjuncts by their source so messages can name the term that escapes.', () => {
    const fit = fitPlacement(
      pod(undefined, [term({ key: 'agentpool', operator: 'In', values: ['cpupool'] }), term({ key: 'x', operator: 'Exists' })]),
      twoPools,
    );
    assert.deepEqual(
      fit.conjuncts.map((c) => c.source),
      ['affinity term 1', 'affinity term 2'],
    );
    assert.deepEqual(
      fitPlacement(pod({ agentpool: 'cpupool' }), twoPools).conjuncts.map((c) => c.source),
      ['nodeSelector'],
    );
  });

  it('remembers analyses per pools and placement, and never answers one placement with another’s.', () => {
    const memo = new PlacementMemo();
    const inside = pod({ agentpool: 'gpupool' });
    const escaping = pod({ agentpool: 'gpupool' }, [{ matchExpressions: [{ key: 'agentpool', operator: 'NotIn', values: ['cpupool'] }] }]);
    const first = memo.fit(inside, twoPools);
    assert.equal(memo.fit(pod({ agentpool: 'gpupool' }), twoPools), first, 'the same placement is answered from memory');
    const other = memo.fit(escaping, twoPools);
    assert.notEqual(other, first);
    assert.equal(other.conjuncts[0]!.source, 'affinity term 1');
    const again = memo.fit(inside, { ...twoPools });
    assert.notEqual(again, first, 'another pools object gets its own analysis');
    assert.deepEqual(again, first);
  });

  // Oracle: enumerate node label sets over a universe that includes values no pool or
  // requirement names (other spellings, other integers, other strings) and check the answer.
  it('agrees with brute-force enumeration of node labels for random pools and requirements.', () => {
    const keys = ['a', 'b', 'c'];
    const named = ['1', '2', '3', '9'];
    // Every named integer also gets a second spelling (leading zero): NotIn [2] with 1 < x < 3
    // still admits a node labelled "02".
    const universe: (string | null)[] = [null, ...named, ...named.map((n) => `0${n}`), ...named.map((n) => `+${n}`), '5', '10', '-4', 'q'];
    const poolArb = fc.dictionary(fc.constantFrom('a', 'b'), fc.constantFrom('1', '2', '3'), { minKeys: 1 });
    const reqArb = fc
      .record({
        key: fc.constantFrom(...keys),
        operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'),
        values: fc.uniqueArray(fc.constantFrom(...named), { minLength: 1, maxLength: 3 }),
      })
      .map((r) =>
        r.operator === 'Exists' || r.operator === 'DoesNotExist'
          ? { key: r.key, operator: r.operator }
          : r.operator === 'Gt' || r.operator === 'Lt'
            ? { ...r, values: r.values.slice(0, 1) }
            : r,
      );
    const selArb = fc.dictionary(fc.constantFrom('a', 'b'), fc.constantFrom('1', '2', '9'), { maxKeys: 1 });
    fc.assert(
      fc.property(
        fc.array(poolArb, { minLength: 1, maxLength: 3 }),
        selArb,
        fc.array(fc.array(reqArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }),
        (poolList, selector, terms) => {
          const pools = Object.fromEntries(poolList.map((p, i) => [`p${i}`, p]));
          const p = pod(
            Object.keys(selector).length ? selector : undefined,
            terms.map((reqs) => ({ matchExpressions: reqs })),
          );
          const fit = fitPlacement(p, pools);
          terms.forEach((reqs, i) => {
            const single = pod(Object.keys(selector).length ? selector : undefined, [{ matchExpressions: reqs }]);
            let admitsAny = false;
            let contained = true;
            const reachable = new Set<string>();
            const walk = (k: number, labels: Record<string, string>) => {
              if (k === keys.length) {
                if (!fitsLabels(single.nodeSelector, single.requiredTerms, labels)) return;
                admitsAny = true;
                const inPools = Object.entries(pools)
                  .filter(([, pl]) => Object.entries(pl).every(([lk, lv]) => labels[lk] === lv))
                  .map(([n]) => n);
                inPools.forEach((n) => reachable.add(n));
                if (inPools.length === 0) contained = false;
                return;
              }
              for (const v of universe) walk(k + 1, v === null ? labels : { ...labels, [keys[k]!]: v });
            };
            walk(0, {});
            const c = fit.conjuncts[i]!;
            assert.equal(c.satisfiable, admitsAny, 'satisfiable');
            assert.equal(c.contained, contained, 'contained');
            assert.deepEqual(
              c.reachable,
              Object.keys(pools).filter((n) => reachable.has(n)),
              'reachable',
            );
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Gt and Lt as the scheduler reads them (strconv.ParseInt, base 10, 64 bits)', () => {
  it('reads signs, leading zeros and the int64 bounds, and nothing else, as integers.', () => {
    assert.equal(intOf('+5'), 5n);
    assert.equal(intOf('-007'), -7n);
    assert.equal(intOf('9223372036854775807'), 2n ** 63n - 1n);
    assert.equal(intOf('-9223372036854775808'), -(2n ** 63n));
    for (const bad of ['9223372036854775808', '-9223372036854775809', '', '+', '1.0', '1e3', ' 1', '0x10']) assert.equal(intOf(bad), undefined, bad);
  });

  it('compares as 64-bit integers, beyond the doubles that would round them together.', () => {
    const labels = { n: '9007199254740993' };
    assert.equal(requirementMatches(labels, { key: 'n', operator: 'Gt', values: ['9007199254740992'] }), true);
    assert.equal(requirementMatches({ n: '5' }, { key: 'n', operator: 'Gt', values: ['+4'] }), true);
    assert.equal(requirementMatches({ n: '5' }, { key: 'n', operator: 'Lt', values: ['+5'] }), false);
  });
});
