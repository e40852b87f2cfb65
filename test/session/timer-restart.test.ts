import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { step } from '../../proto/fsm.js';
import { TimerSet } from '../../daemon/session/timers.js';

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
});
