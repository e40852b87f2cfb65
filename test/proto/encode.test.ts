/** The RIB-facing encoders: packing many NLRI per UPDATE, per-set attribute caching, interning. */
import { describe, expect, it } from 'vitest';
import {
  AttributeTable,
  attributeKey,
  decodeMessage,
  encodedAttributes,
  encodeUpdates,
  encodeWithdrawals,
  type PathAttributes,
} from '../../proto/index.js';
import { ctx2, ctx4, ctxAddPath } from './vectors.js';

const attrs = (): PathAttributes => ({ origin: 0, asPath: [{ type: 2, asns: [64512, 65001] }], nextHop: '10.0.0.1', localPref: 100, communities: [1, 2], unknown: [] });
const slash24s = (n: number) => Uint32Array.from({ length: n * 2 }, (_, i) => (i % 2 === 0 ? (0x0a000000 + (i / 2) * 256) >>> 0 : 24));

describe('encodeUpdates packing', () => {
  it('fills each UPDATE up to 4096 bytes and splits the rest', () => {
    const msgs = encodeUpdates(attrs(), 1, slash24s(5000), ctx4);
    // 4 bytes per /24; the attributes take 42 bytes (ORIGIN 4, AS_PATH 13, NEXT_HOP 7, LOCAL_PREF 7, COMMUNITIES 11), the fixed part 23.
    const perMsg = Math.floor((4096 - 23 - 42) / 4);
    expect(msgs.map((m) => m.length)).toEqual([...Array(Math.floor(5000 / perMsg)).fill(23 + 42 + perMsg * 4), 23 + 42 + (5000 % perMsg) * 4]);
  });

  it('uses up to 65535 bytes with RFC 8654 extended messages', () => {
    const msgs = encodeUpdates(attrs(), 1, slash24s(20000), { ...ctx4, extendedMessage: true });
    expect(msgs).toHaveLength(2);
    expect(msgs[0]!.length).toBeGreaterThan(65535 - 4);
    expect(msgs[0]!.length).toBeLessThanOrEqual(65535);
  });

  it('packs IPv6 into MP_REACH_NLRI messages of at most 4096 bytes', () => {
    const p = Uint32Array.from({ length: 3000 * 5 }, (_, i) => (i % 5 === 0 ? 0x20010db8 : i % 5 === 1 ? (i / 5) << 8 : i % 5 === 4 ? 56 : 0));
    const a = { ...attrs(), nextHop: '2001:db8::1' };
    const msgs = encodeUpdates(a, 2, p, ctx4);
    expect(msgs.length).toBeGreaterThan(1);
    let total = 0;
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const d = decodeMessage(m, ctx4);
      total += d.type === 'UPDATE' ? d.mpReach!.nlri.length / 5 : 0;
    }
    expect(total).toBe(3000);
  });

  it('packs withdrawals, with path ids under ADD-PATH', () => {
    const p = slash24s(3000);
    const ids = Uint32Array.from({ length: 3000 }, (_, i) => i);
    const msgs = encodeWithdrawals(1, p, ctxAddPath, ids);
    const got = msgs.map((m) => decodeMessage(m, ctxAddPath)).flatMap((d) => (d.type === 'UPDATE' ? Array.from(d.withdrawnPathIds!) : []));
    expect(got).toEqual(Array.from(ids));
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(4096);
  });

  it('refuses IPv6 routes without an IPv6 next hop', () => {
    expect(() => encodeUpdates(attrs(), 2, Uint32Array.of(0x20010db8, 0, 0, 0, 32), ctx4)).toThrow(/IPv6 next hop/);
  });
});

describe('attribute sets', () => {
  it('encodes a set once per AS size and reuses the bytes', () => {
    const a = attrs();
    const first = encodedAttributes(a, true);
    expect(encodedAttributes(a, true)).toBe(first);
    expect(encodedAttributes(a, false)).not.toBe(first);
    expect(encodedAttributes(attrs(), true)).not.toBe(first);
  });

  it('interns equal sets to one id and keeps the first object', () => {
    const t = new AttributeTable();
    const a = attrs();
    const id = t.intern(a);
    expect(t.intern(attrs())).toBe(id);
    expect(t.intern({ ...attrs(), med: 5 })).not.toBe(id);
    expect(t.get(id)).toBe(a);
    expect(t.size).toBe(2);
  });

  it('keys IPv6 next hops, which live outside the attribute bytes', () => {
    const a = { ...attrs(), nextHop: '2001:db8::1' };
    expect(attributeKey(a)).not.toBe(attributeKey({ ...a, nextHop: '2001:db8::2' }));
    expect(attributeKey(a)).not.toBe(attributeKey({ ...a, nextHopLinkLocal: 'fe80::1' }));
    expect(attributeKey(attrs())).toBe(attributeKey(attrs()));
  });

  it('encodes 4-octet ASNs as AS_TRANS plus AS4_PATH only for 2-octet peers', () => {
    const a = { ...attrs(), asPath: [{ type: 2 as const, asns: [4200000000] }] };
    const m2 = encodeUpdates(a, 1, slash24s(1), ctx2)[0]!;
    const m4 = encodeUpdates(a, 1, slash24s(1), ctx4)[0]!;
    expect(m2.includes(0x11)).toBe(true);
    for (const [m, ctx] of [[m2, ctx2], [m4, ctx4]] as const) {
      const d = decodeMessage(m, ctx);
      expect(d.type === 'UPDATE' && d.attrs?.asPath).toEqual([{ type: 2, asns: [4200000000] }]);
    }
  });
});
