/**
 * Issue 8, soak: a ten-node Petrel mesh in network namespaces (file datastore), then ~30 s of churn
 * through the datastore: blocks claimed and released through IPAM (allocate / release by handle /
 * releaseEmptyBlocks, /29 blocks so a handful of addresses claims a new block) and a global BGPPeer
 * added and removed. Afterwards every node's proto-bird table equals what the datastore implies
 * (its own blocks as blackholes, every other node's blocks via that node, nothing else), the
 * removed peer is gone everywhere, and no daemon's VmRSS grew past 1.5x + 20 MB of its figure after
 * a warm-up round of the same churn. Wall time about 60-90 s on two cores.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatastore, type Datastore, type Resource } from '../../config/index.js';
import { addBridge, addNamespace, attachToBridge, waitFor } from '../../tools/lab/netns.js';
import { MAIN } from '../support/dist-paths.js';
import { NsProcess } from '../support/ns-process.js';
import { untilAnswering } from '../support/control-socket-ready.js';
import { deleteNamespacesOf } from '../support/lab-namespaces.js';
import { calicoDocuments } from '../support/calico-yaml.js';
import { birdRouteTargets } from '../support/kernel-routes.js';
import { labForFile } from '../support/lab-lifecycle.js';
import { bgpProtocols, daemonPid, impliedRoutes, routeDiff, vmRssKb, withPrefixLengths } from './implied.js';

const NODES = 10;
/** PT_SOAK_CHURN_MS runs a longer soak by hand (the test timeout grows with it). */
const CHURN_MS = Number(process.env.PT_SOAK_CHURN_MS ?? 30_000);
const WARMUP_MS = 6_000;
const PREFIX = `pt-soak-${process.pid}`;
const HUB = `${PREFIX}-hub`;
const NET = '10.84.0';
/** A global peer nobody answers: added and removed during the churn. */
const GHOST_PEER = `${NET}.250`;

interface SoakNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly ctl: string;
  proc?: NsProcess;
  pid?: number;
}

let dir = '';
const nodes: SoakNode[] = [];
const measured: Record<string, unknown> = {};
const datastoreUrl = () => `file:${join(dir, 'cluster.yaml')}`;

function resources(): string {
  const docs = [
    'kind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: Warning }',
    'kind: IPPool\nmetadata: { name: soak-pool }\nspec: { cidr: 10.85.0.0/16, blockSize: 29, ipipMode: Never, vxlanMode: Never, natOutgoing: false, nodeSelector: all() }',
    ...nodes.map((n) => `kind: Node\nmetadata: { name: ${n.name} }\nspec: { bgp: { ipv4Address: ${n.ip}/24 } }`),
  ];
  return calicoDocuments(docs);
}

const ghostPeer = (): Resource => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name: 'soak-ghost' }, spec: { peerIP: GHOST_PEER, asNumber: 64512 } });

/** Proto-bird routes of a namespace: destination (with its length) → gateway or 'blackhole'. */
async function birdRoutes(ns: string): Promise<Map<string, string>> {
  return withPrefixLengths(await birdRouteTargets(ns));
}

/** Every node's table against the datastore: the differences, empty when all are equal. */
async function mismatches(ds: Datastore, only?: SoakNode): Promise<string[]> {
  const snap = await ds.snapshot();
  const running = new Set(nodes.map((n) => n.name));
  const out: string[] = [];
  for (const n of only ? [only] : nodes) out.push(...routeDiff(impliedRoutes(snap, n.name, running), await birdRoutes(n.ns)).map((d) => `${n.name} ${d}`));
  return out;
}

function diagnostics(): string {
  return nodes.map((n) => n.proc?.tail(8) ?? '').join('\n');
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> {
  try {
    return await waitFor(what, probe, timeoutMs, 200);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${diagnostics()}`);
  }
}

async function rssKb(): Promise<number[]> {
  return Promise.all(nodes.map((n) => vmRssKb(n.pid!)));
}

/**
 * Churn for `ms`: each step claims addresses (and so a new block) for one node, releases what an
 * earlier step claimed for another (and its empty blocks), and every fourth step adds or removes
 * the ghost peer. Paced by the datastore: a step waits until the node it touched has the table the
 * datastore implies. Returns the operation counts.
 */
async function churn(ds: Datastore, ms: number, tag: string): Promise<Record<string, number>> {
  const counts = { steps: 0, addressesClaimed: 0, blocksClaimed: 0, addressesReleased: 0, blocksReleased: 0, peerAdds: 0, peerRemoves: 0 };
  const held: { node: SoakNode; handle: string }[] = [];
  let ghost = false;
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end; i++) {
    const n = nodes[i % NODES]!;
    const handle = `${tag}-${i}`;
    for (let k = 0; k < 9; k++) {
      const r = await ds.allocate({ node: n.name, handle, borrow: false });
      counts.addressesClaimed++;
      counts.blocksClaimed += r.claimed.length;
    }
    held.push({ node: n, handle });
    if (held.length > 3) {
      const old = held.shift()!;
      counts.addressesReleased += (await ds.release({ handle: old.handle })).length;
      counts.blocksReleased += (await ds.releaseEmptyBlocks(old.node.name)).length;
      await until(`${old.node.name} to drop its released blocks`, async () => (await mismatches(ds, old.node)).length === 0, 20_000);
    }
    if (i % 4 === 3) {
      if (ghost) await ds.delete([{ kind: 'BGPPeer', name: 'soak-ghost' }]);
      else await ds.apply([ghostPeer()]);
      ghost = !ghost;
      counts[ghost ? 'peerAdds' : 'peerRemoves']++;
    }
    await until(`${n.name} to announce its new block`, async () => (await mismatches(ds, n)).length === 0, 20_000);
    counts.steps++;
  }
  // Leave nothing behind: every claimed address released, empty blocks returned, the ghost peer gone.
  for (const h of held) {
    counts.addressesReleased += (await ds.release({ handle: h.handle })).length;
    counts.blocksReleased += (await ds.releaseEmptyBlocks(h.node.name)).length;
  }
  if (ghost) {
    await ds.delete([{ kind: 'BGPPeer', name: 'soak-ghost' }]);
    counts.peerRemoves++;
  }
  return counts;
}

async function setup(): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), `${PREFIX}-`));
  await addBridge(HUB, 'br0');
  for (let i = 0; i < NODES; i++) {
    const n: SoakNode = { name: `soak${i}`, ns: `${PREFIX}-n${i}`, ip: `${NET}.${11 + i}`, ctl: join(dir, `soak${i}.ctl`) };
    nodes.push(n);
    await addNamespace(n.ns);
    await attachToBridge(HUB, 'br0', n.ns, 'eth0', `${n.ip}/24`);
  }
  await writeFile(join(dir, 'cluster.yaml'), resources());
  const ds = openDatastore(datastoreUrl());
  try {
    for (const n of nodes) await ds.allocate({ node: n.name, handle: `wl-${n.name}`, borrow: false });
  } finally {
    await ds.close();
  }
  // One at a time, each answering before the next starts: ten cold starts at once would swamp two cores.
  for (const n of nodes) {
    n.proc = new NsProcess(`petrel ${n.name}`, n.ns, [process.execPath, MAIN, '--node', n.name, '--listen', `${n.ip}:179`, '--ctl-socket', n.ctl, '--log-level', 'warn'], { PETREL_DATASTORE: datastoreUrl() });
    await untilAnswering(n.proc, n.ctl, 30_000, `${n.name} to answer`);
    n.pid = await daemonPid(n.ns);
  }
}

async function teardown(): Promise<void> {
  await Promise.all(nodes.map((n) => n.proc?.kill()));
  await deleteNamespacesOf(PREFIX);
  if (dir) await rm(dir, { recursive: true, force: true });
}

labForFile({ up: setup, down: teardown }, { upTimeoutMs: 150_000, report: () => `soak: ${JSON.stringify(measured)}` });

describe('ten-node soak with datastore churn', () => {
  it('tables equal the datastore after churn, the removed peer is gone, and memory stays bounded', async () => {
    const started = Date.now();
    const ds = openDatastore(datastoreUrl());
    try {
      const settle = async (what: string) => {
        await until(what, async () => (await mismatches(ds)).length === 0, 90_000).catch(async (e: Error) => {
          throw new Error(`${e.message}\n${(await mismatches(ds)).join('\n')}`);
        });
      };
      // 45 mesh sessions up: every node has every other node's block.
      await settle('the mesh to converge');
      const convergedSeconds = (Date.now() - started) / 1000;
      const warmup = await churn(ds, WARMUP_MS, 'warm');
      await settle('the tables to settle after the warm-up');
      const warm = await rssKb();
      // Two halves with a sample between: growth that keeps going shows as a second rise like the first.
      const first = await churn(ds, CHURN_MS / 2, 'soak1');
      const mid = await rssKb();
      const second = await churn(ds, CHURN_MS / 2, 'soak2');
      const counts = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, v + (second[k] ?? 0)])) as typeof first;
      await settle('every table to equal the datastore after the churn');
      const after = await rssKb();
      const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
      measured.figures = {
        convergedSeconds, warmup, churn: counts, rssWarmKb: warm, rssMidKb: mid, rssAfterKb: after,
        meanGrowthKb: { firstHalf: Math.round((sum(mid) - sum(warm)) / NODES), secondHalf: Math.round((sum(after) - sum(mid)) / NODES) },
        totalSeconds: (Date.now() - started) / 1000,
      };
      expect(counts.blocksClaimed).toBeGreaterThan(NODES);
      expect(counts.blocksReleased).toBeGreaterThan(NODES);
      expect(counts.peerAdds).toBeGreaterThan(1);
      expect(counts.peerAdds).toBe(counts.peerRemoves);
      // Every node back to one block (its workload's), and the ghost peer configured nowhere.
      const snap = await ds.snapshot();
      expect(snap.blockAffinities.length).toBe(NODES);
      for (const n of nodes) {
        const protos = await bgpProtocols(n.ctl);
        expect([...protos.keys()].filter((k) => k.includes(GHOST_PEER.replaceAll('.', '_')))).toEqual([]);
        expect([...protos.values()].filter((p) => p.info === 'Established').length).toBe(NODES - 1);
        expect(n.proc?.exit).toBeUndefined();
      }
      for (const [i, n] of nodes.entries()) expect(after[i]!, `${n.name} VmRSS ${warm[i]} kB -> ${after[i]} kB`).toBeLessThan(warm[i]! * 1.5 + 20 * 1024);
    } finally {
      await ds.close();
    }
  }, 210_000 + CHURN_MS);
});
