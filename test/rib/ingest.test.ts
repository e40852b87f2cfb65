/**
 * The import path as a session drives it: UPDATEs applied at once while the engine is idle, queued
 * in call order behind other work, and the engine without a kernel table (`--sink none`).
 */
import { describe, expect, it } from 'vitest';
import { RouteEngine } from '../../daemon/rib/index.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { announce, attrs, Capture, intent, peer, RecordingEncoder, withdraw } from './helpers.js';

const EBGP = peer('Global_172_16_40_1', { ibgp: false, peerAs: 65001, peerIp: '172.16.40.1', neighborId: '172.16.40.1', localAddress: '172.16.40.2' });
const IBGP = peer('Mesh_172_16_30_2');

function setup(sink: MockSink | null = new MockSink()) {
  const enc = new RecordingEncoder();
  const engine = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink, encoder: enc, now: () => 1_700_000_000 });
  return { enc, sink, engine };
}

describe('RouteEngine.applyUpdate', () => {
  it('applies an UPDATE at once when the engine is idle: counters and routes are visible on return', async () => {
    const { engine } = setup();
    await engine.peerUp(EBGP, { send: () => undefined });
    await engine.settled();
    const r = engine.applyUpdate(EBGP.name, announce(['10.1.0.0/24', '10.1.1.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined })));
    expect(r).not.toBeInstanceOf(Promise);
    expect(r).toEqual({ maxPrefixExceeded: false, prefixes: 2 });
    expect(engine.counters(EBGP.name)).toMatchObject({ imported: 2, preferred: 2 });
    expect(engine.routeCount()).toMatchObject({ routes: 2, networks: 2, primary: 2, attributeSets: 1 });
  });

  it('applied at once: the same set again is ignored, a new set replaces the old one (freed), a withdrawal frees the last', async () => {
    const { engine } = setup();
    await engine.peerUp(EBGP, { send: () => undefined });
    await engine.settled();
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined, med: 1 });
    const b = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined, med: 2 });
    const cidrs = ['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24'];
    engine.applyUpdate(EBGP.name, announce(cidrs, a));
    engine.applyUpdate(EBGP.name, announce(cidrs, { ...a, asPath: [{ type: 2, asns: [65001] }] }));
    expect(engine.counters(EBGP.name).importUpdates).toMatchObject({ received: 6, accepted: 3, ignored: 3 });
    expect(engine.routeCount()).toMatchObject({ routes: 3, attributeSets: 1 });
    engine.applyUpdate(EBGP.name, announce(cidrs.slice(0, 2), b));
    expect(engine.routeCount()).toMatchObject({ routes: 3, attributeSets: 2 });
    expect([...engine.listRoutes()].find((r) => r.prefix === '10.1.0.0/24')?.attrs.med).toBe(2);
    engine.applyUpdate(EBGP.name, announce(cidrs.slice(2), b));
    expect(engine.routeCount()).toMatchObject({ routes: 3, attributeSets: 1 });
    engine.applyUpdate(EBGP.name, withdraw(cidrs));
    expect(engine.routeCount()).toMatchObject({ routes: 0, networks: 0, attributeSets: 0 });
  });

  it('applied at once: an UPDATE of more prefixes than one announce run (600: runs of 256, 256, 88) stores, decides and counts every one', async () => {
    const { engine } = setup();
    await engine.peerUp(EBGP, { send: () => undefined });
    await engine.settled();
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined });
    const cidrs = Array.from({ length: 600 }, (_, i) => `10.${2 + (i >> 8)}.${i & 255}.0/24`);
    const r = engine.applyUpdate(EBGP.name, announce(cidrs, a));
    expect(r).toEqual({ maxPrefixExceeded: false, prefixes: 600 });
    expect(engine.counters(EBGP.name)).toMatchObject({ imported: 600, preferred: 600 });
    expect(engine.routeCount()).toMatchObject({ routes: 600, networks: 600, primary: 600, attributeSets: 1 });
    const listed = new Set([...engine.listRoutes()].map((x) => x.prefix));
    expect(cidrs.every((c) => listed.has(c))).toBe(true);
    // Across run boundaries again: 300 known (ignored), 300 new.
    const more = cidrs.slice(300).concat(Array.from({ length: 300 }, (_, i) => `10.9.${i & 255}.${i >> 8}/32`));
    engine.applyUpdate(EBGP.name, announce(more, a));
    expect(engine.counters(EBGP.name).importUpdates).toMatchObject({ received: 1200, accepted: 900, ignored: 300 });
    expect(engine.routeCount()).toMatchObject({ routes: 900, attributeSets: 1 });
  });

  it('applied at once: a set with our AS in its path is filtered and a treat-as-withdraw UPDATE withdraws, as when queued', async () => {
    const { engine } = setup();
    await engine.peerUp(EBGP, { send: () => undefined });
    await engine.settled();
    const ok = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined });
    engine.applyUpdate(EBGP.name, announce(['10.1.0.0/24', '10.1.1.0/24'], ok));
    const loop = attrs({ asPath: [{ type: 2, asns: [65001, 64512] }], localPref: undefined });
    engine.applyUpdate(EBGP.name, announce(['10.1.0.0/24'], loop));
    expect(engine.counters(EBGP.name).importUpdates).toMatchObject({ received: 3, accepted: 2, filtered: 1 });
    expect(engine.routeCount()).toMatchObject({ routes: 1 });
    engine.applyUpdate(EBGP.name, { ...announce(['10.1.1.0/24'], ok), treatAsWithdraw: true });
    expect(engine.routeCount()).toMatchObject({ routes: 0, attributeSets: 0 });
  });

  it('applied at once: the import checks follow a new intent (a route reflector cluster id set after the first UPDATEs)', async () => {
    const { engine } = setup();
    await engine.peerUp(IBGP, { send: () => undefined });
    await engine.settled();
    const reflected = attrs({ originatorId: '172.16.30.9', clusterList: ['1.2.3.4'] });
    engine.applyUpdate(IBGP.name, announce(['10.1.0.0/24'], reflected));
    expect(engine.counters(IBGP.name).importUpdates).toMatchObject({ received: 1, accepted: 1 });
    await engine.setIntent(intent({ ownBlocks: [], rrClusterId: '1.2.3.4' }));
    // Our cluster id in the CLUSTER_LIST now: a loop (RFC 4456 §8), filtered and withdrawn.
    engine.applyUpdate(IBGP.name, announce(['10.1.0.0/24', '10.1.1.0/24'], reflected));
    expect(engine.counters(IBGP.name).importUpdates).toMatchObject({ received: 3, accepted: 1, filtered: 2 });
    expect(engine.routeCount()).toMatchObject({ routes: 0 });
  });

  it('queues behind a running task and keeps call order (announce, then withdraw, then announce again)', async () => {
    const { engine } = setup();
    const up = engine.peerUp(EBGP, { send: () => undefined });
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined });
    // peerUp is still queued: these must wait for it and run in order.
    const r1 = engine.applyUpdate(EBGP.name, announce(['10.2.0.0/24'], a));
    const r2 = engine.applyUpdate(EBGP.name, withdraw(['10.2.0.0/24']));
    const r3 = engine.applyUpdate(EBGP.name, announce(['10.2.0.0/24', '10.2.1.0/24'], a));
    expect(r1).toBeInstanceOf(Promise);
    expect(r2).toBeInstanceOf(Promise);
    expect(r3).toBeInstanceOf(Promise);
    await up;
    expect((await r1).prefixes).toBe(1);
    expect((await r2).prefixes).toBe(0);
    expect((await r3).prefixes).toBe(2);
    expect(engine.counters(EBGP.name)).toMatchObject({ imported: 2 });
    expect(engine.counters(EBGP.name).importWithdraws).toMatchObject({ received: 1, accepted: 1 });
    // Idle again: the next one is applied at once.
    expect(engine.applyUpdate(EBGP.name, withdraw(['10.2.1.0/24']))).toEqual({ maxPrefixExceeded: false, prefixes: 1 });
  });

  it('exports what it applied at once to the other peers, and installs it in the sink', async () => {
    const { enc, sink, engine } = setup();
    const out = new Capture(enc);
    await engine.peerUp(EBGP, { send: () => undefined });
    await engine.peerUp(IBGP, out);
    out.take();
    engine.applyUpdate(EBGP.name, announce(['10.244.3.0/26'], attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined, nextHop: '172.16.40.1' })));
    const sent = out.take().filter((s) => s.kind === 'update');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ prefixes: ['10.244.3.0/26'] });
    await engine.settled();
    expect(sink!.snapshot().map((r) => r.prefix)).toEqual(['10.244.3.0/26']);
  });

  it('queues an UPDATE worth more than a few yields of work (exported to other peers), with the same outcome', async () => {
    const enc = new RecordingEncoder();
    const engine = new RouteEngine({ intent: intent({ ownBlocks: [] }), sink: new MockSink(), encoder: enc, yieldEvery: 8 });
    const out = new Capture(enc);
    await engine.peerUp(EBGP, { send: () => undefined });
    await engine.peerUp(IBGP, out);
    out.take();
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined, nextHop: '172.16.40.1' });
    const small = engine.applyUpdate(EBGP.name, announce(['10.244.4.0/26', '10.244.4.64/26'], a));
    expect(small).toEqual({ maxPrefixExceeded: false, prefixes: 2 });
    const cidrs = Array.from({ length: 40 }, (_, i) => `10.244.5.${i * 4}/30`);
    const big = engine.applyUpdate(EBGP.name, announce(cidrs, a));
    expect(big).toBeInstanceOf(Promise);
    expect(await big).toEqual({ maxPrefixExceeded: false, prefixes: 42 });
    await engine.settled();
    const told = out.take().flatMap((m) => (m.kind === 'update' ? m.prefixes : []));
    expect(told.sort()).toEqual(['10.244.4.0/26', '10.244.4.64/26', ...cidrs].sort());
    expect(engine.counters(EBGP.name)).toMatchObject({ imported: 42, preferred: 42 });
  });

  it('reports max-prefix exceeded from an UPDATE applied at once', async () => {
    const { engine } = setup();
    await engine.peerUp({ ...EBGP, maxPrefixes: 1, maxPrefixesAction: 'reset' }, { send: () => undefined });
    const r = engine.applyUpdate(EBGP.name, announce(['10.4.0.0/24', '10.4.1.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined })));
    expect(r).toEqual({ maxPrefixExceeded: true, prefixes: 2 });
  });
});

describe('RouteEngine without a kernel table (sink null)', () => {
  it('keeps the RIB and its counters, and reconciles nothing', async () => {
    const { engine } = setup(null);
    await engine.peerUp(EBGP, { send: () => undefined });
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], localPref: undefined });
    engine.applyUpdate(EBGP.name, announce(['10.5.0.0/24', '10.5.1.0/24', '10.5.2.0/24'], a));
    engine.applyUpdate(EBGP.name, withdraw(['10.5.1.0/24']));
    await engine.settled();
    expect(await engine.reconcileSink()).toEqual({ applied: 0, failures: [] });
    expect(engine.routeCount()).toMatchObject({ routes: 2, networks: 2 });
    expect(engine.counters(EBGP.name)).toMatchObject({ imported: 2, preferred: 2 });
    expect([...engine.listRoutes({ primaryOnly: true })].map((r) => r.prefix)).toEqual(['10.5.0.0/24', '10.5.2.0/24']);
    await engine.peerDown(EBGP.name);
    expect(engine.routeCount()).toMatchObject({ routes: 0, networks: 0, attributeSets: 0 });
  });
});
