import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BgpError, bgpMessagesFromCapture, concatBytes, encodeKeepalive, encodeNotification, fromHex, MessageFramer, toHex } from '../../proto/index.js';

const pcap = new Uint8Array(readFileSync(join(import.meta.dirname, '../../../shared/fixtures/bird2-wire/session.pcap')));
const fixtures = bgpMessagesFromCapture(pcap).map((m) => m.bytes);


/** Feeds `stream` cut at `cuts` and returns every message the framer yields, as hex. */
function frame(stream: Uint8Array, cuts: number[], opts?: { extendedMessage?: boolean }): string[] {
  const f = new MessageFramer(opts);
  const out: string[] = [];
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    f.push(stream.subarray(prev, c));
    prev = c;
    for (let m = f.next(); m; m = f.next()) out.push(toHex(m));
  }
  return out;
}

function thrown(fn: () => unknown): BgpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
  throw new Error('expected a BgpError');
}

describe('MessageFramer', () => {
  it('yields every fixture message whole when it arrives split at any byte boundary', () => {
    expect(fixtures).toHaveLength(23);
    for (const msg of fixtures) {
      for (let cut = 0; cut <= msg.length; cut++) expect(frame(msg, [cut])).toEqual([toHex(msg)]);
    }
  });

  it('yields the whole session stream in order for every single cut point and for one-byte chunks', () => {
    const stream = concatBytes(fixtures);
    const expected = fixtures.map(toHex);
    for (let cut = 0; cut <= stream.length; cut++) expect(frame(stream, [cut])).toEqual(expected);
    expect(frame(stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('joins a header cut by a read boundary when the rest arrives, so next() reads every header in place', () => {
    const stream = concatBytes(fixtures);
    const second = fixtures[0]!.length;
    const f = new MessageFramer();
    f.push(stream.subarray(0, second + 10));
    expect(toHex(f.next()!)).toBe(toHex(fixtures[0]!));
    expect(f.next()).toBeNull();
    const before = f.copiedBytes;
    // Ten bytes of the second header wait; the next read (a big one, queued as it is) brings the
    // rest: the header's 19 bytes are copied once, at push.
    const rest = stream.subarray(second + 10);
    expect(rest.length).toBeGreaterThan(512 + 9);
    f.push(rest);
    expect(f.copiedBytes - before).toBe(19);
    expect(f.bufferedBytes).toBe(stream.length - second);
    const out: string[] = [];
    for (let m = f.next(); m; m = f.next()) out.push(toHex(m));
    expect(out).toEqual(fixtures.slice(1).map(toHex));
  });

  it('yields the stream for any random set of cuts', () => {
    const stream = concatBytes(fixtures);
    const expected = fixtures.map(toHex);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(frame(stream, cuts.sort((a, b) => a - b))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('hands out messages of Buffer chunks as plain views of the same bytes, whatever the chunk offset', () => {
    const stream = concatBytes(fixtures);
    // A Buffer from a pool (non-zero byteOffset), as a socket delivers them.
    const pool = Buffer.alloc(stream.length + 7);
    pool.set(stream, 7);
    const chunk = pool.subarray(7);
    const f = new MessageFramer();
    f.push(chunk);
    const out: Uint8Array[] = [];
    for (let m = f.next(); m; m = f.next()) out.push(m);
    expect(out.map(toHex)).toEqual(fixtures.map(toHex));
    expect(Buffer.isBuffer(out[0])).toBe(false);
    expect(out[0]!.buffer).toBe(pool.buffer);
    expect(out[1]!.byteOffset).toBe(chunk.byteOffset + fixtures[0]!.length);
  });

  it('returns null until a whole message is buffered and keeps the remainder', () => {
    const f = new MessageFramer();
    const ka = encodeKeepalive();
    f.push(ka.subarray(0, 18));
    expect(f.next()).toBeNull();
    f.push(concatBytes([ka.subarray(18), ka.subarray(0, 5)]));
    expect(toHex(f.next()!)).toBe(toHex(ka));
    expect(f.next()).toBeNull();
    expect(f.bufferedBytes).toBe(5);
  });

  it('bad marker → 1/1 Connection not synchronized, no data', () => {
    const bad = encodeKeepalive();
    bad[3] = 0;
    const f = new MessageFramer();
    f.push(bad);
    const e = thrown(() => f.next());
    expect([e.code, e.subcode, toHex(e.data), e.handling]).toEqual([1, 1, '', 'session-reset']);
    expect(e.message).toBe('Connection not synchronized');
  });

  const header = (len: number, type: number) => fromHex(`${'ff'.repeat(16)}${len.toString(16).padStart(4, '0')}${type.toString(16).padStart(2, '0')}`);

  it.each([
    ['below 19', 18, 4, '0012'],
    ['above 4096', 4097, 2, '1001'],
    ['KEEPALIVE not 19', 20, 4, '0014'],
    ['OPEN below 29', 28, 1, '001c'],
    ['UPDATE below 23', 22, 2, '0016'],
    ['NOTIFICATION below 21', 20, 3, '0014'],
    ['ROUTE-REFRESH below 23', 22, 5, '0016'],
  ])('length %s → 1/2 Bad message length with the length as data', (_name, len, type, data) => {
    const f = new MessageFramer();
    f.push(header(len, type));
    const e = thrown(() => f.next());
    expect([e.code, e.subcode, toHex(e.data)]).toEqual([1, 2, data]);
    expect(toHex(encodeNotification(e.code, e.subcode, e.data))).toBe(`${'ff'.repeat(16)}0017030102${data}`);
  });

  it('accepts up to 65535 bytes once extended messages are on (RFC 8654)', () => {
    const f = new MessageFramer();
    f.push(header(5000, 2));
    expect(thrown(() => f.next()).subcode).toBe(2);
    const g = new MessageFramer({ extendedMessage: false });
    g.setExtendedMessage(true);
    const big = concatBytes([header(5000, 2), new Uint8Array(5000 - 19)]);
    g.push(big);
    expect(g.next()?.length).toBe(5000);
  });

  it('unknown type → 1/3 Bad message type with the type as data', () => {
    const f = new MessageFramer();
    f.push(header(19, 6));
    const e = thrown(() => f.next());
    expect([e.code, e.subcode, toHex(e.data)]).toEqual([1, 3, '06']);
  });
});
