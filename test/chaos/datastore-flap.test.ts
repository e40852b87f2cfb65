/**
 * Issue 8, chaos: a node's datastore entry flaps while traffic flows. Two traffic nodes (A, B) with
 * a workload each, a third node C (running petrel, with its own block) and a BIRD 2 bastion, mesh
 * on. While a continuous ping runs from A's workload to B's, C's Node resource is deleted and
 * re-applied several times, then the bastion's BGPPeer is too. The A–B sessions must never reset
 * (same `since` on both control sockets, one "session established" each), the ping must lose
 * nothing, and afterwards every kernel table must equal what the datastore implies. (Deleting a
 * Node releases its block affinities, as in Calico: from the first flap on, C's workload address
 * sits in a block with no affinity and C announces it as a /32.)
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatastore, type Resource } from '../../config/index.js';
import { addNamespace, attachToBridge, nsExec } from '../../tools/lab/netns.js';
import { GrLab, type GrNode, type LogLine, type PingResult } from '../gr/gr-lab.js';
import { advertisedBy, bgpProtocols, impliedRoutes, meshName, routeDiff, withPrefixLengths } from './implied.js';
import { labForFile } from '../support/lab-lifecycle.js';

const OCTET = 7;
const lab = new GrLab('pt-flap', OCTET);
const a = () => lab.node('node-a');
const b = () => lab.node('node-b');
const c = () => lab.node('node-c');
const FLAPS = 4;
const measured: Record<string, unknown> = {};

const nodeC = (ip: string): Resource => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-c' }, spec: { bgp: { ipv4Address: `${ip}/24` } } });
const bastionPeer = (ip: string): Resource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'bastion' }, spec: { peerIP: ip, asNumber: 64512 } });

/** A third node on the same bridge, with its own block and petrel; the bastion restarts to peer with it too. */
async function addNodeC(): Promise<void> {
  const n: GrNode = { name: 'node-c', ns: `${lab.prefix}-n2`, ip: `10.81.${OCTET}.13`, ctl: join(lab.dir, 'node-c.ctl'), wl: `${lab.prefix}-w2`, block: '', addr: '', runs: [] };
  lab.nodes.push(n);
  await addNamespace(n.ns);
  await attachToBridge(lab.hub, 'br0', n.ns, 'eth0', `${n.ip}/24`);
  const ds = openDatastore(lab.datastore);
  try {
    await ds.apply([nodeC(n.ip)]);
    const got = await ds.allocate({ node: n.name, borrow: false });
    n.block = got.block;
    n.addr = got.ip;
  } finally {
    await ds.close();
  }
  await lab.waitReady(lab.startPetrel(n.name));
  lab.bastion.proc!.signal('SIGTERM');
  await lab.bastion.proc!.waitExit();
  await lab.startBastion();
}

/** Every node's and the bastion's proto-bird table against the datastore; the differences, empty when equal. */
async function tableMismatches(): Promise<string[]> {
  const ds = openDatastore(lab.datastore);
  const snap = await ds.snapshot().finally(() => ds.close());
  const running = new Set(lab.nodes.map((n) => n.name));
  const out: string[] = [];
  for (const n of lab.nodes) out.push(...routeDiff(impliedRoutes(snap, n.name, running), withPrefixLengths(await lab.birdRoutes(n.ns))).map((d) => `${n.name} ${d}`));
  // The bastion (a global peer of every node) learns what each node announces from that node.
  const bst = new Map(lab.nodes.flatMap((n) => advertisedBy(snap, n.name).map((p) => [p, n.ip] as const)));
  out.push(...routeDiff(bst, withPrefixLengths(await lab.birdRoutes(lab.bastion.ns))).map((d) => `bastion ${d}`));
  return out;
}

/** The A→B and B→A session rows (name, state, since). */
async function trafficSessions(): Promise<string[]> {
  const ra = (await bgpProtocols(a().ctl)).get(meshName(b().ip));
  const rb = (await bgpProtocols(b().ctl)).get(meshName(a().ip));
  return [ra, rb].map((r) => `${r?.name} ${r?.state} ${r?.since} ${r?.info}`);
}

const establishedWith = (n: GrNode, peer: GrNode) => lab.logs(n.proc).filter((l: LogLine) => l.msg === 'session established' && String(l.peer).includes(peer.ip.replaceAll('.', '_'))).length;

/** Whether both A and B list (or do not list) a BGP protocol. */
async function bothList(name: string, present: boolean): Promise<boolean> {
  for (const n of [a(), b()]) if ((await bgpProtocols(n.ctl)).has(name) !== present) return false;
  return true;
}

/** Whether both A and B have the session up. */
async function bothEstablished(name: string): Promise<boolean> {
  for (const n of [a(), b()]) if ((await bgpProtocols(n.ctl)).get(name)?.info !== 'Established') return false;
  return true;
}

/** Whether both A and B route to C's workload through C. */
async function bothRouteToC(): Promise<boolean> {
  for (const n of [a(), b()]) if ((await lab.birdRoutes(n.ns)).get(c().addr) !== c().ip && !(await nsExec(n.ns, 'ip', ['route', 'get', c().addr])).includes(`via ${c().ip}`)) return false;
  return true;
}

labForFile(lab, {
  ready: async () => {
    await addNodeC();
    await lab.until('all three nodes and the bastion to hold every block', () => lab.converged(), 60_000);
  },
  upTimeoutMs: 150_000,
  report: () => `datastore flap: ${JSON.stringify(measured)}`,
});

describe('datastore entry flapping under traffic', () => {
  it("C's Node and the bastion's BGPPeer flap: A–B sessions never reset, the workload ping loses nothing, tables end as the datastore says", async () => {
    const before = await trafficSessions();
    expect(before.every((r) => r.includes(' up ') && r.includes('Established'))).toBe(true);
    const upsA = establishedWith(a(), b());
    const upsB = establishedWith(b(), a());
    const ping = lab.pingUntilStopped(a().wl, b().addr, 120, 0.05);
    await lab.until('traffic to flow', async () => ping.replies() >= 20);
    const ds = openDatastore(lab.datastore);
    const cName = meshName(c().ip);
    const bName = `Global_${lab.bastion.ip.replaceAll('.', '_')}`;
    const startedAt = Date.now();
    try {
      for (let i = 0; i < FLAPS; i++) {
        await ds.delete([{ kind: 'Node', name: 'node-c' }]);
        await lab.until(`A and B to drop C (flap ${i + 1})`, () => bothList(cName, false), 20_000);
        // C's routes go with its session (a deleted peer is released at once, not kept as stale).
        await lab.until(`C's routes to leave A and B (flap ${i + 1})`, async () => [...(await lab.birdRoutes(a().ns)).values(), ...(await lab.birdRoutes(b().ns)).values()].every((via) => via !== c().ip), 20_000);
        await ds.apply([nodeC(c().ip)]);
        // Each flap completes: the sessions with C come back and C's routes with them.
        await lab.until(`A and B to be established with C again (flap ${i + 1})`, () => bothEstablished(cName), 30_000);
        await lab.until(`A and B to route to C's workload again (flap ${i + 1})`, bothRouteToC, 20_000);
      }
      for (let i = 0; i < FLAPS; i++) {
        await ds.delete([{ kind: 'BGPPeer', name: 'bastion' }]);
        await lab.until(`A and B to drop the bastion (flap ${i + 1})`, () => bothList(bName, false), 20_000);
        await ds.apply([bastionPeer(lab.bastion.ip)]);
        await lab.until(`A and B to be established with the bastion again (flap ${i + 1})`, () => bothEstablished(bName), 30_000);
      }
    } finally {
      await ds.close();
    }
    const flapSeconds = (Date.now() - startedAt) / 1000;
    // Settled: C and the bastion back in every table, each table exactly what the datastore implies.
    await lab.until('every table to equal the datastore', async () => (await tableMismatches()).length === 0, 60_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${(await tableMismatches()).join('\n')}`);
    });
    const settledSeconds = (Date.now() - startedAt) / 1000;
    const n0 = ping.replies();
    await lab.until('a second more of replies', async () => ping.replies() >= n0 + 20, 20_000);
    const r: PingResult = await ping.stop();
    const after = await trafficSessions();
    measured.flap = { nodeFlaps: FLAPS, peerFlaps: FLAPS, flapSeconds, settledSeconds, ping: r, sessions: after };
    expect(r.error).toBeUndefined();
    expect(r.transmitted).toBeGreaterThan(100);
    expect(r.lost).toBe(0);
    // Never reset: the same `since` on both sides, and no second "session established" in either log.
    expect(after).toEqual(before);
    expect(establishedWith(a(), b())).toBe(upsA);
    expect(establishedWith(b(), a())).toBe(upsB);
    // C's daemon kept running through the deletions of its own entry (it keeps the last good configuration).
    expect(c().proc?.exit).toBeUndefined();
    expect(await nsExec(a().ns, 'ip', ['route', 'get', c().addr])).toContain(`via ${c().ip}`);
  }, 240_000);
});
