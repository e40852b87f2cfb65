import { describe, expect, it } from 'vitest';
import { nodeAddress, nodeBlock, simulate } from '../../tools/bench/sim.js';

const N = 8;

/** What node i's kernel should hold: its own block as a blackhole, every other block via its node (sorted as MockSink.snapshot sorts). */
function expectedTable(i: number) {
  return Array.from({ length: N }, (_, j) => (j === i ? { prefix: nodeBlock(j), type: 'blackhole' } : { prefix: nodeBlock(j), type: 'unicast', via: nodeAddress(j) })).sort((a, b) =>
    a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0,
  );
}

describe('bench simulation (RouteEngines over in-memory sessions)', () => {
  it('a full mesh converges with one session per pair and every sink holding the N-1 other blocks', async () => {
    const r = await simulate(N, 'mesh', 30_000, { tables: true });
    expect(r.sessions).toBe((N * (N - 1)) / 2);
    // Each direction of each session carries the sender's own block and an End-of-RIB.
    expect(r.updates).toBe(r.sessions * 2 * 2);
    expect(r.tables).toHaveLength(N);
    for (const [i, table] of r.tables!.entries()) {
      expect(table.filter((x) => x.type === 'unicast')).toHaveLength(N - 1);
      expect(table).toMatchObject(expectedTable(i));
    }
    expect(r.busiestNodeMs).toBeLessThanOrEqual(r.convergeMs);
  });

  it('two route reflectors: clients peer only with them, and every kernel table equals the full mesh one', async () => {
    const rr = await simulate(N, 'rr', 30_000, { tables: true });
    // N-2 clients x 2 reflectors, plus the reflector pair.
    expect(rr.sessions).toBe((N - 2) * 2 + 1);
    const full = await simulate(N, 'mesh', 30_000, { tables: true });
    expect(rr.tables).toEqual(full.tables);
    // A reflector sends each client's block to every other client: more UPDATEs than sessions alone explain.
    expect(rr.updates).toBeGreaterThan(rr.sessions * 2 * 2);
  });
});
