/**
 * What consecutive UPDATEs share after decoding: the AS path and the next-hop text of the previous
 * UPDATE when their bytes are the same (frozen, so nobody can change a path another UPDATE holds),
 * and an empty prefix field decodes with no copy. The values must be exactly those of a fresh decode.
 */
import { describe, expect, it } from 'vitest';
import { type CodecContext, decodeUpdate, defaultCodecContext, encodeUpdate, type PathAttributes } from '../../proto/index.js';
import { decodePrefixes4, writePrefix4 } from '../../proto/nlri.js';

const ctx4: CodecContext = defaultCodecContext();
const ctx2: CodecContext = { ...defaultCodecContext(), as4: false };

function updateBytes(attrs: PathAttributes, nlri: number[], ctx: CodecContext = ctx4): Uint8Array {
  return encodeUpdate({ withdrawn: new Uint32Array(0), attrs, nlri: Uint32Array.from(nlri) }, ctx);
}

const base: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001, 65002] }], nextHop: '192.0.2.1', med: 1, unknown: [] };

describe('decoded attribute sharing between UPDATEs', () => {
  it('shares one frozen AS path between UPDATEs with the same path bytes', () => {
    const a = decodeUpdate(updateBytes(base, [0x0a000000, 24]), ctx4);
    const b = decodeUpdate(updateBytes({ ...base, med: 2 }, [0x0a000100, 24]), ctx4);
    expect(b.attrs!.asPath).toBe(a.attrs!.asPath);
    expect(b.attrs!.asPath).toEqual([{ type: 2, asns: [65001, 65002] }]);
    expect(Object.isFrozen(b.attrs!.asPath)).toBe(true);
    expect(Object.isFrozen(b.attrs!.asPath[0]!.asns)).toBe(true);
    expect(() => (b.attrs!.asPath[0]!.asns as number[]).push(1)).toThrow();
    expect(b.attrs!.med).toBe(2);
  });

  it('decodes a different path (or the same bytes under another AS size) afresh', () => {
    const a = decodeUpdate(updateBytes(base, [0x0a000000, 24]), ctx4);
    const c = decodeUpdate(updateBytes({ ...base, asPath: [{ type: 2, asns: [65001, 65003] }] }, [0x0a000000, 24]), ctx4);
    expect(c.attrs!.asPath).not.toBe(a.attrs!.asPath);
    expect(c.attrs!.asPath).toEqual([{ type: 2, asns: [65001, 65003] }]);
    // 4 bytes of AS_PATH value: two 2-octet ASNs, or one 4-octet ASN.
    const four = decodeUpdate(updateBytes({ ...base, asPath: [{ type: 2, asns: [0x00010002] }] }, [0x0a000000, 24]), ctx4);
    expect(four.attrs!.asPath).toEqual([{ type: 2, asns: [0x00010002] }]);
    const two = decodeUpdate(updateBytes({ ...base, asPath: [{ type: 2, asns: [1, 2] }] }, [0x0a000000, 24], ctx2), ctx2);
    expect(two.attrs!.asPath).toEqual([{ type: 2, asns: [1, 2] }]);
    expect(decodeUpdate(updateBytes({ ...base, asPath: [] }, [0x0a000000, 24]), ctx4).attrs!.asPath).toEqual([]);
  });

  it('gives the next hop of each UPDATE, shared as text when it repeats', () => {
    const a = decodeUpdate(updateBytes(base, [0x0a000000, 24]), ctx4);
    const b = decodeUpdate(updateBytes({ ...base, nextHop: '198.51.100.7' }, [0x0a000000, 24]), ctx4);
    const c = decodeUpdate(updateBytes({ ...base, nextHop: '198.51.100.7' }, [0x0a000000, 24]), ctx4);
    expect(a.attrs!.nextHop).toBe('192.0.2.1');
    expect(b.attrs!.nextHop).toBe('198.51.100.7');
    expect(c.attrs!.nextHop).toBe('198.51.100.7');
  });

  it('gives an UPDATE with nothing to report shared empty lists, and one with something lists of its own', () => {
    const a = decodeUpdate(updateBytes(base, [0x0a000000, 24]), ctx4);
    const b = decodeUpdate(updateBytes({ ...base, med: 9 }, [0x0a000000, 24]), ctx4);
    expect(a.errors).toEqual([]);
    expect(a.discarded).toEqual([]);
    expect(a.attrs!.unknown).toEqual([]);
    expect(b.errors).toBe(a.errors);
    expect(Object.isFrozen(a.errors) && Object.isFrozen(a.discarded) && Object.isFrozen(a.attrs!.unknown)).toBe(true);
    // An unknown optional transitive attribute, then a missing NEXT_HOP: lists of their own.
    const withUnknown = decodeUpdate(updateBytes({ ...base, unknown: [{ flags: 0xc0, code: 99, value: Uint8Array.of(1) }] }, [0x0a000000, 24]), ctx4);
    expect(withUnknown.attrs!.unknown).toEqual([{ flags: 0xe0, code: 99, value: Uint8Array.of(1) }]);
    const { nextHop: _dropped, ...noHop } = base;
    const missing = decodeUpdate(updateBytes(noHop, [0x0a000000, 24]), ctx4);
    expect(missing.treatAsWithdraw).toBe(true);
    expect(missing.errors.map((e) => e.subcode)).toEqual([3]);
    expect(a.errors).toEqual([]);
    expect(decodeUpdate(updateBytes(base, [0x0a000000, 24]), ctx4).errors).toEqual([]);
  });

  it('decodes an empty prefix field as empty arrays (with path ids under ADD-PATH) and copies small ones out', () => {
    const b = Uint8Array.of(24, 10, 0, 1, 16, 172, 16);
    expect(decodePrefixes4(b, 0, 0, false)).toEqual({ prefixes: new Uint32Array(0) });
    expect(decodePrefixes4(b, 3, 3, true)).toEqual({ prefixes: new Uint32Array(0), pathIds: new Uint32Array(0) });
    const first = decodePrefixes4(b, 0, b.length, false).prefixes;
    expect([...first]).toEqual([0x0a000100, 24, 0xac100000, 16]);
    // A later decode must not change what an earlier one returned (no view of shared scratch).
    decodePrefixes4(Uint8Array.of(8, 99), 0, 2, false);
    expect([...first]).toEqual([0x0a000100, 24, 0xac100000, 16]);
    const many = new Uint8Array(4 * 40);
    for (let i = 0; i < 40; i++) many.set([24, 10, 0, i], 4 * i);
    const out = decodePrefixes4(many, 0, many.length, false).prefixes;
    expect(out.length).toBe(80);
    expect(out[78]).toBe(0x0a002700);
  });

  it('decodes a field of more prefixes than one decode run (700, every length 0-32, plain and ADD-PATH) exactly, and rejects a bad one past the first run', () => {
    const want: number[] = [];
    const ids: number[] = [];
    const plain = new Uint8Array(700 * 5);
    const withIds = new Uint8Array(700 * 9);
    let o = 0;
    let p = 0;
    for (let i = 0; i < 700; i++) {
      const len = i % 33;
      const addr = len === 0 ? 0 : ((0x0a000000 + i * 0x01010101) & (0xffffffff << (32 - len))) >>> 0;
      want.push(addr, len);
      ids.push(i + 1);
      o = writePrefix4(plain, o, addr, len);
      withIds.set([0, 0, (i + 1) >> 8, (i + 1) & 255], p);
      p = writePrefix4(withIds, p + 4, addr, len);
    }
    expect([...decodePrefixes4(plain, 0, o, false).prefixes]).toEqual(want);
    const d = decodePrefixes4(withIds, 0, p, true);
    expect([...d.prefixes]).toEqual(want);
    expect([...(d.pathIds ?? [])]).toEqual(ids);
    // A length of 33 as the 600th prefix: malformed, as in the first run.
    const bad = plain.slice(0, o);
    let q = 0;
    for (let i = 0; i < 599; i++) q += 1 + (((i % 33) + 7) >> 3);
    bad[q] = 33;
    expect(() => decodePrefixes4(bad, 0, o, false)).toThrow(/prefix length 33/);
  });

  it('carries nothing of one UPDATE into the next (MP_REACH, errors, AS4 merging): each decodes as it does first in a fresh run', () => {
    const mp = encodeUpdate({ withdrawn: new Uint32Array(0), attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '2001:db8::1', unknown: [] }, nlri: new Uint32Array(0), mpReach: { afi: 2, safi: 1, nextHop: ['2001:db8::1'], nlri: Uint32Array.of(0x20010db8, 0, 0, 0, 32) } }, ctx4);
    const { nextHop: _dropped, ...noHop } = base;
    const messages: [Uint8Array, CodecContext][] = [
      [mp, ctx4],
      [updateBytes(base, [0x0a000000, 24]), ctx4],
      [updateBytes(noHop, [0x0a000000, 24]), ctx4],
      [updateBytes({ ...base, asPath: [{ type: 2, asns: [65001, 4200000000] }] }, [0x0a000100, 24], ctx2), ctx2],
      [updateBytes(base, [0x0a000200, 24], ctx2), ctx2],
      [updateBytes({ ...base, unknown: [{ flags: 0xc0, code: 99, value: Uint8Array.of(1) }] }, [0x0a000300, 24]), ctx4],
      [updateBytes(base, [0x0a000400, 24]), ctx4],
    ];
    // Alone: each message decoded after a neutral one; in sequence: after the message before it.
    const alone = messages.map(([m, c]) => {
      decodeUpdate(updateBytes({ ...base, asPath: [{ type: 2, asns: [1] }] }, [0x0b000000, 24]), ctx4);
      return decodeUpdate(m, c);
    });
    const inSequence = messages.map(([m, c]) => decodeUpdate(m, c));
    expect(inSequence).toEqual(alone);
    expect(inSequence[0]!.mpReach?.afi).toBe(2);
    expect(inSequence[1]!.mpReach).toBeUndefined();
    expect(inSequence[2]!.errors).toHaveLength(1);
    expect(inSequence[3]!.attrs!.asPath).toEqual([{ type: 2, asns: [65001, 4200000000] }]);
    expect(inSequence[4]!.attrs!.asPath).toEqual(base.asPath);
    expect(inSequence[6]!.errors).toEqual([]);
    expect(inSequence[6]!.attrs!.unknown).toEqual([]);
  });
});
