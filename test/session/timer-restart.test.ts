import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { step } from '../../proto/fsm.js';
import { TimerSet } from '../../daemon/session/timers.js';
import { parseNotification } from '../../daemon/session/wire.js';
import { freePort, peerIntent, ScriptedPeer, Speaker, until } from './helpers.js';

/** An empty UPDATE (the IPv4 End-of-RIB). */
function emptyUpdate(): Uint8Array {
  const m = new Uint8Array(23).fill(0xff, 0, 16);
  m[17] = 23;
  m[18] = 2;
  return m;
}

describe('TimerSet.restart (the hold timer restarted per message received)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('moves the deadline to now + the duration; the timer fires once, that long after the last restart', () => {
    const t = new TimerSet<'hold'>();
    const fire = vi.fn();
    t.start('hold', 3, fire);
    vi.advanceTimersByTime(2000);
    expect(t.restart('hold', 3, Date.now())).toBe(true);
    vi.advanceTimersByTime(2000); // 4 s after start, 2 s after the restart
    expect(fire).not.toHaveBeenCalled();
    expect(t.remaining('hold')?.left).toBeCloseTo(1, 3);
    vi.advanceTimersByTime(999);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(t.isRunning('hold')).toBe(false);
  });

  it('refuses what start must do: not running, another duration, a jittered timer, an earlier deadline', () => {
    const t = new TimerSet<'hold' | 'keepalive'>();
    const fire = vi.fn();
    expect(t.restart('hold', 3, Date.now())).toBe(false);
    t.start('hold', 3, fire);
    expect(t.restart('hold', 90, Date.now())).toBe(false);
    expect(t.restart('hold', 3, Date.now() - 10)).toBe(false);
    t.start('keepalive', 1, fire, { jitter: true, random: () => 0 });
    expect(t.restart('keepalive', 1, Date.now())).toBe(false);
    t.stopAll();
    vi.advanceTimersByTime(10_000);
    expect(fire).not.toHaveBeenCalled();
  });
});

describe('hold timer on an Established session receiving UPDATEs', () => {
  it('the FSM cell PeerSession runs directly per UPDATE: processUpdate, then hold restarts (negotiated)', () => {
    // daemon/session/peer.ts onMessage does these actions without asking step(); keep them in sync.
    expect(step('Established', { name: 'UpdateMsg' })).toEqual({
      next: 'Established',
      actions: [{ kind: 'processUpdate' }, { kind: 'startTimer', timer: 'hold', duration: 'negotiated' }],
      fsmError: false,
      ignored: false,
    });
  });

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
