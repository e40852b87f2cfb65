/**
 * Regression (issue 8, finding 3, after tools/fuzz/known.ts outboundQueueRepro): a peer that keeps
 * its session but stops reading. Petrel used to queue everything the route engine sent, without
 * bound. Now, past maxUnsentBytes, the session is dropped with Cease 6/8 (Out of resources), the
 * route engine is told the peer is down, and the peer is ready for a new session.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { pino } from 'pino';
import { PeerSession } from '../../daemon/session/peer.js';
import { peerIntent, RecordingEngine, ScriptedPeer } from './helpers.js';
import { waitUntil } from '../../tools/fuzz/live.js';

/** A valid 4096-byte UPDATE withdrawing /32s, as outboundQueueRepro sends. */
function bigUpdate(): Uint8Array {
  const update = new Uint8Array(4096);
  update.fill(0xff, 0, 16);
  update.set([0x10, 0x00, 2, (4096 - 23) >> 8, (4096 - 23) & 255], 16);
  for (let o = 21; o + 5 <= 4096 - 2; o += 5) update.set([32, 10, 0, (o >> 8) & 255, o & 255], o);
  update.set([0, 0], 4094);
  return update;
}

const LIMIT = 2 ** 20;

describe('a peer that stops reading', () => {
  const peerIp = `127.0.${90 + (process.pid % 30)}.2`;
  const engine = new RecordingEngine();
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const session = new PeerSession(peerIntent(peerIp, { passive: true, errorWaitTime: [0.05, 0.1] }), {
    local: { routerId: '10.255.0.1' },
    engine,
    log,
    maxUnsentBytes: LIMIT,
    lingerMs: 10_000,
  });
  const server = net.createServer((s) => {
    if (!session.accept(s)) s.destroy();
  });
  const peers: ScriptedPeer[] = [];

  afterAll(async () => {
    for (const p of peers) p.socket.destroy();
    await session.stop();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('is dropped with Cease 6/8 once the unsent data passes the bound; the engine sees it down', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    session.start();
    const peer = await ScriptedPeer.connect('127.0.0.1', port, peerIp);
    peers.push(peer);
    peer.sendOpen(240, 64512, '10.9.9.9');
    await waitUntil('our OPEN', () => peer.types().includes(1), 5000);
    peer.sendKeepalive();
    await waitUntil('Established', () => engine.ups.length === 1, 5000);
    const up = engine.ups[0];
    if (!up) throw new Error('no session');

    peer.socket.pause();
    const update = bigUpdate();
    let accepted = 0;
    let refused = 0;
    // 64 MiB offered: far past the 1 MiB bound plus whatever the kernel's socket buffers absorb.
    for (let i = 0; i < 64 * 256; i++) {
      if (up.send(update.slice())) accepted += update.length;
      else refused++;
    }
    // Once the bound is passed nothing more is accepted.
    expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(64 * 2 ** 20);
    await waitUntil('peer-down', () => engine.downs.length === 1, 5000);
    expect(engine.downs[0]?.peer).toBe(session.name);
    expect(session.status().bgpState).not.toBe('Established');
    expect(session.status().lastError).toEqual({ errorClass: 'BGP Error', message: expect.stringMatching(/resources/i) });
    expect(up.send(update.slice())).toBe(false);
    expect(logLines.some((l) => l.includes('unsent data over the limit'))).toBe(true);

    // The peer reads again: it gets the queued UPDATEs, then the Cease 6/8, then the close.
    peer.socket.resume();
    await waitUntil('the close', () => peer.closed, 8000);
    const last = peer.received.at(-1);
    expect([last?.[18], last?.[19], last?.[20]]).toEqual([3, 6, 8]);
    // Everything before the NOTIFICATION was whole UPDATEs that were accepted (after OPEN, KEEPALIVE).
    const updates = peer.received.filter((m) => m[18] === 2).length;
    expect(updates * update.length).toBe(accepted);
  });

  it('the peer is back to waiting and can establish a new session', async () => {
    await waitUntil('Passive again', () => session.status().bgpState === 'Passive', 5000);
    const port = (server.address() as net.AddressInfo).port;
    const peer = await ScriptedPeer.connect('127.0.0.1', port, peerIp);
    peers.push(peer);
    peer.sendOpen(240, 64512, '10.9.9.9');
    await waitUntil('our OPEN', () => peer.types().includes(1), 5000);
    peer.sendKeepalive();
    await waitUntil('Established again', () => engine.ups.length === 2, 5000);
    expect(engine.ups[1]?.send(bigUpdate())).toBe(true);
  });
});
