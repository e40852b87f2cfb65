/**
 * The route engine's graceful-restart hooks: a restarting peer's routes stay (stale) in the
 * Loc-RIB and the sink while its session is down, are refreshed one by one when it comes back,
 * and only what it did not re-announce is purged.
 */
import { describe, expect, it } from 'vitest';
import { RouteEngine } from '../../daemon/rib/index.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { announce, attrs, Capture, intent, peer, RecordingEncoder } from '../rib/helpers.js';

function setup() {
  const enc = new RecordingEncoder();
  const sink = new MockSink();
  const engine = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink, encoder: enc, now: () => 1_700_000_000 });
  return { enc, sink, engine };
}

const prefixes = (sink: MockSink) => sink.snapshot().map((r) => r.prefix);

describe('RouteEngine graceful restart (receiving side)', () => {
  it('retains a restarting peer\'s routes, then purges only those it did not re-announce', async () => {
    const { enc, sink, engine } = setup();
    const other = new Capture(enc);
    await engine.peerUp(peer('Mesh_B'), new Capture(enc));
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2', keepOriginalNextHop: true }), other);
    await engine.peerUpdate('Mesh_B', announce(['10.244.7.0/26', '10.244.8.0/26'], attrs()));
    await engine.settled();
    expect(other.take().filter((x) => x.kind === 'update')).toHaveLength(1);
    await engine.peerDown('Mesh_B', { retain: true });
    await engine.settled();
    expect(prefixes(sink)).toEqual(['10.244.7.0/26', '10.244.8.0/26']);
    expect(engine.staleCount('Mesh_B')).toBe(2);
    // Nothing is withdrawn from the eBGP peer while B restarts.
    expect(other.take()).toEqual([]);

    await engine.peerUp(peer('Mesh_B'), new Capture(enc));
    expect(engine.staleCount('Mesh_B')).toBe(2);
    await engine.peerUpdate('Mesh_B', announce(['10.244.7.0/26'], attrs()));
    expect(engine.staleCount('Mesh_B')).toBe(1);
    expect(await engine.purgeStale('Mesh_B')).toBe(1);
    await engine.settled();
    expect(prefixes(sink)).toEqual(['10.244.7.0/26']);
    expect(engine.staleCount('Mesh_B')).toBe(0);
    expect(other.take()).toEqual([{ kind: 'withdraw', family: 4, prefixes: ['10.244.8.0/26'] }]);
  });

  it('a peer that never returns is released entirely when its stale routes are purged', async () => {
    const { enc, sink, engine } = setup();
    await engine.peerUp(peer('Mesh_B'), new Capture(enc));
    await engine.peerUpdate('Mesh_B', announce(['10.244.7.0/26'], attrs()));
    await engine.peerDown('Mesh_B', { retain: true });
    await engine.settled();
    expect(prefixes(sink)).toEqual(['10.244.7.0/26']);
    expect(await engine.purgeStale('Mesh_B')).toBe(1);
    await engine.settled();
    expect(prefixes(sink)).toEqual([]);
    expect(engine.routeCount()).toMatchObject({ routes: 0, networks: 0 });
    // Released: a later session starts from nothing.
    await engine.peerUp(peer('Mesh_B'), new Capture(enc));
    expect(engine.staleCount('Mesh_B')).toBe(0);
  });

  it('a plain peer-down (no retain) of a retained peer releases it at once (peer deleted from config)', async () => {
    const { enc, sink, engine } = setup();
    await engine.peerUp(peer('Mesh_B'), new Capture(enc));
    await engine.peerUpdate('Mesh_B', announce(['10.244.7.0/26'], attrs()));
    await engine.peerDown('Mesh_B', { retain: true });
    await engine.peerDown('Mesh_B');
    await engine.settled();
    expect(prefixes(sink)).toEqual([]);
  });

  it('without retain, a session going down withdraws everything as before', async () => {
    const { enc, sink, engine } = setup();
    await engine.peerUp(peer('Mesh_B'), new Capture(enc));
    await engine.peerUpdate('Mesh_B', announce(['10.244.7.0/26'], attrs()));
    await engine.peerDown('Mesh_B');
    await engine.settled();
    expect(prefixes(sink)).toEqual([]);
    expect(engine.staleCount('Mesh_B')).toBe(0);
  });
});
