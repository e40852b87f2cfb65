/**
 * The spawn-floor measurement (tools/bench/spawnfloor.ts) behind the mesh cell's analysis: it
 * spawns BIRD, a bare Node and Petrel in namespaces the way the mesh cell does, reports each
 * spawn loop, and leaves no namespace behind. Needs root and bird2, as the cells do.
 */
import { describe, expect, it } from 'vitest';
import { listNamespaces } from '../../tools/lab/netns.js';
import { spawnFloor } from '../../tools/bench/spawnfloor.js';
import { ensureBuilt, MAIN } from '../daemon/petrel-process.js';

describe('spawn floor', () => {
  it('times the spawn loop of each program, reads bare Node’s own start, and removes its namespaces', async () => {
    ensureBuilt();
    const lines: string[] = [];
    const runs = await spawnFloor([3], 1, (l) => lines.push(l), MAIN);
    expect(runs.map((r) => r.program)).toEqual(['bird', 'node', 'petrel']);
    for (const r of runs) {
      expect(r.m).toBe(3);
      expect(r.loopMs).toBeGreaterThan(0);
    }
    const node = runs.find((r) => r.program === 'node')!;
    // Each bare node printed its start: the last one started after the loop began, within seconds.
    expect(node.lastStartMs).toBeDefined();
    expect(node.lastStartMs!).toBeGreaterThanOrEqual(0);
    expect(node.lastStartMs!).toBeLessThan(20_000);
    expect(lines).toHaveLength(3);
    expect((await listNamespaces()).filter((n) => n.startsWith(`pt-floor-${process.pid}-`))).toEqual([]);
  }, 60_000);
});
