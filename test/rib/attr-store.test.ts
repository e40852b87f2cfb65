import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AttrStore, attrsKey, hashAttrs, type RouteAttrs } from '../../daemon/rib/attrs.js';

const base = { origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], unknown: [], nextHop: '10.0.0.1', med: 5 } as RouteAttrs;

const VARIANTS: Partial<RouteAttrs>[] = [
  { origin: 1 }, { asPath: [{ type: 1, asns: [65001, 65002] }] }, { asPath: [{ type: 2, asns: [65001] }] }, { nextHop: '10.0.0.2' }, { med: 6 },
  { med: undefined }, { localPref: 100 }, { communities: [1] }, { largeCommunities: [[1, 2, 3]] }, { originatorId: '1.1.1.1' },
  { clusterList: ['1.1.1.1'] }, { unknown: [{ flags: 0xc0, code: 99, value: Uint8Array.from([1]) }] }, { local: 'block' },
  { extCommunities: [1n] }, { aggregator: { asn: 1, address: '1.1.1.1' } }, { atomicAggregate: true }, { nextHopLinkLocal: 'fe80::1' },
  { futureField: 1 } as unknown as Partial<RouteAttrs>,
];

describe('AttrStore', () => {
  it('spreads sets that differ only in a field\'s high bits over the buckets (the hash\'s low bits)', () => {
    // MEDs k·65536 and communities whose ASN half differs: before the finalizer every one of them
    // fell into one bucket of a table of up to 65,536, and interning them was quadratic.
    const lowBits = (sets: RouteAttrs[]) => new Set(sets.map((a) => hashAttrs(a) & 0xffff)).size;
    const k = [...Array(1000).keys()];
    expect(lowBits(k.map((i) => ({ ...base, med: i * 65536 })))).toBeGreaterThan(950);
    expect(lowBits(k.map((i) => ({ ...base, communities: [((64512 + i) << 16) | 100] })))).toBeGreaterThan(950);
    // And sets that differ in the low bits still do.
    expect(lowBits(k.map((i) => ({ ...base, med: i })))).toBeGreaterThan(950);
  });

  it('gives equal sets one id regardless of field order or object identity, and every differing field its own', () => {
    const store = new AttrStore();
    const id = store.intern(base);
    const reordered = { med: 5, nextHop: '10.0.0.1', unknown: [], asPath: [{ type: 2, asns: [65001, 65002] }], origin: 0 } as RouteAttrs;
    expect(store.intern(reordered)).toBe(id);
    const ids = VARIANTS.map((v) => store.intern({ ...base, ...v } as RouteAttrs));
    expect(new Set([id, ...ids]).size).toBe(VARIANTS.length + 1);
    // And each variant finds its own id again.
    VARIANTS.forEach((v, i) => expect(store.intern({ ...base, ...v } as RouteAttrs)).toBe(ids[i]));
    expect(store.size).toBe(VARIANTS.length + 1);
  });

  it('keeps an equal copy; counts references; frees at zero and never hands out a freed id again', () => {
    const store = new AttrStore();
    const freed: number[] = [];
    store.onFree = (id) => freed.push(id);
    const a = store.intern(base);
    expect(store.get(a)).toEqual(base);
    store.ref(a);
    store.release(a);
    expect(store.has(a)).toBe(true);
    store.release(a);
    expect(store.has(a)).toBe(false);
    expect(freed).toEqual([a]);
    expect(() => store.get(a)).toThrow(/not interned/);
    const seen = new Set([a]);
    for (let i = 0; i < 2000; i++) {
      const id = store.intern(base);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      store.release(id);
    }
    expect(store.size).toBe(0);
  });

  it('keeps a copy of every variant with its defined fields and values', () => {
    const store = new AttrStore();
    const defined = (a: object) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined));
    const inputs = [base, ...VARIANTS.map((v) => ({ ...base, ...v }) as RouteAttrs), { origin: 2, asPath: [], unknown: [], nextHop: '10.0.0.3', localPref: 7 } as RouteAttrs];
    for (const input of inputs) {
      const kept = store.get(store.intern(input));
      expect(defined(kept)).toStrictEqual(defined(input));
      expect(attrsKey(kept)).toBe(attrsKey(input));
    }
  });

  it('shares the last frozen path and next hop given, and never a path that can change between two sets', () => {
    const store = new AttrStore();
    const frozen = Object.freeze([Object.freeze({ type: 2 as const, asns: Object.freeze([65001, 65002]) as number[] })]) as RouteAttrs['asPath'];
    const a = store.get(store.intern({ ...base, asPath: frozen, med: 1 }));
    const b = store.get(store.intern({ ...base, asPath: frozen, med: 2 }));
    expect(b.asPath).toBe(a.asPath);
    expect(b.nextHop).toBe('10.0.0.1');
    // A plain array is copied, and the same array changed afterwards gives its new ASes.
    const path = [{ type: 2 as const, asns: [65010] }];
    const c = store.get(store.intern({ ...base, asPath: path, med: 3 }));
    path[0]!.asns.push(65011);
    const d = store.get(store.intern({ ...base, asPath: path, med: 4 }));
    expect(c.asPath).toEqual([{ type: 2, asns: [65010] }]);
    expect(d.asPath).toEqual([{ type: 2, asns: [65010, 65011] }]);
    const e = store.get(store.intern({ ...base, asPath: frozen, nextHop: '10.0.0.9', med: 5 }));
    expect(e.asPath).toBe(a.asPath);
    expect(e.nextHop).toBe('10.0.0.9');
  });

  it('holds many sets across growth and rehash, with ids that are positive 32-bit integers', () => {
    const store = new AttrStore();
    const ids: number[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(store.intern({ ...base, med: i } as RouteAttrs));
    expect(new Set(ids).size).toBe(20_000);
    for (const id of ids) expect(id > 0 && id <= 0x7fffffff).toBe(true);
    for (let i = 0; i < 20_000; i += 2) store.release(ids[i]!);
    expect(store.size).toBe(10_000);
    for (let i = 1; i < 20_000; i += 2) expect(store.get(ids[i]!).med).toBe(i);
    for (let i = 1; i < 20_000; i += 2) expect(store.intern({ ...base, med: i } as RouteAttrs)).toBe(ids[i]);
  });

  it('agrees with attrsKey: same key exactly when same id (property)', () => {
    const attrsArb = fc.record({
      origin: fc.constantFrom(0, 1, 2),
      asPath: fc.array(fc.record({ type: fc.constantFrom(1, 2), asns: fc.array(fc.constantFrom(1, 2, 65001), { maxLength: 3 }) }), { maxLength: 2 }),
      unknown: fc.constant([]),
      nextHop: fc.option(fc.constantFrom('10.0.0.1', '10.0.0.2'), { nil: undefined }),
      med: fc.option(fc.constantFrom(0, 1), { nil: undefined }),
      // Non-empty: an empty COMMUNITIES attribute and none share an attrsKey, but are (rightly) different sets here.
      communities: fc.option(fc.array(fc.constantFrom(1, 2), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(attrsArb, attrsArb, (x, y) => {
        const store = new AttrStore();
        const a = x as unknown as RouteAttrs;
        const b = y as unknown as RouteAttrs;
        expect(store.intern(a) === store.intern(b)).toBe(attrsKey(a) === attrsKey(b));
      }),
      { numRuns: 500 },
    );
  });
});
