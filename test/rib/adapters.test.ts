import { describe, expect, it } from 'vitest';
import { RouteEngine, routeViews } from '../../daemon/rib/index.js';
import { RibBridge } from '../../daemon/session/rib-bridge.js';
import { silentLogger } from '../../daemon/log.js';
import { MockSink } from '../../daemon/sink/mock.js';
import type { PeerIntent } from '../../daemon/model.js';
import type { SessionUp } from '../../daemon/session/engine.js';
import { decodeUpdate, defaultCodecContext, encodeUpdates, encodeWithdrawals, type PathAttributes } from '../../proto/index.js';
import { cidrToKey, packKeys } from '../../daemon/rib/keys.js';
import { announce, attrs, Capture, intent, peer, RecordingEncoder } from './helpers.js';

function peerIntent(name: string, over: Partial<PeerIntent> = {}): PeerIntent {
  return {
    name, kind: 'mesh', family: 4, peerIp: '172.16.30.8', peerPort: 179, peerAs: 64512, localAs: 64512, passive: false,
    holdTime: 240, connectDelayTime: 2, connectRetryTime: 5, errorWaitTime: [5, 30], gracefulRestartTime: 120,
    keepOriginalNextHop: false, maxPrefixesAction: 'reset', rrClient: false, families: [4], ...over,
  };
}

function sessionUp(p: PeerIntent, sent: Uint8Array[], resets: [number, number][]): SessionUp {
  const caps = { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: false, as4: true, llgr: false, extendedMessage: false };
  return {
    peer: p, neighborId: p.peerIp, peerAs: p.peerAs, localAddress: '172.16.30.1', remoteAddress: p.peerIp, internal: true,
    families: [4], context: defaultCodecContext(), localCaps: caps, peerCaps: caps, holdTime: 240,
    send: (u) => (sent.push(u), true),
    reset: (code, sub) => resets.push([code, sub]),
  };
}

const bytesOf = (cidrs: string[], a: PathAttributes) => encodeUpdates(a, 1, packKeys(4, cidrs.map(cidrToKey)), defaultCodecContext());

describe('RibBridge (the sessions seam)', () => {
  it('sends the table and End-of-RIB on peer-up, takes UPDATE bytes, installs and re-advertises', async () => {
    const sink = new MockSink();
    const routes = new RouteEngine({ intent: intent({ ownBlocks: ['10.244.1.0/26'] }), sink });
    const seam = new RibBridge(routes, silentLogger());
    const toB: Uint8Array[] = [];
    seam.peerUp(sessionUp(peerIntent('Mesh_B'), toB, []));
    const ctx = defaultCodecContext();
    await routes.settled();
    const decoded = toB.map((m) => decodeUpdate(m, ctx));
    expect(decoded[0]?.nlri).toEqual(Uint32Array.from([cidrToKey('10.244.1.0/26') as number / 64, 26]));
    expect(decoded.at(-1)?.nlri.length).toBe(0); // End-of-RIB
    for (const m of bytesOf(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8' }) as PathAttributes)) seam.update('Mesh_B', m, ctx);
    await routes.settled();
    expect(sink.snapshot()).toContainEqual({ prefix: '10.244.151.0/26', type: 'unicast', via: '172.16.30.8', dev: 'tunl0', onlink: true });
    seam.peerDown('Mesh_B');
    await routes.settled();
    expect(sink.snapshot()).toEqual([{ prefix: '10.244.1.0/26', type: 'blackhole' }]);
  });

  it('lets UPDATEs past a turn\'s budget wait as bytes, applies them in order, and before any other engine call', async () => {
    const routes = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink: new MockSink(), encoder: new RecordingEncoder() });
    const seam = new RibBridge(routes, silentLogger());
    const toC: Uint8Array[] = [];
    seam.peerUp(sessionUp(peerIntent('Global_B', { peerAs: 65001, kind: 'global' }), [], []));
    seam.peerUp(sessionUp(peerIntent('Mesh_C', { peerIp: '172.16.30.9' }), toC, []));
    await routes.settled();
    const ctx = defaultCodecContext();
    const N = 6000;
    const a = attrs({ nextHop: '172.16.30.8', asPath: [{ type: 2, asns: [65001] }], localPref: undefined }) as PathAttributes;
    // One prefix per UPDATE, then the same prefixes withdrawn in another order: only call order gives the right table.
    for (let i = 0; i < N; i++) for (const m of bytesOf([`10.244.${i >> 6}.${(i & 63) << 2}/30`], { ...a, med: i })) seam.update('Global_B', m, ctx);
    expect(routes.counters('Global_B').imported).toBeLessThan(N);
    // refresh is queued in the engine: everything received before it is in the RIB when it runs.
    await routes.refresh('Mesh_C');
    expect(routes.counters('Global_B').imported).toBe(N);
    expect(routes.routeCount()).toMatchObject({ routes: N, attributeSets: N });
    for (let i = 0; i < N; i += 2) for (const m of encodeWithdrawals(1, packKeys(4, [cidrToKey(`10.244.${i >> 6}.${(i & 63) << 2}/30`)]), ctx)) seam.update('Global_B', m, ctx);
    await routes.settled();
    expect(routes.counters('Global_B').imported).toBe(N / 2);
    expect([...routes.listRoutes({ primaryOnly: true })].every((r) => Number(r.prefix.split('.')[3]!.split('/')[0]) % 8 === 4)).toBe(true);
  });

  it('throws a malformed UPDATE back to the session, and resets a peer over its prefix limit with Cease 6/1', async () => {
    const routes = new RouteEngine({ intent: intent(), sink: new MockSink() });
    const seam = new RibBridge(routes, silentLogger());
    const resets: [number, number][] = [];
    seam.peerUp(sessionUp(peerIntent('Mesh_B', { maxPrefixes: 1 }), [], resets));
    const ctx = defaultCodecContext();
    const bad = bytesOf(['10.244.7.0/26'], attrs() as PathAttributes)[0]!.slice();
    bad[20] = 0xff; // withdrawn-routes length overruns the message
    expect(() => seam.update('Mesh_B', bad, ctx)).toThrow();
    for (const m of bytesOf(['10.244.7.0/26', '10.244.8.0/26'], attrs() as PathAttributes)) seam.update('Mesh_B', m, ctx);
    await routes.settled();
    expect(resets).toEqual([[6, 1]]);
  });
});

describe('RouteEngine extras', () => {
  it('answers ROUTE-REFRESH with the whole Adj-RIB-Out and End-of-RIB', async () => {
    const enc = new RecordingEncoder();
    const routes = new RouteEngine({ intent: intent({ ownBlocks: ['10.244.1.0/26'] }), sink: new MockSink(), encoder: enc });
    const b = new Capture(enc);
    await routes.peerUp(peer('Mesh_B'), b);
    b.take();
    await routes.refresh('Mesh_B');
    expect(b.take().map((s) => s.kind)).toEqual(['update', 'eor']);
  });

  it('finds the longest match for `show route for` and renders RouteViews', async () => {
    const routes = new RouteEngine({ intent: intent({ ownBlocks: ['10.244.1.0/26'] }), sink: new MockSink(), encoder: new RecordingEncoder() });
    await routes.peerUp(peer('Mesh_B'), new Capture(new RecordingEncoder()));
    await routes.peerUpdate('Mesh_B', announce(['10.244.0.0/16', '10.244.151.0/26'], attrs({ nextHop: '172.16.30.8', med: 5, communities: [(64512 << 16) | 7] })));
    const forAddr = [...routeViews(routes, { forAddress: '10.244.151.9' })];
    expect(forAddr.map((r) => r.prefix)).toEqual(['10.244.151.0/26']);
    expect(forAddr[0]).toMatchObject({
      dest: 'unicast', protocol: 'Mesh_B', primary: true, preference: 100, source: 'BGP',
      nextHops: [{ gateway: '172.16.30.8', dev: 'tunl0', onlink: true }],
      bgp: { origin: 'IGP', asPath: [], nextHop: '172.16.30.8', med: 5, localPref: 100, communities: [[64512, 7]] },
    });
    expect([...routeViews(routes, { forAddress: '10.244.9.9' })].map((r) => r.prefix)).toEqual(['10.244.0.0/16']);
    expect([...routeViews(routes, { forAddress: '10.244.1.3' })].map((r) => [r.prefix, r.dest, r.protocol, r.source])).toEqual([['10.244.1.0/26', 'blackhole', 'static1', 'static']]);
    expect([...routeViews(routes, { table: 'master6' })]).toEqual([]);
    expect([...routeViews(routes, { table: 'master4' })]).toHaveLength(3);
  });

  it('marks a route the kernel refused, and records the failure without throwing', async () => {
    const sink = new MockSink({ refuse: (r) => (r.prefix === '10.244.151.0/26' ? 'Nexthop has invalid gateway.' : undefined) });
    const routes = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink, encoder: new RecordingEncoder() });
    await routes.peerUp(peer('Mesh_B'), new Capture(new RecordingEncoder()));
    await routes.peerUpdate('Mesh_B', announce(['10.244.151.0/26', '10.244.152.0/26'], attrs({ nextHop: '172.16.30.8' })));
    await routes.settled();
    expect(sink.snapshot().map((r) => r.prefix)).toEqual(['10.244.152.0/26']);
    expect(routes.sinkFailureTotal).toBe(1);
    expect(routes.sinkFailures[0]).toMatchObject({ route: { prefix: '10.244.151.0/26' }, reason: 'Nexthop has invalid gateway.' });
    const views = [...routeViews(routes, {})];
    expect(views.find((v) => v.prefix === '10.244.151.0/26')?.kernelRejected).toBe(true);
    expect(views.find((v) => v.prefix === '10.244.152.0/26')?.kernelRejected).toBeUndefined();
  });
});

