import * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorWait, jittered, TimerSet } from '../../daemon/session/timers.js';
import { parseNotification } from '../../daemon/session/wire.js';
import { freePort, peerIntent, ScriptedPeer, Speaker, until } from './helpers.js';

describe('RFC 4271 §10 jitter', () => {
  it('subtracts between 0 and 25 %', () => {
    expect(jittered(80, () => 0)).toBe(80);
    expect(jittered(80, () => 0.999999)).toBeCloseTo(60, 3);
    for (let i = 0; i < 100; i++) {
      const v = jittered(5);
      expect(v).toBeGreaterThanOrEqual(3.75);
      expect(v).toBeLessThanOrEqual(5);
    }
  });
});

describe('error wait', () => {
  it('doubles from min to max on repeated errors and forgets after a quiet spell', () => {
    let now = 0;
    const w = new ErrorWait(5, 30, 300_000, () => now);
    const seq = [w.next(), w.next(), w.next(), w.next(), w.next()];
    expect(seq).toEqual([5, 10, 20, 30, 30]);
    now += 300_001;
    expect(w.next()).toBe(5);
    w.reset();
    expect(w.next()).toBe(5);
  });
});

describe('TimerSet with fake clocks', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires once after the duration, restarts on start, reports remaining/configured', () => {
    const t = new TimerSet<'hold' | 'keepalive'>();
    const fired: string[] = [];
    t.start('hold', 3, () => fired.push('hold'));
    vi.advanceTimersByTime(2000);
    expect(t.remaining('hold')).toEqual({ left: 1, configured: 3 });
    t.start('hold', 3, () => fired.push('hold')); // a KEEPALIVE arrived: restart
    vi.advanceTimersByTime(2999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['hold']);
    expect(t.isRunning('hold')).toBe(false);
  });

  it('treats 0 as disabled and applies jitter when asked', () => {
    const t = new TimerSet<'keepalive'>();
    const fired: number[] = [];
    t.start('keepalive', 0, () => fired.push(1));
    expect(t.isRunning('keepalive')).toBe(false);
    t.start('keepalive', 80, () => fired.push(Date.now()), { jitter: true, random: () => 1 });
    vi.advanceTimersByTime(60_000);
    expect(fired).toHaveLength(1);
  });

  it('a restart only moves the deadline: many restarts fire once, at the last deadline, with the last callback', () => {
    const t = new TimerSet<'hold'>();
    const fired: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.start('hold', 3, () => fired.push(`hold ${i}`));
      vi.advanceTimersByTime(1000);
    }
    // Started at t=4 s for 3 s: due at 7 s, not at 3 s when the first setTimeout went off.
    vi.advanceTimersByTime(1999);
    expect(fired).toEqual([]);
    expect(t.remaining('hold')?.left).toBeCloseTo(0.001, 3);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['hold 4']);
    expect(t.isRunning('hold')).toBe(false);
  });

  it('a restart with a shorter duration fires at the earlier time; stop cancels a moved timer', () => {
    const t = new TimerSet<'hold' | 'other'>();
    const fired: string[] = [];
    t.start('hold', 240, () => fired.push('long'));
    t.start('hold', 3, () => fired.push('short'));
    vi.advanceTimersByTime(3000);
    expect(fired).toEqual(['short']);
    t.start('other', 2, () => fired.push('other'));
    vi.advanceTimersByTime(1000);
    t.start('other', 2, () => fired.push('other'));
    t.stop('other');
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual(['short']);
  });

  it('stops all timers', () => {
    const t = new TimerSet<'a' | 'b'>();
    const fired: string[] = [];
    t.start('a', 1, () => fired.push('a'));
    t.start('b', 1, () => fired.push('b'));
    t.stopAll();
    vi.advanceTimersByTime(5000);
    expect(fired).toEqual([]);
  });
});

/** An empty UPDATE (the IPv4 End-of-RIB). */
function emptyUpdate(): Uint8Array {
  const m = new Uint8Array(23).fill(0xff, 0, 16);
  m[17] = 23;
  m[18] = 2;
  return m;
}

describe('session timers with fake clocks', () => {
  let speaker: Speaker | undefined;
  let peer: ScriptedPeer | undefined;
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(async () => {
    vi.useRealTimers();
    peer?.socket.destroy();
    await speaker?.close();
    speaker = undefined;
    peer = undefined;
  });

  it('sends keepalives every hold/3 and drops a silent peer at hold expiry with 4/0', async () => {
    const port = await freePort();
    speaker = new Speaker('127.0.0.1', port);
    await speaker.start([peerIntent('127.0.0.5', { peerPort: port, passive: true, errorWaitTime: [5, 30] })]);
    const name = 'Mesh_127_0_0_5';
    expect(speaker.status(name)?.bgpState).toBe('Passive');
    peer = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    await until('our OPEN', () => peer!.types().includes(1));
    peer.sendOpen(3);
    peer.sendKeepalive();
    await until('Established', () => speaker!.status(name)?.bgpState === 'Established');
    expect(speaker.status(name)?.holdTime).toBe(3);
    expect(speaker.status(name)?.keepaliveTime).toBe(1);
    const before = peer.types().filter((t) => t === 4).length;
    vi.advanceTimersByTime(1000); // one keepalive interval (jitter only shortens it)
    await until('a keepalive', () => peer!.types().filter((t) => t === 4).length > before);
    vi.advanceTimersByTime(2000); // 3 s without anything from the peer
    await until('NOTIFICATION', () => peer!.types().includes(3));
    const n = parseNotification(peer.received.find((m) => m[18] === 3)!);
    expect([n.code, n.subcode]).toEqual([4, 0]);
    await until('closed', () => peer!.closed);
    const st = speaker.status(name);
    expect(st?.lastError).toEqual({ errorClass: 'BGP Error', message: 'Hold timer expired' });
    expect(st?.bgpState).toBe('Idle'); // error wait
    // What `show protocols all` prints as `Error wait: <left>/5`.
    expect(speaker.peers.get(name)?.waitingFor()).toMatchObject({ kind: 'errorWait', total: 5 });
    expect(st?.flaps).toBe(1);
    // During the error wait the peer is refused; after it the peer waits passively again.
    vi.advanceTimersByTime(5000);
    expect(speaker.status(name)?.bgpState).toBe('Passive');
  });

  it('refuses a hold time of 1 or 2 with 2/6', async () => {
    const port = await freePort();
    speaker = new Speaker('127.0.0.1', port);
    await speaker.start([peerIntent('127.0.0.5', { peerPort: port, passive: true })]);
    peer = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    await until('our OPEN', () => peer!.types().includes(1));
    peer.sendOpen(2);
    await until('NOTIFICATION', () => peer!.types().includes(3));
    const n = parseNotification(peer.received.find((m) => m[18] === 3)!);
    expect([n.code, n.subcode]).toEqual([2, 6]);
    expect(speaker.status('Mesh_127_0_0_5')?.lastError?.message).toBe('Unacceptable hold time');
  });

  it('with hold time 0 sends no keepalives and never expires', async () => {
    const port = await freePort();
    speaker = new Speaker('127.0.0.1', port);
    await speaker.start([peerIntent('127.0.0.5', { peerPort: port, passive: true, holdTime: 0 })]);
    peer = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    await until('our OPEN', () => peer!.types().includes(1));
    peer.sendOpen(0);
    peer.sendKeepalive();
    await until('Established', () => speaker!.status('Mesh_127_0_0_5')?.bgpState === 'Established');
    await until('our KEEPALIVE', () => peer!.types().includes(4));
    const count = peer.received.length;
    vi.advanceTimersByTime(3_600_000);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(peer.types().slice(count)).toEqual([]);
    expect(speaker.status('Mesh_127_0_0_5')?.bgpState).toBe('Established');
  });

  it('waits the jittered connect delay before dialling, then retries after connect retry', async () => {
    const port = await freePort();
    const accepted: net.Socket[] = [];
    let bytesIn = 0;
    const server = net.createServer((s) => {
      s.on('data', (d) => (bytesIn += d.length)); // read our OPEN so that closing sends FIN, not RST
      accepted.push(s);
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.6', r));
    try {
      speaker = new Speaker('127.0.0.1', port);
      await speaker.start([peerIntent('127.0.0.6', { peerPort: port, connectDelayTime: 2, connectRetryTime: 5 })]);
      expect(speaker.status('Mesh_127_0_0_6')?.bgpState).toBe('Active');
      expect(speaker.peers.get('Mesh_127_0_0_6')?.waitingFor()).toMatchObject({ kind: 'connectDelay', total: 2 });
      vi.advanceTimersByTime(1490); // jitter never shortens 2 s below 1.5 s
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      expect(accepted).toHaveLength(0);
      vi.advanceTimersByTime(510);
      await until('dialled', () => accepted.length === 1);
      await until('OpenSent', () => speaker!.status('Mesh_127_0_0_6')?.bgpState === 'OpenSent');
      // The silent peer closes: back to Active, and the ConnectRetryTimer (≤ 5 s) dials again.
      await until('OPEN read', () => bytesIn > 0);
      accepted[0]!.destroy();
      await until('Active', () => speaker!.status('Mesh_127_0_0_6')?.bgpState === 'Active');
      expect(speaker.status('Mesh_127_0_0_6')?.lastError).toEqual({ errorClass: 'Socket', message: 'Connection closed' });
      vi.advanceTimersByTime(5000);
      await until('dialled again', () => accepted.length === 2);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  // The hold timer restarted per message (TimerSet.restart), through a real session.
  it('restarts on every UPDATE and expires hold time after the last one with 4/0', async () => {
    const port = await freePort();
    speaker = new Speaker('127.0.0.1', port);
    await speaker.start([peerIntent('127.0.0.5', { peerPort: port, passive: true })]);
    const name = 'Mesh_127_0_0_5';
    peer = await ScriptedPeer.connect('127.0.0.1', port, '127.0.0.5');
    await until('our OPEN', () => peer!.types().includes(1));
    peer.sendOpen(3);
    peer.sendKeepalive();
    await until('Established', () => speaker!.status(name)?.bgpState === 'Established');
    // 6 s of UPDATEs every 2 s (each one restarts the 3 s hold timer): still up.
    for (let i = 1; i <= 3; i++) {
      vi.advanceTimersByTime(2000);
      peer.socket.write(emptyUpdate());
      await until(`UPDATE ${i}`, () => speaker!.engine.updates.length === i);
      expect(speaker.status(name)?.bgpState).toBe('Established');
    }
    expect(peer.types()).not.toContain(3);
    vi.advanceTimersByTime(2999);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(peer.types()).not.toContain(3);
    expect(speaker.status(name)?.bgpState).toBe('Established');
    vi.advanceTimersByTime(1);
    await until('NOTIFICATION', () => peer!.types().includes(3));
    const n = parseNotification(peer.received.find((m) => m[18] === 3)!);
    expect([n.code, n.subcode]).toEqual([4, 0]);
    expect(speaker.status(name)?.lastError).toEqual({ errorClass: 'BGP Error', message: 'Hold timer expired' });
  });
});
