/**
 * Resource bounds a hostile peer must not get around: a slow-loris peer that sends one byte a
 * second is dropped at hold time; oversize messages and endless junk end that session at the
 * first header, with the prescribed NOTIFICATION; a well-behaved session on the same listener
 * is untouched by all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKeepalive, fromHex } from '../../proto/index.js';
import { establish, LiveTarget, livePeerIntent, OFFERS, waitUntil, type Established } from '../../tools/fuzz/live.js';

const base = 150 + (process.pid % 50);
const FUZZ = `127.0.${base}.2`;
const SLOW = `127.0.${base}.4`;
const WITNESS = `127.0.${base}.3`;
const AS4 = OFFERS[0]?.caps ?? [];
const MARKER = 'ff'.repeat(16);

let target: LiveTarget;
let witness: Established;
let witnessKeepalives: ReturnType<typeof setInterval>;

beforeAll(async () => {
  target = await LiveTarget.start({
    extendedMessage: true,
    peers: [livePeerIntent(FUZZ), livePeerIntent(SLOW, { holdTime: 3 }), livePeerIntent(WITNESS, { holdTime: 9 })],
  });
  witness = await establish(target, WITNESS, AS4, 9, '10.255.0.3');
  witnessKeepalives = setInterval(() => witness.peer.send(encodeKeepalive()), 1000);
});

afterAll(async () => {
  clearInterval(witnessKeepalives);
  witness?.peer.destroy();
  await target?.close();
});

function witnessUntouched(): void {
  expect(witness.peer.closed).toBe(false);
  expect(witness.peer.notifications()).toEqual([]);
  expect(target.status(WITNESS)?.bgpState).toBe('Established');
}

describe('slow-loris', () => {
  it('a peer sending one byte a second is dropped with Hold Timer Expired at the hold time', async () => {
    const s = await establish(target, SLOW, AS4, 3);
    expect(target.status(SLOW)?.holdTime).toBe(3);
    const started = Date.now();
    const keepalive = encodeKeepalive();
    let i = 0;
    // Each byte is part of a KEEPALIVE that never completes in time: partial messages must not feed the hold timer.
    const drip = setInterval(() => s.peer.send(keepalive.subarray(i % 19, (i++ % 19) + 1)), 1000);
    try {
      await waitUntil('the slow peer to be dropped', () => s.peer.closed, 8000);
    } finally {
      clearInterval(drip);
    }
    const took = Date.now() - started;
    expect(s.peer.notifications()).toEqual([{ code: 4, subcode: 0, data: '' }]);
    expect(took).toBeGreaterThanOrEqual(2500);
    expect(took).toBeLessThan(5000);
    expect(i).toBeGreaterThanOrEqual(2);
    witnessUntouched();
  });
});

describe('malformed ROUTE-REFRESH', () => {
  it('a ROUTE-REFRESH of 24 bytes is answered with 7/1 and the message as data (RFC 7313 §5)', async () => {
    const s = await establish(target, FUZZ, AS4);
    const bad = `${MARKER}0018050001000100`;
    s.peer.send(fromHex(bad));
    await waitUntil('close', () => s.peer.closed);
    expect(s.peer.notifications()).toEqual([{ code: 7, subcode: 1, data: bad }]);
    witnessUntouched();
  });
});

describe('oversize and junk', () => {
  it('a 4097-byte message on a normal session is refused at its header with 1/2 and the length', async () => {
    const s = await establish(target, FUZZ, AS4);
    s.peer.send(fromHex(`${MARKER}100102`));
    await waitUntil('close', () => s.peer.closed);
    expect(s.peer.notifications()).toEqual([{ code: 1, subcode: 2, data: '1001' }]);
    witnessUntouched();
  });

  it('megabytes of junk end the session at the first header, without buffering them', async () => {
    const s = await establish(target, FUZZ, AS4);
    const junk = new Uint8Array(4 << 20).fill(0x41);
    const heapBefore = process.memoryUsage().heapUsed;
    s.peer.send(junk);
    await waitUntil('close', () => s.peer.closed);
    expect(s.peer.notifications()).toEqual([{ code: 1, subcode: 1, data: '' }]);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 << 20);
    witnessUntouched();
  });

  it('a maximum extended message (65535 bytes) is accepted only when extended messages were negotiated', async () => {
    const ext = OFFERS.find((o) => o.name === 'extended')?.caps ?? [];
    const s = await establish(target, FUZZ, ext);
    expect(s.ctx.extendedMessage).toBe(true);
    // An UPDATE of 65535 bytes: one unknown optional transitive attribute (extended length) fills it.
    const full = new Uint8Array(65535);
    const attrLen = full.length - 23;
    const valueLen = attrLen - 4;
    full.set(fromHex(`${MARKER}ffff020000`));
    full.set([attrLen >> 8, attrLen & 255, 0xd0, 0xfe, valueLen >> 8, valueLen & 255], 21);
    const before = target.engine.updates.get(target.status(FUZZ)?.name ?? '') ?? 0;
    s.peer.send(full);
    await waitUntil('the engine to get it', () => (target.engine.updates.get(target.status(FUZZ)?.name ?? '') ?? 0) > before);
    // Still up: a ROUTE-REFRESH reaching the engine after it proves the UPDATE was taken whole.
    const refreshes = () => target.engine.refreshes.get(target.status(FUZZ)?.name ?? '')?.length ?? 0;
    const r0 = refreshes();
    s.peer.send(fromHex(`${MARKER}00170500010001`));
    await waitUntil('the probe', () => refreshes() > r0 || s.peer.closed);
    expect(s.peer.closed).toBe(false);
    expect(s.peer.notifications()).toEqual([]);
    s.peer.destroy();
    await waitUntil('closed', () => target.status(FUZZ)?.bgpState !== 'Established');

    const plain = await establish(target, FUZZ, AS4);
    plain.peer.send(full);
    await waitUntil('close', () => plain.peer.closed);
    expect(plain.peer.notifications()).toEqual([{ code: 1, subcode: 2, data: 'ffff' }]);
    witnessUntouched();
  });
});
