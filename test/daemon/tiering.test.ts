/**
 * daemon/tiering.ts: V8's --interrupt-budget is four times the default while the configured peers
 * come up, and V8's own again once every one of them has been Established (or at the time limit),
 * so a large table later is optimised as soon as before. The daemon-level check (the start-up line
 * and the debug line when the phase ends, the code cache still accepted) is in code-cache.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SESSION_PHASE_INTERRUPT_BUDGET, SessionPhase, sessionPhaseBudget, V8_INTERRUPT_BUDGET } from '../../daemon/tiering.js';

function phaseWith(budget: number | undefined, peers: string[], maxMs?: number) {
  const flags: string[] = [];
  const ends: unknown[][] = [];
  const phase = new SessionPhase({ budget, setFlags: (f) => flags.push(f), peers: () => peers, onEnd: (...a) => ends.push(a), ...(maxMs !== undefined ? { maxMs } : {}) });
  return { phase, flags, ends };
}

describe('PETREL_INTERRUPT_BUDGET', () => {
  it('defaults to four times V8 budget; off; a number of bytes; anything else warns and uses the default', () => {
    expect(SESSION_PHASE_INTERRUPT_BUDGET).toBe(4 * V8_INTERRUPT_BUDGET);
    expect(sessionPhaseBudget(undefined)).toEqual({ budget: SESSION_PHASE_INTERRUPT_BUDGET });
    expect(sessionPhaseBudget('')).toEqual({ budget: SESSION_PHASE_INTERRUPT_BUDGET });
    expect(sessionPhaseBudget('off')).toEqual({ budget: undefined });
    expect(sessionPhaseBudget('540672')).toEqual({ budget: 540672 });
    for (const bad of ['-5', '12k', '0', '9999999999', '--no-opt', 'OFF']) {
      const r = sessionPhaseBudget(bad);
      expect(r.budget).toBe(SESSION_PHASE_INTERRUPT_BUDGET);
      expect(r.warning).toContain(`PETREL_INTERRUPT_BUDGET=${bad} is not a number of bytes or off`);
    }
  });
});

describe('the session phase', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('raises the budget at begin and gives V8 its own back once every configured peer has been up', () => {
    const { phase, flags, ends } = phaseWith(SESSION_PHASE_INTERRUPT_BUDGET, ['Mesh_a', 'Mesh_b', 'Mesh_c']);
    phase.peerUp('Mesh_a'); // before begin: counted
    phase.begin();
    expect(flags).toEqual([`--interrupt-budget=${SESSION_PHASE_INTERRUPT_BUDGET}`]);
    expect(phase.running).toBe(true);
    phase.peerUp('Mesh_b');
    phase.peerUp('Mesh_b'); // up again (a flap) is the same peer
    phase.peerUp('Other'); // not configured at start
    expect(flags).toHaveLength(1);
    phase.peerUp('Mesh_c');
    expect(flags).toEqual([`--interrupt-budget=${SESSION_PHASE_INTERRUPT_BUDGET}`, `--interrupt-budget=${V8_INTERRUPT_BUDGET}`]);
    expect(ends).toEqual([['all peers up', 3, 3]]);
    expect(phase.running).toBe(false);
    // Over for good: later peer-ups, begins, the timer change nothing.
    phase.peerUp('Mesh_a');
    phase.begin();
    vi.advanceTimersByTime(60_000);
    expect(flags).toHaveLength(2);
    expect(ends).toHaveLength(1);
  });

  it('ends at the time limit when a peer never comes up', () => {
    const { phase, flags, ends } = phaseWith(SESSION_PHASE_INTERRUPT_BUDGET, ['Mesh_a', 'Mesh_b'], 5000);
    phase.begin();
    phase.peerUp('Mesh_a');
    vi.advanceTimersByTime(4999);
    expect(flags).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(flags).toEqual([`--interrupt-budget=${SESSION_PHASE_INTERRUPT_BUDGET}`, `--interrupt-budget=${V8_INTERRUPT_BUDGET}`]);
    expect(ends).toEqual([['time limit', 1, 2]]);
    phase.peerUp('Mesh_b');
    expect(flags).toHaveLength(2);
  });

  it('changes nothing when every peer was up before begin, when there are no peers, or when switched off', () => {
    const early = phaseWith(SESSION_PHASE_INTERRUPT_BUDGET, ['Mesh_a']);
    early.phase.peerUp('Mesh_a');
    early.phase.begin();
    const none = phaseWith(SESSION_PHASE_INTERRUPT_BUDGET, []);
    none.phase.begin();
    const off = phaseWith(undefined, ['Mesh_a']);
    off.phase.begin();
    off.phase.peerUp('Mesh_a');
    vi.advanceTimersByTime(60_000);
    for (const x of [early, none, off]) {
      expect(x.flags).toEqual([]);
      expect(x.ends).toEqual([]);
      expect(x.phase.running).toBe(false);
    }
  });

  it('an end before the peers are up (shutdown) restores the budget once', () => {
    const { phase, flags, ends } = phaseWith(540672, ['Mesh_a']);
    phase.begin();
    phase.end();
    phase.end();
    vi.advanceTimersByTime(60_000);
    expect(flags).toEqual(['--interrupt-budget=540672', `--interrupt-budget=${V8_INTERRUPT_BUDGET}`]);
    expect(ends).toEqual([['time limit', 0, 1]]);
  });
});
