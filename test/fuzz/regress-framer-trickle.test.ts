/**
 * Regression (issue 8, finding 2): a maximum extended message (RFC 8654, 65,535 bytes) arriving one
 * byte per read used to make the framer quadratic (one list entry per byte, shifted off one by
 * one). The bound here is on the framer's bookkeeping and copying, not on wall-clock time.
 */
import { describe, expect, it } from 'vitest';
import { MessageFramer } from '../../proto/framer.js';

/** An UPDATE-typed message of `length` bytes whose body is a recognisable byte pattern. */
function bigMessage(length: number): Uint8Array {
  const m = new Uint8Array(length);
  m.fill(0xff, 0, 16);
  m.set([length >> 8, length & 255, 2], 16);
  for (let i = 19; i < length; i++) m[i] = (i * 31) & 255;
  return m;
}

describe('framer fed one byte per read', () => {
  it('frames a 65,535-byte extended message exactly, with a short chunk list and linear copying', () => {
    const msg = bigMessage(65535);
    const f = new MessageFramer({ extendedMessage: true });
    let maxChunks = 0;
    const out: Uint8Array[] = [];
    for (let i = 0; i < msg.length; i++) {
      f.push(msg.subarray(i, i + 1));
      maxChunks = Math.max(maxChunks, f.chunkCount);
      const m = f.next();
      if (m) out.push(m.slice());
    }
    expect(out.length).toBe(1);
    expect(Buffer.from(out[0] as Uint8Array).equals(Buffer.from(msg))).toBe(true);
    expect(f.bufferedBytes).toBe(0);
    expect(f.chunkCount).toBe(0);
    // One list entry per 4 KiB of trickle, not one per byte.
    expect(maxChunks).toBeLessThanOrEqual(Math.ceil(65535 / 4096) + 1);
    // Each byte is copied a bounded number of times (into the coalescing buffer, into the message).
    expect(f.copiedBytes).toBeLessThanOrEqual(3 * 65535);
  });

  it('frames back-to-back messages trickled byte by byte, and a message handed out stays intact', () => {
    const a = bigMessage(5000);
    const b = bigMessage(19 + 4);
    b[19] = 0xaa;
    const stream = new Uint8Array(a.length + b.length + a.length);
    stream.set(a);
    stream.set(b, a.length);
    stream.set(a, a.length + b.length);
    const f = new MessageFramer({ extendedMessage: true });
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      f.push(stream.subarray(i, i + 1));
      for (let m = f.next(); m; m = f.next()) out.push(m); // views kept, not copied
    }
    expect(out.map((m) => m.length)).toEqual([5000, 23, 5000]);
    expect(Buffer.from(out[0] as Uint8Array).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(out[1] as Uint8Array).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(out[2] as Uint8Array).equals(Buffer.from(a))).toBe(true);
    expect(f.copiedBytes).toBeLessThanOrEqual(3 * stream.length);
  });

  it('many mid-sized reads between large ones keep the list bounded after each message', () => {
    const msg = bigMessage(65535);
    const f = new MessageFramer({ extendedMessage: true });
    let framed = 0;
    for (let round = 0; round < 20; round++) {
      for (let o = 0; o < msg.length; o += 700) {
        f.push(msg.subarray(o, Math.min(msg.length, o + 700)));
        const m = f.next();
        if (m) {
          framed++;
          expect(Buffer.from(m).equals(Buffer.from(msg))).toBe(true);
        }
      }
      expect(f.chunkCount).toBe(0);
    }
    expect(framed).toBe(20);
  });
});
