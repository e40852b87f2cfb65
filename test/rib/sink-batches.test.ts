/**
 * How a backlog reaches the kernel: a small first batch (so the kernel starts at once), batches
 * doubling after it, and the next batch handed over while the sink still programs the previous one.
 * A full batch goes from the UPDATE that completes it, not at the end of the socket read (or of the
 * table); less than a full batch goes at the end of the turn, or when an answer frees a slot.
 */
import { describe, expect, it } from 'vitest';
import type { RouteSink, SinkResult, SinkRoute } from '../../daemon/model.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { waitFor } from '../../tools/lab/netns.js';
import { announce, attrs, intent, peer, RecordingEncoder, withdraw } from './helpers.js';

const EBGP = peer('Global_172_16_40_1', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', neighborId: '172.16.40.1', localAddress: '172.16.40.2' });

interface Call {
  readonly size: number;
  readonly add: readonly SinkRoute[];
  readonly remove: readonly SinkRoute[];
  readonly done: (r: SinkResult) => void;
}

/** A sink whose applies finish only when the test says so, or at once once `immediate` is set. */
class HeldSink implements RouteSink {
  readonly calls: Call[] = [];
  immediate = false;
  apply(c: { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] }): Promise<SinkResult> {
    const size = c.add.length + c.remove.length;
    if (this.immediate) {
      this.calls.push({ size, add: c.add, remove: c.remove, done: () => undefined });
      return Promise.resolve({ applied: size, failures: [] });
    }
    return new Promise((done) => this.calls.push({ size, add: c.add, remove: c.remove, done }));
  }
  async dump(): Promise<SinkRoute[]> {
    return [];
  }
}

function prefixes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
}

const ok = (c: Call) => c.done({ applied: c.size, failures: [] });
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

async function engineWith(sink: RouteSink, sinkBatch?: number): Promise<RouteEngine> {
  const engine = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink, encoder: new RecordingEncoder(), ...(sinkBatch !== undefined ? { sinkBatch } : {}) });
  await engine.peerUp(EBGP, { send: () => undefined });
  await engine.settled();
  return engine;
}

const A = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined, nextHop: '172.16.40.1' });

describe('kernel batches', () => {
  it('first batch of 1,000, then doubling up to sinkBatch; two batches in flight, never three', async () => {
    const sink = new HeldSink();
    const engine = await engineWith(sink, 4000);
    const all = prefixes(12_000);
    for (let i = 0; i < all.length; i += 500) await engine.applyUpdate(EBGP.name, announce(all.slice(i, i + 500), A));
    await waitFor('two batches handed to the sink', async () => sink.calls.length === 2, 5000, 5);
    // The second is handed over while the first is still being programmed, but not a third.
    await nextTurn();
    expect(sink.calls.map((c) => c.size)).toEqual([1000, 2000]);
    ok(sink.calls[0]!);
    await waitFor('the third batch', async () => sink.calls.length === 3, 5000, 5);
    for (let i = 1; sink.calls.reduce((n, c) => n + c.size, 0) < all.length || i < sink.calls.length; i++) {
      await waitFor(`batch ${i + 1}`, async () => sink.calls.length > i, 5000, 5);
      ok(sink.calls[i]!);
    }
    expect(sink.calls.map((c) => c.size)).toEqual([1000, 2000, 4000, 4000, 1000]);
    await engine.settled();
  });

  it('hands a full batch over from the UPDATE that completes it, before the turn ends', async () => {
    const sink = new HeldSink();
    const engine = await engineWith(sink);
    const all = prefixes(3000);
    // No await in between: one turn, as the UPDATEs of one socket read.
    engine.applyUpdate(EBGP.name, announce(all.slice(0, 600), A));
    expect(sink.calls).toHaveLength(0);
    engine.applyUpdate(EBGP.name, announce(all.slice(600, 1200), A));
    expect(sink.calls.map((c) => c.size)).toEqual([1000]);
    // The next is not full (2,000): it waits while the kernel is busy with the first.
    engine.applyUpdate(EBGP.name, announce(all.slice(1200, 2400), A));
    expect(sink.calls.map((c) => c.size)).toEqual([1000]);
    engine.applyUpdate(EBGP.name, announce(all.slice(2400), A));
    expect(sink.calls.map((c) => c.size)).toEqual([1000, 2000]);
    ok(sink.calls[0]!);
    ok(sink.calls[1]!);
    await engine.settled();
    expect(new Set(sink.calls.flatMap((c) => c.add.map((r) => r.prefix))).size).toBe(3000);
  });

  it('hands what is queued over at the end of the turn while a slot is free, and the rest when an answer frees one', async () => {
    const sink = new HeldSink();
    const engine = await engineWith(sink);
    const all = prefixes(900);
    engine.applyUpdate(EBGP.name, announce(all.slice(0, 300), A));
    expect(sink.calls).toHaveLength(0);
    await nextTurn();
    expect(sink.calls.map((c) => c.size)).toEqual([300]);
    engine.applyUpdate(EBGP.name, announce(all.slice(300, 500), A));
    await nextTurn();
    expect(sink.calls.map((c) => c.size)).toEqual([300, 200]);
    // Both slots taken: what comes now waits for an answer.
    engine.applyUpdate(EBGP.name, announce(all.slice(500), A));
    await nextTurn();
    expect(sink.calls).toHaveLength(2);
    ok(sink.calls[0]!);
    await waitFor('the third batch', async () => sink.calls.length === 3, 5000, 5);
    expect(sink.calls[2]!.size).toBe(400);
    ok(sink.calls[1]!);
    ok(sink.calls[2]!);
    await engine.settled();
  });

  it('keeps the order of changes to one prefix across batches (a withdrawal after its announcement)', async () => {
    const sink = new HeldSink();
    const engine = await engineWith(sink);
    const all = prefixes(1000);
    engine.applyUpdate(EBGP.name, announce(all, A));
    expect(sink.calls.map((c) => c.size)).toEqual([1000]);
    engine.applyUpdate(EBGP.name, withdraw(all.slice(0, 10)));
    await nextTurn();
    expect(sink.calls.map((c) => c.remove.length)).toEqual([0, 10]);
    for (const c of sink.calls) ok(c);
    await engine.settled();
  });

  it('takes a backlog batch by batch where the last one stopped; a prefix changed again before its turn goes once, as it is then', async () => {
    const sink = new HeldSink();
    const engine = await engineWith(sink, 1000);
    const all = prefixes(3000);
    for (let i = 0; i < all.length; i += 500) engine.applyUpdate(EBGP.name, announce(all.slice(i, i + 500), A));
    expect(sink.calls.map((c) => c.size)).toEqual([1000, 1000]);
    // all[10] went in the first batch: its withdrawal is a later batch. all[2500] waits in the
    // backlog: it goes as it is when its turn comes, i.e. not at all.
    engine.applyUpdate(EBGP.name, withdraw([all[10]!, all[2500]!]));
    ok(sink.calls[0]!);
    ok(sink.calls[1]!);
    // The rest: 999 additions where the second batch stopped, and the removal.
    await waitFor('the rest', async () => sink.calls.reduce((n, c) => n + c.size, 0) === 3000, 5000, 5);
    for (const c of sink.calls.slice(2)) ok(c);
    await engine.settled();
    const added = sink.calls.flatMap((c) => c.add.map((r) => r.prefix));
    expect(added).toHaveLength(2999);
    expect(new Set(added).size).toBe(2999);
    expect(added).not.toContain(all[2500]);
    expect(added.slice(0, 2000)).toEqual(all.slice(0, 2000));
    const removedIn = sink.calls.findIndex((c) => c.remove.some((r) => r.prefix === all[10]));
    expect(removedIn).toBeGreaterThan(0);
    expect(sink.calls.flatMap((c) => c.remove.map((r) => r.prefix))).toEqual([all[10]]);
  });

  it('spreads the batches of a sink that answers at once over turns (a full batch per turn)', async () => {
    const sink = new HeldSink();
    const engine = await engineWith(sink, 1000);
    const all = prefixes(8000);
    for (let i = 0; i < all.length; i += 1000) engine.applyUpdate(EBGP.name, announce(all.slice(i, i + 1000), A));
    // Two batches handed over from the UPDATEs, the rest waits for answers.
    expect(sink.calls).toHaveLength(2);
    sink.immediate = true;
    await nextTurn();
    ok(sink.calls[0]!);
    ok(sink.calls[1]!);
    // The answers come as microtasks: the batches they free go one turn's worth at a time.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(sink.calls.length).toBeLessThan(5);
    await engine.settled();
    expect(sink.calls.reduce((n, c) => n + c.size, 0)).toBe(8000);
  });
});
