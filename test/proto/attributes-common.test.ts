import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAttributeParts, type PathAttributes } from '../../proto/attributes.js';
import { encodeCommonAttributes } from '../../proto/attributes-common.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const quad = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((q) => q.join('.'));
const segment = fc.record({ type: fc.constantFrom(1, 2, 3, 4), asns: fc.array(u32, { minLength: 1, maxLength: 300 }) });

const commonSet: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2),
    asPath: fc.array(segment, { maxLength: 3 }),
    nextHop: fc.oneof(quad, fc.constant('2001:db8::1')),
    med: u32,
    localPref: u32,
    atomicAggregate: fc.boolean(),
    communities: fc.array(u32, { maxLength: 70 }),
    originatorId: quad,
    clusterList: fc.array(quad, { maxLength: 70 }),
    unknown: fc.constant([]),
  },
  { requiredKeys: ['origin', 'asPath', 'unknown'] },
) as fc.Arbitrary<PathAttributes>;

describe('encodeCommonAttributes', () => {
  it('writes exactly the bytes of encodeAttributeParts for the sets it covers', () => {
    fc.assert(
      fc.property(commonSet, (a) => {
        const fast = encodeCommonAttributes(a, true);
        const slow = encodeAttributeParts(a, true);
        expect(fast).toBeDefined();
        expect(Buffer.from(fast!.below).toString('hex')).toBe(Buffer.from(slow.below).toString('hex'));
        expect(fast!.above.length).toBe(slow.above.length);
      }),
      { numRuns: 400 },
    );
  });

  it('declines what it does not cover, so the caller falls back to the general encoder', () => {
    const base: PathAttributes = { origin: 0, asPath: [], unknown: [] };
    expect(encodeCommonAttributes(base, false)).toBeUndefined();
    expect(encodeCommonAttributes({ ...base, aggregator: { asn: 1, address: '192.0.2.1' } }, true)).toBeUndefined();
    expect(encodeCommonAttributes({ ...base, largeCommunities: [[1, 2, 3]] }, true)).toBeUndefined();
    expect(encodeCommonAttributes({ ...base, extCommunities: [1n] }, true)).toBeUndefined();
    expect(encodeCommonAttributes({ ...base, unknown: [{ flags: 0xc0, code: 99, value: new Uint8Array([1]) }] }, true)).toBeUndefined();
  });

  it('throws on a next hop that is not an address, as the general encoder does', () => {
    const bad: PathAttributes = { origin: 0, asPath: [], nextHop: '300.1.2.3', unknown: [] };
    expect(() => encodeAttributeParts(bad, true)).toThrow();
    expect(() => encodeCommonAttributes(bad, true)).toThrow();
  });
});
