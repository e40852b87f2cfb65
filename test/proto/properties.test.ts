/** Property-based round trips over random valid messages, and robustness against random bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BgpError,
  type Capability,
  type CodecContext,
  type PathAttributes,
  type AsPathSegment,
  type UpdateMessage,
  decodeMessage,
  encodeMessage,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdates,
  encodeWithdrawals,
  formatIpv4,
  formatIpv6,
  maskOf,
  maskWords6,
} from '../../proto/index.js';
import { ctx2, ctx4, ctxAddPath, msg } from './vectors.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = u32.map(formatIpv4);
/** Usable next hops: not 0.0.0.0, not multicast or class E (RFC 4271 §6.3). */
const unicastIpv4 = fc.integer({ min: 0x01000000, max: 0xdfffffff }).map(formatIpv4);
const ipv6 = fc.tuple(u32, u32, u32, u32).map(formatIpv6);

const prefixes4 = fc
  .uniqueArray(fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([a, l]) => [(a & maskOf(l)) >>> 0, l] as const), {
    minLength: 1,
    maxLength: 2500,
    selector: ([a, l]) => a * 64 + l,
  })
  .map((list) => Uint32Array.from(list.flat()));

const prefixes6 = fc
  .array(fc.tuple(u32, u32, u32, u32, fc.integer({ min: 0, max: 128 })), { minLength: 1, maxLength: 600 })
  .map((list) => Uint32Array.from(list.flatMap(([a, b, c, d, l]) => [...maskWords6([a, b, c, d], l), l])));

/** AS paths an RFC 6793 round trip can preserve: confederation segments first, no two sequences adjacent. */
function asPath(asn: fc.Arbitrary<number>, confedAsn: fc.Arbitrary<number>): fc.Arbitrary<AsPathSegment[]> {
  const seg = (types: (1 | 2 | 3 | 4)[], a: fc.Arbitrary<number>) =>
    fc.record({ type: fc.constantFrom(...types), asns: fc.array(a, { minLength: 1, maxLength: 12 }) });
  return fc.tuple(fc.array(seg([3, 4], confedAsn), { maxLength: 2 }), fc.array(seg([1, 2], asn), { maxLength: 5 })).map(([confed, rest]) => {
    const out: AsPathSegment[] = [...confed];
    for (const s of rest) {
      const last = out[out.length - 1];
      if (last && last.type === 2 && s.type === 2) last.asns.push(...s.asns);
      else out.push(s);
    }
    return out;
  });
}

function attributes(ctx: CodecContext): fc.Arbitrary<PathAttributes> {
  const asn = ctx.as4 ? u32 : fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 65536, max: 0xffffffff }));
  const confedAsn = ctx.as4 ? u32 : fc.integer({ min: 1, max: 65535 });
  const unknownCodes = fc.uniqueArray(fc.integer({ min: 40, max: 255 }).filter((c) => c !== 32), { maxLength: 3 });
  return fc
    .record(
      {
        origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
        asPath: asPath(asn, confedAsn),
        nextHop: unicastIpv4,
        med: u32,
        localPref: u32,
        atomicAggregate: fc.constant(true),
        // On a 2-octet session an aggregator with a real 2-octet AS voids AS4_PATH (RFC 6793 §4.2.3).
        aggregator: fc.record({ asn: ctx.as4 ? u32 : fc.integer({ min: 65536, max: 0xffffffff }), address: ipv4 }),
        communities: fc.array(u32, { minLength: 1, maxLength: 80 }),
        extCommunities: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 5 }),
        largeCommunities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 5 }),
        originatorId: ipv4,
        clusterList: fc.array(ipv4, { minLength: 1, maxLength: 4 }),
        unknown: unknownCodes.chain((codes) =>
          fc.tuple(...codes.sort((a, b) => a - b).map((code) => fc.uint8Array({ maxLength: 300 }).map((value) => ({ flags: 0xe0, code, value })))),
        ),
      },
      { requiredKeys: ['origin', 'asPath', 'nextHop', 'unknown'] },
    )
    .map((a) => a as PathAttributes);
}

function decodedUpdates(msgs: Uint8Array[], ctx: CodecContext): UpdateMessage[] {
  return msgs.map((m) => {
    expect(m.length).toBeLessThanOrEqual(ctx.extendedMessage ? 65535 : 4096);
    const d = decodeMessage(m, ctx);
    if (d.type !== 'UPDATE') throw new Error('not an UPDATE');
    expect(d.errors).toEqual([]);
    return d;
  });
}

const joined = (parts: Uint32Array[]) => Uint32Array.from(parts.flatMap((p) => Array.from(p)));

describe('property: encodeUpdates → decodeMessage', () => {
  for (const [name, ctx] of [
    ['4-octet AS', ctx4],
    ['2-octet AS', ctx2],
    ['ADD-PATH', ctxAddPath],
    ['extended messages', { ...ctx4, extendedMessage: true }],
  ] as const) {
    it(`IPv4 (${name}): every prefix and the attribute set come back`, () => {
      fc.assert(
        fc.property(attributes(ctx), prefixes4, fc.boolean(), (attrs, prefixes, withIds) => {
          const ids = withIds ? Uint32Array.from({ length: prefixes.length / 2 }, (_, i) => i * 7) : undefined;
          const got = decodedUpdates(encodeUpdates(attrs, 1, prefixes, ctx, ids), ctx);
          for (const d of got) expect(d.attrs).toEqual(attrs);
          expect(joined(got.map((d) => d.nlri))).toEqual(prefixes);
          if (ctx.addPathTx.ipv4) expect(joined(got.map((d) => d.nlriPathIds!))).toEqual(ids ?? new Uint32Array(prefixes.length / 2));
        }),
        { numRuns: 60 },
      );
    });
  }

  it('IPv6 through MP_REACH_NLRI: prefixes, next hops and attributes come back', () => {
    fc.assert(
      fc.property(attributes(ctx4), prefixes6, ipv6, fc.option(ipv6, { nil: undefined }), (base, prefixes, nh, ll) => {
        const attrs: PathAttributes = { ...base, nextHop: nh };
        if (ll !== undefined) attrs.nextHopLinkLocal = ll;
        const got = decodedUpdates(encodeUpdates(attrs, 2, prefixes, ctx4), ctx4);
        const { nextHop: _a, nextHopLinkLocal: _b, ...rest } = attrs;
        for (const d of got) {
          expect(d.attrs).toEqual(rest);
          expect(d.mpReach?.nextHop).toEqual(ll !== undefined ? [nh, ll] : [nh]);
        }
        expect(joined(got.map((d) => d.mpReach!.nlri))).toEqual(prefixes);
      }),
      { numRuns: 60 },
    );
  });

  it('withdrawals of both families come back', () => {
    fc.assert(
      fc.property(prefixes4, prefixes6, (p4, p6) => {
        const w4 = decodedUpdates(encodeWithdrawals(1, p4, ctx4), ctx4);
        expect(joined(w4.map((d) => d.withdrawn))).toEqual(p4);
        const w6 = decodedUpdates(encodeWithdrawals(2, p6, ctx4), ctx4);
        expect(joined(w6.map((d) => d.mpUnreach!.withdrawn))).toEqual(p6);
        for (const d of [...w4, ...w6]) expect([d.attrs, d.endOfRib]).toEqual([null, undefined]);
      }),
      { numRuns: 60 },
    );
  });

  it('decode → encode gives back the same bytes', () => {
    fc.assert(
      fc.property(attributes(ctx2), prefixes4, (attrs, prefixes) => {
        for (const m of encodeUpdates(attrs, 1, prefixes, ctx2)) expect(encodeMessage(decodeMessage(m, ctx2), ctx2)).toEqual(m);
      }),
      { numRuns: 60 },
    );
  });
});

const family = fc.record({ afi: fc.constantFrom(1, 2, 25), safi: fc.constantFrom(1, 2, 128) });
const capability: fc.Arbitrary<Capability> = fc.oneof(
  family.map((f) => ({ kind: 'multiprotocol' as const, ...f })),
  fc.constant({ kind: 'routeRefresh' as const }),
  fc.constant({ kind: 'enhancedRouteRefresh' as const }),
  fc.constant({ kind: 'extendedMessage' as const }),
  u32.map((asn) => ({ kind: 'as4' as const, asn })),
  fc.record({
    kind: fc.constant('gracefulRestart' as const),
    restartState: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: fc.constantFrom(1, 2), safi: fc.constantFrom(1, 2), forwardingPreserved: fc.boolean() }), { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('addPath' as const),
    families: fc.array(fc.record({ afi: fc.constantFrom(1, 2), safi: fc.constant(1), sendReceive: fc.constantFrom(1 as const, 2 as const, 3 as const) }), { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('fqdn' as const), hostname: fc.string({ maxLength: 30 }), domain: fc.string({ maxLength: 30 }) }),
  fc.record({
    kind: fc.constant('llgr' as const),
    families: fc.array(fc.record({ afi: fc.constantFrom(1, 2), safi: fc.constant(1), forwardingPreserved: fc.boolean(), staleTime: fc.integer({ min: 0, max: 0xffffff }) }), { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('unknown' as const), code: fc.constantFrom(5, 7, 128, 131, 200), bytes: fc.uint8Array({ maxLength: 20 }) }),
);

describe('property: other messages', () => {
  it('OPEN round-trips with any capabilities (extended parameters included)', () => {
    fc.assert(
      fc.property(
        fc.record({ version: fc.constant(4), myAs: fc.integer({ min: 0, max: 65535 }), holdTime: fc.integer({ min: 0, max: 65535 }), bgpId: ipv4, capabilities: fc.array(capability, { maxLength: 40 }) }),
        (o) => {
          const d = decodeMessage(encodeOpen(o), ctx4);
          const as4 = o.capabilities.find((c) => c.kind === 'as4');
          expect(d).toEqual({ type: 'OPEN', ...o, ...(as4 && as4.kind === 'as4' ? { as4: as4.asn } : {}) });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('NOTIFICATION and ROUTE-REFRESH round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 100 }), (code, subcode, data) => {
        const d = decodeMessage(encodeNotification(code, subcode, data), ctx4);
        expect(d.type === 'NOTIFICATION' && [d.code, d.subcode, d.data]).toEqual([code, subcode, data]);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (afi, safi, subtype) => {
        expect(decodeMessage(encodeRouteRefresh(afi, safi, subtype), ctx4)).toEqual({ type: 'ROUTE-REFRESH', afi, safi, subtype });
      }),
    );
  });

  it('random bodies either decode or raise a BgpError, never anything else', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 5), fc.uint8Array({ minLength: 4, maxLength: 200 }), fc.constantFrom(ctx4, ctx2, ctxAddPath), (type, body, ctx) => {
        try {
          decodeMessage(msg(type, Buffer.from(body).toString('hex')), ctx);
        } catch (e) {
          expect(e).toBeInstanceOf(BgpError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
