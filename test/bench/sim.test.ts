import { describe, expect, it } from 'vitest';
import { simulate } from '../../tools/bench/sim.js';

describe('bench simulation (RouteEngines over in-memory pipes)', () => {
  it('a full mesh of 6 nodes converges with one session per pair and every block learned', async () => {
    const r = await simulate(6, 'mesh', 20_000);
    expect(r.sessions).toBe(15);
    // Each direction of each session carries the sender's own block and an End-of-RIB.
    expect(r.updates).toBe(15 * 2 * 2);
  });

  it('with two route reflectors every client peers only with the reflectors and still learns every block', async () => {
    const r = await simulate(6, 'rr', 20_000);
    // 4 clients x 2 reflectors, plus the reflector pair.
    expect(r.sessions).toBe(9);
  });
});
