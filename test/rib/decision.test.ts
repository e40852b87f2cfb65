import { describe, expect, it } from 'vitest';
import { addressRank, routerIdNumber, selectBest, type Candidate } from '../../daemon/rib/decision.js';
import type { RouteAttrs } from '../../daemon/rib/attrs.js';

function cand(over: Partial<Omit<Candidate, 'attrs'>> & { attrs?: Partial<RouteAttrs> } = {}): Candidate {
  const { attrs, ...rest } = over;
  return {
    local: false,
    ebgp: false,
    peerRouterId: routerIdNumber('10.0.0.9'),
    peerAddressRank: addressRank('10.0.0.9'),
    pathId: 0,
    ...rest,
    attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], unknown: [], ...attrs } as RouteAttrs,
  };
}

describe('decision process (RFC 4271 §9.1.2.2)', () => {
  it('prefers an own route over any learned one', () => {
    const d = selectBest([cand({ attrs: { localPref: 500 } }), cand({ local: true, attrs: { asPath: [] } })]);
    expect(d).toEqual({ index: 1, step: 'local' });
  });

  it('prefers the highest LOCAL_PREF, treating a missing one as 100', () => {
    expect(selectBest([cand({ attrs: { localPref: 100 } }), cand({ attrs: { localPref: 200 } })])).toEqual({ index: 1, step: 'localPref' });
    expect(selectBest([cand({ attrs: { localPref: 99 } }), cand()])).toEqual({ index: 1, step: 'localPref' });
  });

  it('prefers the shorter AS path, an AS_SET counting one', () => {
    const long = cand({ attrs: { asPath: [{ type: 2, asns: [65001, 65002, 65003] }] } });
    const withSet = cand({ attrs: { asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [65005, 65006, 65007] }] } });
    expect(selectBest([long, withSet])).toEqual({ index: 1, step: 'asPathLength' });
  });

  it('prefers the lower ORIGIN', () => {
    expect(selectBest([cand({ attrs: { origin: 2 } }), cand({ attrs: { origin: 1 } })])).toEqual({ index: 1, step: 'origin' });
  });

  it('compares MED only between routes from the same neighbouring AS', () => {
    const sameAs = selectBest([cand({ attrs: { med: 50 } }), cand({ attrs: { med: 10 } })]);
    expect(sameAs).toEqual({ index: 1, step: 'med' });
    // Different neighbour AS: the MED does not decide; the router id does.
    const a = cand({ peerRouterId: routerIdNumber('10.0.0.1'), attrs: { med: 50, asPath: [{ type: 2, asns: [65001] }] } });
    const b = cand({ peerRouterId: routerIdNumber('10.0.0.2'), attrs: { med: 10, asPath: [{ type: 2, asns: [65002] }] } });
    expect(selectBest([a, b])).toEqual({ index: 0, step: 'routerId' });
  });

  it('treats a missing MED as 0', () => {
    expect(selectBest([cand({ attrs: { med: 5 } }), cand()])).toEqual({ index: 1, step: 'med' });
  });

  it('prefers eBGP-learned over iBGP-learned', () => {
    expect(selectBest([cand({ ebgp: false }), cand({ ebgp: true })])).toEqual({ index: 1, step: 'ebgp' });
  });

  it('prefers the lowest router id, using ORIGINATOR_ID when present', () => {
    const a = cand({ peerRouterId: routerIdNumber('10.0.0.5') });
    const b = cand({ peerRouterId: routerIdNumber('10.0.0.3') });
    expect(selectBest([a, b])).toEqual({ index: 1, step: 'routerId' });
    const reflected = cand({ peerRouterId: routerIdNumber('10.0.0.1'), attrs: { originatorId: '10.0.0.7' } });
    expect(selectBest([reflected, a])).toEqual({ index: 1, step: 'routerId' });
  });

  it('prefers the shorter CLUSTER_LIST', () => {
    const a = cand({ attrs: { originatorId: '10.0.0.7', clusterList: ['1.1.1.1', '2.2.2.2'] } });
    const b = cand({ attrs: { originatorId: '10.0.0.7', clusterList: ['1.1.1.1'] } });
    expect(selectBest([a, b])).toEqual({ index: 1, step: 'clusterList' });
  });

  it('prefers the lowest peer address, numerically', () => {
    const a = cand({ peerAddressRank: addressRank('10.0.0.10') });
    const b = cand({ peerAddressRank: addressRank('10.0.0.9') });
    expect(selectBest([a, b])).toEqual({ index: 1, step: 'peerAddress' });
    expect(addressRank('fd00::2') < addressRank('fd00::10')).toBe(true);
  });

  it('falls back to the lowest path id among paths of one peer', () => {
    expect(selectBest([cand({ pathId: 7 }), cand({ pathId: 3 })])).toEqual({ index: 1, step: 'pathId' });
  });

  it('applies the steps in order: LOCAL_PREF outranks a shorter path', () => {
    const shortLow = cand({ attrs: { localPref: 90, asPath: [] } });
    const longHigh = cand({ attrs: { localPref: 110, asPath: [{ type: 2, asns: [1, 2, 3, 4] }] } });
    expect(selectBest([shortLow, longHigh]).index).toBe(1);
  });
});

describe('attribute-set keys', () => {
  it('equal sets share a key regardless of field order; any differing field separates them', async () => {
    const { attrsKey } = await import('../../daemon/rib/attrs.js');
    const base = { origin: 0, asPath: [{ type: 2, asns: [65001] }], unknown: [], nextHop: '10.0.0.1', med: 5 } as RouteAttrs;
    const reordered = { med: 5, nextHop: '10.0.0.1', unknown: [], asPath: [{ type: 2, asns: [65001] }], origin: 0 } as RouteAttrs;
    expect(attrsKey(base)).toBe(attrsKey(reordered));
    const variants: Partial<RouteAttrs>[] = [
      { origin: 1 }, { asPath: [{ type: 1, asns: [65001] }] }, { nextHop: '10.0.0.2' }, { med: 6 }, { localPref: 100 },
      { communities: [1] }, { largeCommunities: [[1, 2, 3]] }, { originatorId: '1.1.1.1' }, { clusterList: ['1.1.1.1'] },
      { unknown: [{ flags: 0xc0, code: 99, value: Uint8Array.from([1]) }] }, { local: 'block' }, { extCommunities: [1n] },
      { aggregator: { asn: 1, address: '1.1.1.1' } }, { atomicAggregate: true }, { nextHopLinkLocal: 'fe80::1' },
      { futureField: 1 } as unknown as Partial<RouteAttrs>,
    ];
    const keys = new Set(variants.map((v) => attrsKey({ ...base, ...v } as RouteAttrs)));
    expect(keys.size).toBe(variants.length);
    expect(keys.has(attrsKey(base))).toBe(false);
  });
});
