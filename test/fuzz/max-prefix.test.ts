/**
 * Per-peer max prefixes through the daemon's real route engine (RibBridge + RIB + mock sink):
 * a peer that announces more than its limit is reset with Cease 6/1 (Maximum number of prefixes
 * reached), one below the limit is not, and the other session on the daemon stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeKeepalive, encodeUpdate, defaultCodecContext } from '../../proto/index.js';
import { establish, LiveTarget, livePeerIntent, OFFERS, waitUntil, type Established } from '../../tools/fuzz/live.js';

const base = 200 + (process.pid % 50);
const GREEDY = `127.0.${base}.2`;
const WITNESS = `127.0.${base}.3`;
const AS4 = OFFERS[0]?.caps ?? [];

let target: LiveTarget;
let witness: Established;
let keepalives: ReturnType<typeof setInterval>;

beforeAll(async () => {
  target = await LiveTarget.start({ rib: true, peers: [livePeerIntent(GREEDY, { maxPrefixes: 3 }), livePeerIntent(WITNESS, { holdTime: 9 })] });
  witness = await establish(target, WITNESS, AS4, 9, '10.255.0.3');
  keepalives = setInterval(() => witness.peer.send(encodeKeepalive()), 1000);
});

afterAll(async () => {
  clearInterval(keepalives);
  witness?.peer.destroy();
  await target?.close();
});

/** An UPDATE announcing `n` /24s from 192.168.0.0 with next hop `nh`. */
function announce(n: number, first: number, nh: string): Uint8Array {
  const nlri = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    nlri[2 * i] = (0xc0a80000 + (first + i) * 256) >>> 0;
    nlri[2 * i + 1] = 24;
  }
  return encodeUpdate({ withdrawn: new Uint32Array(0), attrs: { origin: 0, asPath: [], nextHop: nh, localPref: 100, unknown: [] }, nlri }, defaultCodecContext());
}

describe('max prefixes (Cease 6/1)', () => {
  it('keeps a peer at its limit and resets it with 6/1 one prefix over', async () => {
    const s = await establish(target, GREEDY, AS4);
    s.peer.send(announce(3, 0, GREEDY));
    const name = target.status(GREEDY)?.name ?? '';
    await waitUntil('the UPDATE to reach the engine', () => (target.engine.updates.get(name) ?? 0) >= 1);
    await target.rib?.settled();
    expect(target.rib?.counters(name).imported).toBe(3);
    expect(s.peer.closed).toBe(false);
    s.peer.send(announce(1, 10, GREEDY));
    await waitUntil('the greedy peer to be reset', () => s.peer.closed, 5000);
    expect(s.peer.notifications()).toEqual([{ code: 6, subcode: 1, data: '' }]);
    expect(target.status(GREEDY)?.lastError).toEqual({ errorClass: 'BGP Error', message: 'Maximum number of prefixes reached' });
    expect(witness.peer.closed).toBe(false);
    expect(target.status(WITNESS)?.bgpState).toBe('Established');
    expect(target.ribErrors).toEqual([]);
  });
});
