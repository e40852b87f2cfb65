/**
 * The shared Adj-RIB-Out of an export class: peers that joined before the class was told anything
 * and never were the source of a best route share one Adj-RIB-Out (one record per prefix, one
 * encoding per batch). Split horizon, route refresh, late joiners and peers leaving must look,
 * from each peer's side, exactly as with an Adj-RIB-Out per peer.
 */
import { describe, expect, it, vi } from 'vitest';
import { AdjRibOut } from '../../daemon/rib/adj-rib-out.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { announce, attrs, Capture, intent, peer, pool, RecordingEncoder, withdraw } from './helpers.js';

const CLUSTER = '244.0.0.1';
const client = (n: number) => peer(`Node_c${n}`, { peerIp: `172.16.30.${n}`, neighborId: `172.16.30.${n}`, rrClient: true });
const EBGP = peer('Global_198_51_100_1', { ibgp: false, peerAs: 65001, peerIp: '198.51.100.1', neighborId: '198.51.100.1' });
const P = '10.244.2.0/26';

async function reflector(clients: number, ownBlocks: string[] = []) {
  const enc = new RecordingEncoder();
  const engine = new RouteEngine({
    intent: intent({ rrClusterId: CLUSTER, pools: [pool('10.244.0.0/16', { ipipMode: 'Never' })], ownBlocks }),
    sink: new MockSink(),
    encoder: enc,
  });
  const out: Capture[] = [];
  for (let i = 0; i < clients; i++) {
    out.push(new Capture(enc));
    await engine.peerUp(client(3 + i), out[i]!);
  }
  const ext = new Capture(enc);
  await engine.peerUp(EBGP, ext);
  return { engine, enc, out, ext };
}

// A longer AS path than the eBGP route's, so that one wins while it is there.
const fromC3 = attrs({ nextHop: '172.16.30.3', asPath: [{ type: 2, asns: [65010, 65011] }] });
const fromEbgp = attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', localPref: undefined });

describe('shared Adj-RIB-Out of an export class', () => {
  it('never sends a route back to the member it came from, and follows the best route to and from it', async () => {
    const { engine, out } = await reflector(3);
    const [c3, c4, c5] = out as [Capture, Capture, Capture];
    await engine.peerUpdate('Node_c3', announce([P], fromC3));
    await engine.settled();
    expect(c3.table().has(P)).toBe(false);
    for (const c of [c4, c5]) expect(c.table().get(P)).toMatchObject({ nextHop: '172.16.30.3', originatorId: '172.16.30.3', clusterList: [CLUSTER] });
    // An eBGP route wins: c3 now gets it too, the others get the new attributes.
    await engine.peerUpdate(EBGP.name, announce([P], fromEbgp));
    await engine.settled();
    for (const c of [c3, c4, c5]) expect(c.table().get(P)).toMatchObject({ nextHop: '198.51.100.1', asPath: [{ type: 2, asns: [65001] }] });
    expect(c3.table().get(P)?.originatorId).toBeUndefined();
    // It goes away: c3's own route is best again, so c3 gets a withdrawal and the others c3's route.
    c3.take();
    await engine.peerUpdate(EBGP.name, withdraw([P]));
    await engine.settled();
    const toC3 = c3.take();
    expect(toC3).toEqual([expect.objectContaining({ kind: 'withdraw', prefixes: [P] })]);
    for (const c of [c4, c5]) expect(c.table().get(P)).toMatchObject({ nextHop: '172.16.30.3', originatorId: '172.16.30.3' });
    expect(engine.counters('Node_c3').exported).toBe(0);
    expect(engine.counters('Node_c4').exported).toBe(1);
  });

  it('sends every sharing member the same messages, each once, with per-member counters as before', async () => {
    const { engine, out, ext } = await reflector(3);
    ext.take();
    const prefixes = Array.from({ length: 20 }, (_, i) => `10.244.${10 + i}.0/26`);
    await engine.peerUpdate(EBGP.name, announce(prefixes, fromEbgp));
    await engine.settled();
    const sent = out.map((c) => c.take());
    expect(sent[0]!.flatMap((m) => (m.kind === 'update' ? m.prefixes : [])).sort()).toEqual([...prefixes].sort());
    for (const s of sent.slice(1)) expect(s).toEqual(sent[0]);
    expect(ext.take()).toHaveLength(0);
    for (const c of ['Node_c3', 'Node_c4', 'Node_c5']) {
      expect(engine.counters(c)).toMatchObject({ exported: 20, exportUpdates: { received: 20, accepted: 20, filtered: 0, rejected: 0 } });
    }
    await engine.peerUpdate(EBGP.name, withdraw(prefixes.slice(0, 5)));
    await engine.settled();
    for (const c of ['Node_c3', 'Node_c4', 'Node_c5']) {
      expect(engine.counters(c)).toMatchObject({ exported: 15, exportWithdraws: { received: 5, accepted: 5 } });
    }
  });

  it('a member whose routes went nowhere while it was alone does not get them back when another peer joins', async () => {
    const enc = new RecordingEncoder();
    const engine = new RouteEngine({ intent: intent({ rrClusterId: CLUSTER, pools: [pool('10.244.0.0/16', { ipipMode: 'Never' })], ownBlocks: [] }), sink: new MockSink(), encoder: enc });
    const c3 = new Capture(enc);
    await engine.peerUp(client(3), c3);
    await engine.peerUpdate('Node_c3', announce([P], fromC3));
    const c4 = new Capture(enc);
    await engine.peerUp(client(4), c4);
    await engine.settled();
    expect(c4.table().get(P)).toMatchObject({ nextHop: '172.16.30.3', originatorId: '172.16.30.3' });
    expect(c3.table().has(P)).toBe(false);
    const c5 = new Capture(enc);
    await engine.peerUp(client(5), c5);
    await engine.settled();
    expect(c5.table().has(P)).toBe(true);
    expect(c3.table().has(P)).toBe(false);
  });

  it('a late joiner gets the whole table; a route refresh resends one member its table and nothing to the others', async () => {
    const { engine, enc, out } = await reflector(2);
    const prefixes = ['10.244.20.0/26', '10.244.21.0/26', '10.244.22.0/26'];
    await engine.peerUpdate(EBGP.name, announce(prefixes, fromEbgp));
    await engine.settled();
    const late = new Capture(enc);
    await engine.peerUp(client(9), late);
    expect([...late.table().keys()].sort()).toEqual(prefixes);
    for (const c of out) c.take();
    late.take();
    await engine.refresh('Node_c4');
    await engine.settled();
    const again = out[1]!.take();
    expect(again.flatMap((m) => (m.kind === 'update' ? m.prefixes : [])).sort()).toEqual(prefixes);
    expect(again.at(-1)).toMatchObject({ kind: 'eor' });
    expect(out[0]!.take()).toHaveLength(0);
    expect(late.take()).toHaveLength(0);
    // After its refresh the member still follows every change, as do the others.
    await engine.peerUpdate(EBGP.name, withdraw([prefixes[0]!]));
    await engine.settled();
    for (const c of [...out, late]) expect(c.take()).toEqual([expect.objectContaining({ kind: 'withdraw', prefixes: [prefixes[0]] })]);
    expect(engine.counters('Node_c4')).toMatchObject({ exported: 2, exportUpdates: { accepted: 3 }, exportWithdraws: { accepted: 1 } });
  });

  it('members leaving keep the others served; after the last one leaves nothing is held', async () => {
    const { engine, enc, out } = await reflector(3);
    await engine.peerUpdate(EBGP.name, announce(['10.244.30.0/26'], fromEbgp));
    await engine.peerDown('Node_c3');
    await engine.peerUpdate(EBGP.name, announce(['10.244.31.0/26'], fromEbgp));
    await engine.settled();
    expect(out[1]!.table().size).toBe(2);
    expect(out[0]!.table().size).toBe(1);
    await engine.peerDown('Node_c4');
    await engine.peerDown('Node_c5');
    // A new member of the class now starts a shared Adj-RIB-Out of its own with the whole table.
    const fresh = new Capture(enc);
    await engine.peerUp(client(7), fresh);
    expect([...fresh.table().keys()].sort()).toEqual(['10.244.30.0/26', '10.244.31.0/26']);
    expect(engine.counters('Node_c7')).toMatchObject({ exported: 2, exportUpdates: { received: 2, accepted: 2 } });
    await engine.peerUpdate(EBGP.name, withdraw(['10.244.30.0/26', '10.244.31.0/26']));
    await engine.settled();
    expect(fresh.table().size).toBe(0);
    expect(engine.counters('Node_c7').exported).toBe(0);
  });

  it('in a full mesh each peer, alone in a fresh shared Adj-RIB-Out when its own route comes, keeps it as its own and is served as before', async () => {
    // Calico's node-to-node mesh: iBGP, no reflection, the node's own block in the table.
    const enc = new RecordingEncoder();
    const engine = new RouteEngine({ intent: intent({ pools: [pool('10.244.0.0/16', { ipipMode: 'Never' })] }), sink: new MockSink(), encoder: enc });
    const mesh = (n: number) => peer(`Mesh_172_16_30_${n}`, { peerIp: `172.16.30.${n}`, neighborId: `172.16.30.${n}` });
    const OWN = '10.244.1.0/26';
    const E = '10.244.9.0/26';
    const caps: Capture[] = [];
    const clone = vi.spyOn(AdjRibOut.prototype, 'clone');
    for (const n of [2, 3, 4]) {
      const c = new Capture(enc);
      caps.push(c);
      await engine.peerUp(mesh(n), c);
      await engine.peerUpdate(mesh(n).name, announce([`10.244.${n}.0/26`], attrs({ nextHop: `172.16.30.${n}` })));
    }
    await engine.settled();
    // Taken over, not copied.
    expect(clone).not.toHaveBeenCalled();
    clone.mockRestore();
    // iBGP-learned blocks go to no other mesh peer: each has the own block, once.
    for (const c of caps) expect([...c.table().keys()]).toEqual([OWN]);
    for (const c of caps) expect(c.take().filter((m) => m.kind === 'update')).toHaveLength(1);
    // Every one still follows changes, each told once, with its own counters.
    await engine.peerUp(EBGP, new Capture(enc));
    await engine.peerUpdate(EBGP.name, announce([E], fromEbgp));
    await engine.settled();
    for (const c of caps) expect(c.take()).toEqual([expect.objectContaining({ kind: 'update', prefixes: [E] })]);
    await engine.peerUpdate(EBGP.name, withdraw([E]));
    await engine.settled();
    for (const c of caps) expect(c.take()).toEqual([expect.objectContaining({ kind: 'withdraw', prefixes: [E] })]);
    for (const n of [2, 3, 4]) expect(engine.counters(mesh(n).name)).toMatchObject({ exported: 1, exportUpdates: { received: 2, accepted: 2 }, exportWithdraws: { accepted: 1 } });
    // A peer leaving releases what it held; a late joiner gets the table.
    await engine.peerDown(mesh(2).name);
    const late = new Capture(enc);
    await engine.peerUp(mesh(5), late);
    await engine.settled();
    expect([...late.table().keys()].sort()).toEqual([OWN]);
  });
});
