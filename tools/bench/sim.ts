/**
 * Simulation: many Petrel speakers in one process, to see how full mesh and route-reflector
 * topologies scale past what one machine can run as real daemons.
 *
 * What is real: the cluster is Calico v3 resources, each node's intent comes from config/
 * (computeNodeIntent: mesh rule, RR clusters, own blocks), and each node runs Petrel's RouteEngine
 * behind its RibBridge seam, so every route goes through the codec's encodeUpdates and
 * decodeUpdate, Adj-RIB-In, best path, export policy and Adj-RIB-Out, into a MockSink.
 * What is simulated: the sessions. A pair of nodes that both want each other is joined by an
 * in-memory pipe at t0 (no TCP, no FSM, no timers): each UPDATE written by one side is delivered
 * to the other on the next turn of the event loop.
 *
 * Figures per (topology, N): convergence time (all peer-ups to every sink holding N-1 learned
 * blocks and nothing in flight), UPDATE messages and bytes exchanged, sessions, and heap per node.
 *
 * `node dist/tools/bench/sim.js [--quick] [--sizes 100,300,1000] [--topologies mesh,rr] [--json]`
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeNodeIntent, snapshotOf, type Resource } from '../../config/index.js';
import { defaultCodecContext, formatIpv4 } from '../../proto/index.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { RibBridge } from '../../daemon/session/rib-bridge.js';
import { silentLogger } from '../../daemon/log.js';
import { MockSink } from '../../daemon/sink/mock.js';
import type { CapabilitySummary, NodeIntent, PeerIntent } from '../../daemon/model.js';
import type { SessionUp } from '../../daemon/session/engine.js';
import { monoMs } from './clock.js';

export type SimTopology = 'mesh' | 'rr';

const ASN = 64512;
const NODE_BASE = 0x0a000000 + 1; // 10.0.0.1
const BLOCK_BASE = 0x0a800000; // 10.128.0.0, /26 blocks

export const nodeAddress = (i: number) => formatIpv4(NODE_BASE + i);
export const nodeBlock = (i: number) => `${formatIpv4(BLOCK_BASE + i * 64)}/26`;

/** The cluster as Calico resources: mesh on, or off with two route reflectors every node peers with. */
export function simResources(n: number, topology: SimTopology): Resource[] {
  const r = (kind: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
    ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec }) as unknown as Resource;
  const out: Resource[] = [
    r('BGPConfiguration', 'default', { asNumber: ASN, nodeToNodeMeshEnabled: topology === 'mesh', logSeverityScreen: 'None' }),
    r('IPPool', 'sim-pool', { cidr: '10.128.0.0/9', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }),
  ];
  for (let i = 0; i < n; i++) {
    const rr = topology === 'rr' && i < 2;
    out.push(r('Node', `sim-${i}`, { bgp: { ipv4Address: `${nodeAddress(i)}/8`, ...(rr ? { routeReflectorClusterID: '224.0.0.1' } : {}) } }, rr ? { 'route-reflector': 'true' } : undefined));
    out.push(r('BlockAffinity', `sim-${i}-block`, { state: 'confirmed', node: `sim-${i}`, cidr: nodeBlock(i) }));
  }
  if (topology === 'rr') out.push(r('BGPPeer', 'peer-with-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" }));
  return out;
}

const CAPS: CapabilitySummary = { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: false, as4: true, llgr: false, extendedMessage: false };

interface SimNode {
  readonly intent: NodeIntent;
  readonly engine: RouteEngine;
  readonly seam: RibBridge;
  readonly sink: MockSink;
}

export interface SimResult {
  readonly topology: SimTopology;
  readonly nodes: number;
  readonly sessions: number;
  readonly convergeMs: number;
  readonly updates: number;
  readonly bytes: number;
  readonly heapPerNodeKB: number;
  readonly setupMs: number;
}

/** Runs one (topology, n) point to quiescence; throws if a sink ends short of n-1 learned blocks. */
export async function simulate(n: number, topology: SimTopology, timeoutMs: number): Promise<SimResult> {
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = monoMs();
  const snapshot = snapshotOf(simResources(n, topology));
  const nodes: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const intent = computeNodeIntent(snapshot, `sim-${i}`);
    const sink = new MockSink();
    const engine = new RouteEngine({ intent, sink });
    nodes.push({ intent, engine, sink, seam: new RibBridge(engine, silentLogger()) });
  }
  await Promise.all(nodes.map((x) => x.engine.settled()));
  const byAddress = new Map(nodes.map((x, i) => [nodeAddress(i), x]));

  // In-flight UPDATEs, delivered in batches on the next turn of the event loop.
  let inFlight: Array<() => void> = [];
  let updates = 0;
  let bytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = inFlight;
    inFlight = [];
    for (const deliver of batch) deliver();
  };
  const post = (deliver: () => void) => {
    inFlight.push(deliver);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  // A session exists where both ends have a peer intent for each other.
  const ups: Array<() => void> = [];
  let sessions = 0;
  for (const a of nodes) {
    for (const p of a.intent.peers) {
      const b = byAddress.get(p.peerIp);
      const back = b?.intent.peers.find((q) => q.peerIp === a.intent.ipv4Address);
      if (!b || !back || a.intent.ipv4Address! > p.peerIp) continue; // each pair once
      sessions++;
      ups.push(() => {
        a.seam.peerUp(sessionUp(a, b, p, back, post, () => updates++, (k) => (bytes += k)));
        b.seam.peerUp(sessionUp(b, a, back, p, post, () => updates++, (k) => (bytes += k)));
      });
    }
  }
  const setupMs = monoMs() - t0;
  const start = monoMs();
  for (const up of ups) up();
  const deadline = start + timeoutMs;
  const bounded = async (p: Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${topology} N=${n}: not quiet after ${timeoutMs} ms`)), Math.max(0, deadline - monoMs()))));
    try {
      await Promise.race([p, limit]);
    } finally {
      clearTimeout(timer);
    }
  };
  for (;;) {
    await bounded(Promise.all(nodes.map((x) => x.engine.settled())));
    if (inFlight.length === 0 && !scheduled) {
      await bounded(Promise.all(nodes.map((x) => x.engine.settled())));
      if (inFlight.length === 0 && !scheduled) break;
    }
    await new Promise((r) => setImmediate(r));
  }
  const convergeMs = monoMs() - start;
  for (const [i, x] of nodes.entries()) {
    const learned = x.sink.snapshot().filter((r) => r.prefix !== nodeBlock(i) && r.type !== 'blackhole').length;
    if (learned < n - 1) throw new Error(`${topology} N=${n}: node ${i} holds ${learned} of ${n - 1} learned blocks`);
  }
  globalThis.gc?.(); // with --expose-gc (npm run bench passes it) the heap figure is live data only
  const heapPerNodeKB = (process.memoryUsage().heapUsed - heap0) / 1024 / n;
  nodes.length = 0;
  return { topology, nodes: n, sessions, convergeMs, updates, bytes, heapPerNodeKB, setupMs };
}

/** The Established view `from` has of its session to `to`, with writes piped into `to`'s seam. */
function sessionUp(from: SimNode, to: SimNode, peer: PeerIntent, reverse: PeerIntent, post: (d: () => void) => void, countUpdate: () => void, countBytes: (n: number) => void): SessionUp {
  const context = defaultCodecContext();
  let open = true;
  return {
    peer,
    neighborId: to.intent.routerId,
    peerAs: to.intent.localAs,
    localAddress: from.intent.ipv4Address!,
    remoteAddress: to.intent.ipv4Address!,
    internal: peer.peerAs === peer.localAs,
    families: [4],
    context,
    localCaps: CAPS,
    peerCaps: CAPS,
    holdTime: 240,
    send(update: Uint8Array): boolean {
      if (!open) return false;
      countUpdate();
      countBytes(update.length);
      // The receiving side knows this session by its own peer intent's name.
      post(() => to.seam.update(reverse.name, update, context));
      return true;
    },
    reset(): void {
      open = false;
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (opt('--sizes') ?? (quick ? '50' : '100,300,1000')).split(',').map(Number);
  const topologies = (opt('--topologies') ?? 'mesh,rr').split(',') as SimTopology[];
  const results: SimResult[] = [];
  console.log(`# sim: ${topologies.join(', ')} at N = ${sizes.join(', ')}`);
  for (const topology of topologies) {
    for (const n of sizes) {
      try {
        const r = await simulate(n, topology, 110_000);
        results.push(r);
        console.log(
          `  ${topology} N=${n}: converged in ${r.convergeMs.toFixed(0)} ms, ${r.sessions} sessions, ${r.updates} UPDATEs (${(r.bytes / 1e6).toFixed(1)} MB), ${r.heapPerNodeKB.toFixed(0)} KB heap/node (setup ${r.setupMs.toFixed(0)} ms)`,
        );
      } catch (e) {
        console.log(`  ${topology} N=${n}: FAILED ${(e as Error).message}`);
        break; // larger sizes of this topology would fail too
      }
    }
  }
  const rows = results.map((r) => `| ${r.topology} | ${r.nodes} | ${r.sessions} | ${r.convergeMs.toFixed(0)} ms | ${r.updates} | ${(r.bytes / 1e6).toFixed(1)} MB | ${r.heapPerNodeKB.toFixed(0)} KB |`);
  console.log(['', '| topology | N | sessions | converged | UPDATEs | bytes | heap per node |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n'));
  if (!args.includes('--no-json')) {
    const root = process.env.PETREL_BENCH_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
    const dir = join(root, 'bench-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'sim.json'), `${JSON.stringify({ startedAt: new Date().toISOString(), node: process.version, quick, results }, null, 1)}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: Error) => {
    console.error(`sim: ${e.message}`);
    process.exit(1);
  });
}
