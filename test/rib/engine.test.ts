import { describe, expect, it } from 'vitest';
import { RouteEngine, codecEncoder } from '../../daemon/rib/index.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { decodeUpdate, defaultCodecContext, type UpdateMessage } from '../../proto/index.js';
import { announce, attrs, Capture, intent, peer, pool, RecordingEncoder, withdraw, type Sent } from './helpers.js';
import { cidrToKey, packKeys } from '../../daemon/rib/keys.js';

function setup(over: Parameters<typeof intent>[0] = {}) {
  const enc = new RecordingEncoder();
  const sink = new MockSink();
  const engine = new RouteEngine({ intent: intent(over), sink, encoder: enc, now: () => 1_700_000_000 });
  return { enc, sink, engine };
}

const updates = (sent: Sent[]) => sent.filter((s) => s.kind === 'update');

describe('RouteEngine: origination and the initial table', () => {
  it('sends own blocks with next hop self, empty AS path and LOCAL_PREF 100 to iBGP, then End-of-RIB', async () => {
    const { enc, engine } = setup({ ownBlocks: ['10.244.1.0/26', '10.244.2.0/26', '10.244.3.7/32'], borrowed: ['10.244.9.5/32'] });
    const a = new Capture(enc);
    await engine.peerUp(peer('Mesh_172_16_30_2'), a);
    const sent = a.take();
    expect(sent.at(-1)).toEqual({ kind: 'eor', family: 4 });
    const u = updates(sent);
    // One UPDATE batch per attribute set: both blocks and the borrowed /32 share the same attributes.
    expect(u).toHaveLength(1);
    expect(u[0]).toMatchObject({ family: 4, prefixes: ['10.244.1.0/26', '10.244.2.0/26', '10.244.9.5/32'] });
    const at = (u[0] as Extract<Sent, { kind: 'update' }>).attrs;
    expect(at).toMatchObject({ origin: 0, asPath: [], nextHop: '172.16.30.1', localPref: 100 });
    expect(at.local).toBeUndefined();
  });

  it('prepends the local AS and sets next hop self toward eBGP peers, without LOCAL_PREF', async () => {
    const { enc, engine } = setup();
    const e = new Capture(enc);
    await engine.peerUp(peer('Global_172_16_40_1', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2' }), e);
    const u = updates(e.take())[0] as Extract<Sent, { kind: 'update' }>;
    expect(u.attrs.asPath).toEqual([{ type: 2, asns: [64512] }]);
    expect(u.attrs.nextHop).toBe('172.16.40.2');
    expect(u.attrs.localPref).toBeUndefined();
  });

  it('installs blackholes for own blocks, not for borrowed addresses', async () => {
    const { sink, engine } = setup({ ownBlocks: ['10.244.1.0/26'], borrowed: ['10.244.9.5/32'] });
    await engine.settled();
    expect(sink.snapshot()).toEqual([{ prefix: '10.244.1.0/26', type: 'blackhole' }]);
  });

  it('withdraws and uninstalls a block that leaves the intent, announces a new one', async () => {
    const { enc, sink, engine } = setup({ ownBlocks: ['10.244.1.0/26'] });
    const a = new Capture(enc);
    await engine.peerUp(peer('Mesh_172_16_30_2'), a);
    a.take();
    await engine.setIntent(intent({ ownBlocks: ['10.244.2.0/26'] }));
    await engine.settled();
    const sent = a.take();
    expect(sent.filter((s) => s.kind === 'withdraw')).toEqual([{ kind: 'withdraw', family: 4, prefixes: ['10.244.1.0/26'] }]);
    expect(updates(sent).map((s) => s.kind === 'update' && s.prefixes)).toEqual([['10.244.2.0/26']]);
    expect(sink.snapshot()).toEqual([{ prefix: '10.244.2.0/26', type: 'blackhole' }]);
  });

  it('re-evaluates exports when the pools change (disableBGPExport)', async () => {
    const { enc, engine } = setup({ ownBlocks: ['10.244.1.0/26'] });
    const a = new Capture(enc);
    await engine.peerUp(peer('Mesh_172_16_30_2'), a);
    a.take();
    await engine.setIntent(intent({ ownBlocks: ['10.244.1.0/26'], pools: [pool('10.244.0.0/16', { disableBGPExport: true })] }));
    expect(a.take()).toEqual([{ kind: 'withdraw', family: 4, prefixes: ['10.244.1.0/26'] }]);
  });
});

describe('RouteEngine: learned routes', () => {
  it('installs a learned IPIP route via the node, onlink on the IPIP device', async () => {
    const enc = new RecordingEncoder();
    const sink = new MockSink();
    const engine = new RouteEngine({ intent: intent(), sink, encoder: enc, ipipDevice: 'eth9' });
    await engine.peerUp(peer('Mesh_172_16_30_8', { peerIp: '172.16.30.8', neighborId: '172.16.30.8' }), new Capture(enc));
    await engine.peerUpdate('Mesh_172_16_30_8', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8' })));
    await engine.settled();
    expect(sink.snapshot()).toContainEqual({ prefix: '10.244.151.0/26', type: 'unicast', via: '172.16.30.8', dev: 'eth9', onlink: true });
  });

  it('does not send iBGP-learned routes to other iBGP peers, but does to eBGP peers (AS prepended, next hop self)', async () => {
    const { enc, engine } = setup({ ownBlocks: [] });
    const b = new Capture(enc);
    const c = new Capture(enc);
    await engine.peerUp(peer('Mesh_B', { peerIp: '172.16.30.8', neighborId: '172.16.30.8' }), new Capture(enc));
    await engine.peerUp(peer('Mesh_C', { peerIp: '172.16.30.9', neighborId: '172.16.30.9' }), b);
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2' }), c);
    b.take();
    c.take();
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8' })));
    expect(b.take()).toEqual([]);
    const toT = c.take();
    expect(toT).toHaveLength(1);
    expect(toT[0]).toMatchObject({ kind: 'update', prefixes: ['10.244.151.0/26'] });
    const at = (toT[0] as Extract<Sent, { kind: 'update' }>).attrs;
    expect(at).toMatchObject({ asPath: [{ type: 2, asns: [64512] }], nextHop: '172.16.40.2' });
    expect(at.localPref).toBeUndefined();
  });

  it('keeps the original next hop toward eBGP with keepOriginalNextHop; keeps it for eBGP-learned routes toward iBGP', async () => {
    const { enc, engine } = setup({ ownBlocks: [] });
    const t = new Capture(enc);
    const m = new Capture(enc);
    await engine.peerUp(peer('Mesh_B', { peerIp: '172.16.30.8', neighborId: '172.16.30.8' }), m);
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2', keepOriginalNextHop: true }), t);
    await engine.peerUp(peer('Global_U', { ibgp: false, peerAs: 65002, peerIp: '172.16.41.1', neighborId: '172.16.41.1', localAddress: '172.16.41.2' }), new Capture(enc));
    t.take();
    m.take();
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8' })));
    expect((t.take()[0] as Extract<Sent, { kind: 'update' }>).attrs.nextHop).toBe('172.16.30.8');
    await engine.peerUpdate('Global_U', announce(['10.244.200.0/26'], attrs({ nextHop: '172.16.41.1', asPath: [{ type: 2, asns: [65002] }], localPref: 999 })));
    const toMesh = m.take()[0] as Extract<Sent, { kind: 'update' }>;
    expect(toMesh.attrs).toMatchObject({ nextHop: '172.16.41.1', localPref: 100, asPath: [{ type: 2, asns: [65002] }] });
  });

  it('never sends a route back to the peer it came from, and rejects nested routes of own blocks', async () => {
    const { enc, engine } = setup({ ownBlocks: ['10.244.1.0/26'] });
    const t = new Capture(enc);
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2' }), t);
    t.take();
    await engine.peerUpdate('Global_T', announce(['10.244.8.0/26', '10.244.1.7/32'], attrs({ nextHop: '172.16.40.1', asPath: [{ type: 2, asns: [65001] }] })));
    expect(t.take()).toEqual([]);
    const u = new Capture(enc);
    await engine.peerUp(peer('Global_U', { ibgp: false, peerAs: 65002, peerIp: '172.16.41.1', localAddress: '172.16.41.2' }), u);
    const toU = u.table();
    expect([...toU.keys()].sort()).toEqual(['10.244.1.0/26', '10.244.8.0/26']);
    expect(toU.get('10.244.8.0/26')?.asPath).toEqual([{ type: 2, asns: [64512, 65001] }]);
  });

  it('prefers the better path and switches over when it is withdrawn (Adj-RIB-Out diffs only)', async () => {
    const { enc, sink, engine } = setup({ ownBlocks: [] });
    const t = new Capture(enc);
    await engine.peerUp(peer('Mesh_B', { peerIp: '172.16.30.8', neighborId: '172.16.30.8' }), new Capture(enc));
    await engine.peerUp(peer('Mesh_C', { peerIp: '172.16.30.9', neighborId: '172.16.30.9' }), new Capture(enc));
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2', keepOriginalNextHop: true }), t);
    t.take();
    await engine.peerUpdate('Mesh_C', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.9' })));
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8' })));
    await engine.settled();
    // Equal until the router id: B (…8) wins over C (…9).
    expect(t.table().get('10.244.151.0/26')?.nextHop).toBe('172.16.30.8');
    expect(sink.snapshot()[0]?.via).toBe('172.16.30.8');
    t.take();
    // The same announcement again changes nothing and sends nothing.
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8' })));
    expect(t.take()).toEqual([]);
    // A higher LOCAL_PREF on C wins.
    await engine.peerUpdate('Mesh_C', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.9', localPref: 200 })));
    expect(t.take().map((s) => s.kind === 'update' && s.attrs.nextHop)).toEqual(['172.16.30.9']);
    await engine.peerUpdate('Mesh_C', withdraw(['10.244.151.0/26']));
    await engine.settled();
    expect(t.take().map((s) => s.kind === 'update' && s.attrs.nextHop)).toEqual(['172.16.30.8']);
    expect(sink.snapshot()[0]?.via).toBe('172.16.30.8');
    await engine.peerDown('Mesh_B');
    await engine.settled();
    expect(t.take()).toEqual([{ kind: 'withdraw', family: 4, prefixes: ['10.244.151.0/26'] }]);
    expect(sink.snapshot()).toEqual([]);
    expect(engine.routeCount()).toMatchObject({ routes: 0, networks: 0, primary: 0 });
  });

  it('keeps each ADD-PATH path apart and withdraws them one by one', async () => {
    const { enc, engine, sink } = setup({ ownBlocks: [] });
    await engine.peerUp(peer('Mesh_B', { addPathRx: true }), new Capture(enc));
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.8', med: 20 }), [1]));
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.9', med: 10 }), [2]));
    await engine.settled();
    expect(engine.routeCount()).toMatchObject({ routes: 2, networks: 1 });
    expect(sink.snapshot()[0]?.via).toBe('172.16.30.9');
    await engine.peerUpdate('Mesh_B', { ...withdraw(['10.244.151.0/26']), withdrawnPathIds: Uint32Array.from([2]) });
    await engine.settled();
    expect(sink.snapshot()[0]?.via).toBe('172.16.30.8');
  });

  it('filters eBGP routes carrying our own AS, and treat-as-withdraw removes held routes', async () => {
    const { enc, engine } = setup({ ownBlocks: [] });
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2' }), new Capture(enc));
    await engine.peerUpdate('Global_T', announce(['10.9.0.0/24'], attrs({ asPath: [{ type: 2, asns: [65001, 64512] }] })));
    expect(engine.routeCount().routes).toBe(0);
    expect(engine.counters('Global_T').importUpdates).toMatchObject({ received: 1, filtered: 1 });
    await engine.peerUpdate('Global_T', announce(['10.9.1.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }] })));
    expect(engine.routeCount().routes).toBe(1);
    await engine.peerUpdate('Global_T', { ...announce(['10.9.1.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }] })), treatAsWithdraw: true });
    expect(engine.routeCount().routes).toBe(0);
  });

  it('signals max-prefix exceeded for reset, only warns for warn', async () => {
    const { enc, engine } = setup();
    await engine.peerUp(peer('Mesh_B', { maxPrefixes: 2 }), new Capture(enc));
    await engine.peerUp(peer('Mesh_C', { maxPrefixes: 2, maxPrefixesAction: 'warn' }), new Capture(enc));
    const three = ['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24'];
    expect(await engine.peerUpdate('Mesh_B', announce(three.slice(0, 2), attrs()))).toEqual({ maxPrefixExceeded: false, prefixes: 2 });
    expect(await engine.peerUpdate('Mesh_B', announce(three.slice(2), attrs()))).toEqual({ maxPrefixExceeded: true, prefixes: 3 });
    expect(await engine.peerUpdate('Mesh_C', announce(three, attrs()))).toEqual({ maxPrefixExceeded: false, prefixes: 3 });
  });

  it('counts per peer in BIRD terms and lists routes primary first', async () => {
    const { enc, engine } = setup({ ownBlocks: ['10.244.1.0/26'] });
    const b = new Capture(enc);
    await engine.peerUp(peer('Mesh_B', { peerIp: '172.16.30.8', neighborId: '172.16.30.8' }), b);
    await engine.peerUp(peer('Mesh_C', { peerIp: '172.16.30.9', neighborId: '172.16.30.9' }), new Capture(enc));
    await engine.peerUpdate('Mesh_B', announce(['10.244.151.0/26', '10.244.1.0/26'], attrs({ nextHop: '172.16.30.8' })));
    await engine.peerUpdate('Mesh_C', announce(['10.244.151.0/26'], attrs({ nextHop: '172.16.30.9' })));
    await engine.peerUpdate('Mesh_B', withdraw(['10.244.99.0/26']));
    const cb = engine.counters('Mesh_B');
    expect(cb).toMatchObject({ imported: 2, exported: 1, preferred: 1 });
    expect(cb.importUpdates).toMatchObject({ received: 2, accepted: 2 });
    expect(cb.importWithdraws).toMatchObject({ received: 1, ignored: 1 });
    expect(engine.routeCount()).toMatchObject({ routes: 4, networks: 2, primary: 2 });
    const rows = [...engine.listRoutes({ prefix: '10.244.151.0/26' })];
    expect(rows.map((r) => [r.protocol, r.primary, r.via])).toEqual([
      ['Mesh_B', true, '172.16.30.8'],
      ['Mesh_C', false, '172.16.30.9'],
    ]);
    expect(rows[0]?.dev).toBe('tunl0');
    const own = [...engine.listRoutes({ prefix: '10.244.1.0/26' })];
    expect(own.map((r) => [r.protocol, r.primary, r.type, r.preference])).toEqual([
      ['static1', true, 'blackhole', 200],
      ['Mesh_B', false, 'unicast', 100],
    ]);
    expect([...engine.listRoutes({ protocol: 'Mesh_C' })].map((r) => r.prefix)).toEqual(['10.244.151.0/26']);
  });
});

describe('RouteEngine with the real codec', () => {
  it('packs many NLRI per UPDATE and the bytes decode back to the same routes', async () => {
    const engine = new RouteEngine({ intent: intent({ ownBlocks: [], pools: [pool('10.0.0.0/8')] }), sink: new MockSink(), encoder: codecEncoder });
    const msgs: Uint8Array[] = [];
    await engine.peerUp(peer('Mesh_B', { peerIp: '172.16.30.8' }), { send: (m) => msgs.push(...m) });
    await engine.peerUp(peer('Global_T', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', localAddress: '172.16.40.2' }), { send: () => undefined });
    const prefixes = Array.from({ length: 2000 }, (_, i) => `10.${200 + (i >> 8)}.${i & 255}.0/24`);
    await engine.peerUpdate('Global_T', announce(prefixes, attrs({ nextHop: '172.16.40.1', asPath: [{ type: 2, asns: [65001] }] })));
    const ctx = defaultCodecContext();
    const decoded = msgs.map((m) => decodeUpdate(m, ctx) as UpdateMessage);
    const eor = decoded.filter((d) => d.nlri.length === 0 && d.withdrawn.length === 0);
    expect(eor).toHaveLength(1);
    const withRoutes = decoded.filter((d) => d.nlri.length > 0);
    // 2000 /24s at 4 bytes each need 2 full-size UPDATEs, not 2000.
    expect(withRoutes.length).toBeLessThanOrEqual(3);
    expect(withRoutes.reduce((n, d) => n + d.nlri.length / 2, 0)).toBe(2000);
    expect(withRoutes[0]?.attrs).toMatchObject({ nextHop: '172.16.40.1', localPref: 100, asPath: [{ type: 2, asns: [65001] }] });
    // The codec's decoded UPDATE feeds the engine directly.
    const back = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink: new MockSink(), encoder: codecEncoder });
    await back.peerUp(peer('Mesh_A'), { send: () => undefined });
    for (const d of decoded) await back.peerUpdate('Mesh_A', d);
    expect(back.routeCount().routes).toBe(2000);
  });
});

describe('RouteEngine: IPv6', () => {
  it('originates and installs v6 blocks, exports them only on sessions with an IPv6 next hop', async () => {
    const enc = new RecordingEncoder();
    const sink = new MockSink();
    const engine = new RouteEngine({
      intent: intent({ pools: [pool('10.244.0.0/16'), pool('fd00:10::/64', { ipipMode: 'Never' })], ownBlocks: ['10.244.1.0/26', 'fd00:10::40/122'], ipv6Address: 'fd00::1' }),
      sink, encoder: enc,
    });
    const v4only = new Capture(enc);
    const v6 = new Capture(enc);
    await engine.peerUp(peer('Mesh_A', { families: [4, 6] }), v4only);
    await engine.peerUp(peer('Mesh_fd00__2', { peerIp: 'fd00::2', localAddress: 'fd00::1', families: [6] }), v6);
    expect([...v4only.table().keys()]).toEqual(['10.244.1.0/26']);
    expect(engine.counters('Mesh_A').exportUpdates.rejected).toBe(1);
    const t6 = v6.table();
    expect([...t6.keys()]).toEqual(['fd00:10::40/122']);
    expect(t6.get('fd00:10::40/122')?.nextHop).toBe('fd00::1');
    expect(v6.sent.filter((s) => s.kind === 'eor')).toEqual([{ kind: 'eor', family: 6 }]);
    await engine.peerUpdate('Mesh_fd00__2', {
      withdrawn: new Uint32Array(0), nlri: new Uint32Array(0), treatAsWithdraw: false,
      attrs: attrs({ nextHop: undefined, localPref: 100 }),
      mpReach: { afi: 2, safi: 1, nextHop: ['fd00::2', 'fe80::2'], nlri: packKeys(6, [cidrToKey('fd00:10::80/122')]) },
    });
    await engine.settled();
    expect(sink.snapshot()).toEqual([
      { prefix: '10.244.1.0/26', type: 'blackhole' },
      { prefix: 'fd00:10::40/122', type: 'blackhole' },
      { prefix: 'fd00:10::80/122', type: 'unicast', via: 'fd00::2' },
    ]);
    const row = [...engine.listRoutes({ forAddress: 'fd00:10::81' })][0];
    expect(row).toMatchObject({ prefix: 'fd00:10::80/122', protocol: 'Mesh_fd00__2', via: 'fd00::2' });
    expect(row?.attrs.nextHopLinkLocal).toBe('fe80::2');
  });
});

describe('RouteEngine with the real codec, IPv6', () => {
  it('sends own v6 blocks in MP_REACH_NLRI with our address as next hop, then the v6 End-of-RIB', async () => {
    const engine = new RouteEngine({ intent: intent({ pools: [pool('fd00:10::/64', { ipipMode: 'Never' })], ownBlocks: ['fd00:10::40/122'] }), sink: new MockSink() });
    const msgs: Uint8Array[] = [];
    await engine.peerUp(peer('Mesh_fd00__2', { peerIp: 'fd00::2', localAddress: 'fd00::1', families: [6] }), { send: (m) => msgs.push(...m) });
    const decoded = msgs.map((m) => decodeUpdate(m, defaultCodecContext()));
    expect(decoded).toHaveLength(2);
    expect(decoded[0]?.mpReach?.nextHop).toEqual(['fd00::1']);
    expect(Array.from(decoded[0]?.mpReach?.nlri ?? [])).toEqual(Array.from(packKeys(6, [cidrToKey('fd00:10::40/122')])));
    expect(decoded[1]?.endOfRib).toEqual({ afi: 2, safi: 1 });
  });
});
