/**
 * How a backlog reaches the kernel: a small first batch (so the kernel starts at once), batches
 * doubling after it, and the next batch handed over while the sink still programs the previous one.
 */
import { describe, expect, it } from 'vitest';
import type { RouteSink, SinkResult, SinkRoute } from '../../daemon/model.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { waitFor } from '../../tools/lab/netns.js';
import { announce, attrs, intent, peer, RecordingEncoder } from './helpers.js';

const EBGP = peer('Global_172_16_40_1', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', neighborId: '172.16.40.1', localAddress: '172.16.40.2' });

/** A sink whose applies finish only when the test says so. */
class HeldSink implements RouteSink {
  readonly calls: { size: number; done: (r: SinkResult) => void }[] = [];
  apply(c: { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] }): Promise<SinkResult> {
    return new Promise((done) => this.calls.push({ size: c.add.length + c.remove.length, done }));
  }
  async dump(): Promise<SinkRoute[]> {
    return [];
  }
}

function prefixes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
}

describe('kernel batches', () => {
  it('first batch of 1,000, then doubling up to sinkBatch; two batches in flight, never three', async () => {
    const sink = new HeldSink();
    const engine = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink, encoder: new RecordingEncoder(), sinkBatch: 4000 });
    await engine.peerUp(EBGP, { send: () => undefined });
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined, nextHop: '172.16.40.1' });
    const all = prefixes(12_000);
    for (let i = 0; i < all.length; i += 500) await engine.applyUpdate(EBGP.name, announce(all.slice(i, i + 500), a));
    await waitFor('two batches handed to the sink', async () => sink.calls.length === 2, 5000, 5);
    // The second is handed over while the first is still being programmed, but not a third.
    await new Promise((r) => setImmediate(r));
    expect(sink.calls.map((c) => c.size)).toEqual([1000, 2000]);
    const ok = (c: { size: number; done: (r: SinkResult) => void }) => c.done({ applied: c.size, failures: [] });
    ok(sink.calls[0]!);
    await waitFor('the third batch', async () => sink.calls.length === 3, 5000, 5);
    for (let i = 1; sink.calls.reduce((n, c) => n + c.size, 0) < all.length || i < sink.calls.length; i++) {
      await waitFor(`batch ${i + 1}`, async () => sink.calls.length > i, 5000, 5);
      ok(sink.calls[i]!);
    }
    expect(sink.calls.map((c) => c.size)).toEqual([1000, 2000, 4000, 4000, 1000]);
  });
});
