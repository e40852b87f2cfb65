/**
 * The RIB as a route reflector (RFC 4456): a node with a cluster id, two clients and one
 * non-client iBGP peer. What each peer receives, with which attributes, and what a looped route
 * does (nothing).
 */
import { describe, expect, it } from 'vitest';
import { RouteEngine } from '../../daemon/rib/index.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { announce, attrs, Capture, intent, peer, pool, RecordingEncoder, withdraw } from '../rib/helpers.js';

const CLUSTER = '244.0.0.1';
const OWN = '10.244.1.0/26';

async function reflector() {
  const enc = new RecordingEncoder();
  const sink = new MockSink();
  const engine = new RouteEngine({
    intent: intent({ rrClusterId: CLUSTER, pools: [pool('10.244.0.0/16', { ipipMode: 'Never' })], ownBlocks: [OWN] }),
    sink,
    encoder: enc,
  });
  const out = { c1: new Capture(enc), c2: new Capture(enc), nc: new Capture(enc) };
  await engine.peerUp(peer('Node_c1', { peerIp: '172.16.30.3', neighborId: '172.16.30.3', rrClient: true }), out.c1);
  await engine.peerUp(peer('Node_c2', { peerIp: '172.16.30.4', neighborId: '172.16.30.4', rrClient: true }), out.c2);
  await engine.peerUp(peer('Node_nc', { peerIp: '172.16.30.5', neighborId: '172.16.30.5', rrClient: false }), out.nc);
  return { engine, sink, out };
}

describe('RouteEngine as a route reflector', () => {
  it('a client route goes to the other client and the non-client, never back; next hop kept; ORIGINATOR_ID + CLUSTER_LIST set', async () => {
    const { engine, out } = await reflector();
    await engine.peerUpdate('Node_c1', announce(['10.244.2.0/26'], attrs({ nextHop: '172.16.30.3' })));
    await engine.settled();
    for (const p of [out.c2, out.nc]) {
      const a = p.table().get('10.244.2.0/26');
      expect(a).toMatchObject({ nextHop: '172.16.30.3', originatorId: '172.16.30.3', clusterList: [CLUSTER], localPref: 100 });
    }
    expect(out.c1.table().has('10.244.2.0/26')).toBe(false);
    // Own blocks go to everyone, without reflection attributes.
    for (const p of [out.c1, out.c2, out.nc]) {
      const a = p.table().get(OWN);
      expect(a?.originatorId).toBeUndefined();
      expect(a?.clusterList).toBeUndefined();
    }
    await engine.peerUpdate('Node_c1', withdraw(['10.244.2.0/26']));
    await engine.settled();
    expect(out.c2.table().has('10.244.2.0/26')).toBe(false);
    expect(out.nc.table().has('10.244.2.0/26')).toBe(false);
  });

  it('a non-client route goes to clients only', async () => {
    const { engine, out } = await reflector();
    await engine.peerUpdate('Node_nc', announce(['10.244.3.0/26'], attrs({ nextHop: '172.16.30.5' })));
    await engine.settled();
    expect(out.c1.table().get('10.244.3.0/26')).toMatchObject({ nextHop: '172.16.30.5', originatorId: '172.16.30.5', clusterList: [CLUSTER] });
    expect(out.c2.table().has('10.244.3.0/26')).toBe(true);
    expect(out.nc.table().has('10.244.3.0/26')).toBe(false);
  });

  it('an already reflected route keeps its originator and gets our cluster id in front', async () => {
    const { engine, out } = await reflector();
    await engine.peerUpdate('Node_nc', announce(['10.244.4.0/26'], attrs({ nextHop: '172.16.30.9', originatorId: '172.16.30.9', clusterList: ['244.0.0.2'] })));
    await engine.settled();
    expect(out.c1.table().get('10.244.4.0/26')).toMatchObject({ nextHop: '172.16.30.9', originatorId: '172.16.30.9', clusterList: [CLUSTER, '244.0.0.2'] });
  });

  it('looped routes (our cluster id, or our router id as originator) are dropped: not installed, not reflected', async () => {
    const { engine, sink, out } = await reflector();
    await engine.peerUpdate('Node_nc', announce(['10.244.5.0/26'], attrs({ nextHop: '172.16.30.5', originatorId: '172.16.30.7', clusterList: ['244.0.0.2', CLUSTER] })));
    await engine.peerUpdate('Node_c2', announce(['10.244.6.0/26'], attrs({ nextHop: '172.16.30.4', originatorId: '172.16.30.1', clusterList: ['244.0.0.2'] })));
    await engine.settled();
    expect(sink.snapshot().map((r) => r.prefix)).toEqual([OWN]);
    for (const p of [out.c1, out.c2, out.nc]) {
      expect(p.table().has('10.244.5.0/26')).toBe(false);
      expect(p.table().has('10.244.6.0/26')).toBe(false);
    }
  });

  it('a client (no cluster id) passes nothing learned over iBGP on', async () => {
    const enc = new RecordingEncoder();
    const engine = new RouteEngine({ intent: intent({ pools: [pool('10.244.0.0/16', { ipipMode: 'Never' })] }), sink: new MockSink(), encoder: enc });
    const rr1 = new Capture(enc);
    const rr2 = new Capture(enc);
    await engine.peerUp(peer('Node_rr1', { peerIp: '172.16.30.11' }), rr1);
    await engine.peerUp(peer('Node_rr2', { peerIp: '172.16.30.12' }), rr2);
    await engine.peerUpdate('Node_rr1', announce(['10.244.7.0/26'], attrs({ nextHop: '172.16.30.4', originatorId: '172.16.30.4', clusterList: [CLUSTER] })));
    await engine.settled();
    expect(rr2.table().has('10.244.7.0/26')).toBe(false);
    expect([...rr2.table().keys()]).toEqual(['10.244.1.0/26']);
  });
});
