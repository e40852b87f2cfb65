import { describe, expect, it } from 'vitest';
import { ChunkFramer, MsgType, benchOpen, ipv4EndOfRib, walkUpdate } from '../../tools/bench/wire.js';
import { encodeTable, TABLE_BASE } from '../../tools/bench/table.js';
import { PrefixCounter } from '../../tools/bench/peer.js';

function framesOf(chunks: readonly Uint8Array[], splitEvery: number): Array<{ type: number; bytes: Uint8Array }> {
  const framer = new ChunkFramer();
  const out: Array<{ type: number; bytes: Uint8Array }> = [];
  for (const c of chunks) {
    for (let o = 0; o < c.length; o += splitEvery) {
      framer.push(c.subarray(o, Math.min(c.length, o + splitEvery)), (type, msg, end) => out.push({ type, bytes: msg.slice(0, end) }));
    }
  }
  return out;
}

describe('bench table encoding', () => {
  it('packs N prefixes into UPDATEs that a counting reader reads back exactly once each', () => {
    const table = encodeTable({ prefixes: 5000, perSet: 5000, nextHop: 0x0ac80002, asPath: [65000] });
    const frames = framesOf(table.chunks, 1 << 20);
    expect(frames).toHaveLength(table.updates);
    expect(frames.every((f) => f.type === MsgType.UPDATE && f.bytes.length <= 4096)).toBe(true);
    const counter = new PrefixCounter();
    for (const f of frames) walkUpdate(f.bytes, 19, f.bytes.length, (a, l, ann) => counter.apply(a, l, ann));
    expect(counter.count).toBe(5000);
    expect(table.attrSets).toBe(1);
    // Many NLRI per UPDATE, as full tables arrive: 4 bytes per /24, so roughly a thousand per message.
    expect(table.updates).toBeLessThan(10);
  });

  it('gives every group of perSet prefixes its own attribute set', () => {
    const table = encodeTable({ prefixes: 1000, perSet: 4, nextHop: 1, asPath: [] , localPref: 100 });
    expect(table.attrSets).toBe(250);
    expect(table.updates).toBe(250);
  });

  it('frames messages split at any byte boundary', () => {
    const table = encodeTable({ prefixes: 300, perSet: 7, nextHop: 1, asPath: [65000] });
    const whole = framesOf(table.chunks, 1 << 20);
    const split = framesOf(table.chunks, 13);
    expect(split.map((f) => Buffer.from(f.bytes).toString('hex'))).toEqual(whole.map((f) => Buffer.from(f.bytes).toString('hex')));
  });

  it('recognises End-of-RIB and counts withdrawals', () => {
    const eor = ipv4EndOfRib();
    expect(walkUpdate(eor, 19, eor.length, () => undefined)).toBe(true);
    const counter = new PrefixCounter();
    counter.apply(TABLE_BASE, 24, true);
    counter.apply(TABLE_BASE, 24, true);
    counter.apply(0x0a300000, 26, true);
    expect(counter.count).toBe(2);
    counter.apply(TABLE_BASE, 24, false);
    expect(counter.count).toBe(1);
  });

  it('encodes an OPEN with the 4-octet AS capability and AS_TRANS for a large AS', () => {
    const open = benchOpen({ asn: 4200000000, holdTime: 90, routerId: 0x0a000001 });
    expect(open[18]).toBe(MsgType.OPEN);
    expect((open[20]! << 8) | open[21]!).toBe(23456);
    const hex = Buffer.from(open).toString('hex');
    expect(hex).toContain('4104fa56ea00'); // capability 65, length 4, 4200000000
  });
});
