/**
 * The simulated cluster: Calico v3 resources for N nodes (full mesh, or two route reflectors every
 * node peers with), each node's intent from config/ (computeNodeIntent), and one real Petrel
 * RouteEngine per node behind the daemon's RibBridge seam, with a MockSink as its kernel.
 */
import { computeNodeIntent, snapshotOf, type Resource } from '../../config/index.js';
import { formatIpv4 } from '../../proto/index.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { RibBridge } from '../../daemon/session/rib-bridge.js';
import { silentLogger } from '../../daemon/log.js';
import { MockSink } from '../../daemon/sink/mock.js';
import type { NodeIntent, PeerIntent } from '../../daemon/model.js';
import type { SessionEnd } from './sim-fabric.js';

export type SimTopology = 'mesh' | 'rr';

const ASN = 64512;
const NODE_BASE = 0x0a000000 + 1; // 10.0.0.1
const BLOCK_BASE = 0x0a800000; // 10.128.0.0, /26 blocks
/** Route reflectors in the 'rr' topology (nodes 0 and 1, one cluster id). */
export const REFLECTORS = 2;

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
    const rr = topology === 'rr' && i < REFLECTORS;
    out.push(r('Node', `sim-${i}`, { bgp: { ipv4Address: `${nodeAddress(i)}/8`, ...(rr ? { routeReflectorClusterID: '224.0.0.1' } : {}) } }, rr ? { 'route-reflector': 'true' } : undefined));
    out.push(r('BlockAffinity', `sim-${i}-block`, { state: 'confirmed', node: `sim-${i}`, cidr: nodeBlock(i) }));
  }
  if (topology === 'rr') out.push(r('BGPPeer', 'peer-with-rrs', { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" }));
  return out;
}

export interface SimNode {
  readonly intent: NodeIntent;
  readonly engine: RouteEngine;
  readonly seam: RibBridge;
  readonly sink: MockSink;
}

/** One engine per node, its origination done (own block in its sink). */
export async function buildNodes(n: number, topology: SimTopology): Promise<SimNode[]> {
  const snapshot = snapshotOf(simResources(n, topology));
  const log = silentLogger();
  const nodes: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const intent = computeNodeIntent(snapshot, `sim-${i}`);
    const sink = new MockSink();
    const engine = new RouteEngine({ intent, sink });
    nodes.push({ intent, engine, sink, seam: new RibBridge(engine, log) });
  }
  for (const x of nodes) await x.engine.settled();
  return nodes;
}

/**
 * Calls `fn` for each session of the cluster: a pair of nodes where each has a peer intent for the
 * other's address (each pair once). Returns the number of sessions.
 */
export function forEachSession(nodes: readonly SimNode[], fn: (a: SessionEnd, b: SessionEnd) => void): number {
  const index = new Map(nodes.map((x, i) => [x.intent.ipv4Address!, i]));
  // Each node's peers by address, so pairing costs O(sessions), not O(sessions × peers).
  const byPeerIp = nodes.map((x) => new Map(x.intent.peers.map((p) => [p.peerIp, p])));
  const end = (i: number, intent: PeerIntent): SessionEnd => {
    const x = nodes[i]!.intent;
    return { node: i, intent, address: x.ipv4Address!, routerId: x.routerId, as: x.localAs };
  };
  let sessions = 0;
  for (const [a, x] of nodes.entries()) {
    for (const p of x.intent.peers) {
      const b = index.get(p.peerIp);
      if (b === undefined || b <= a) continue;
      const back = byPeerIp[b]!.get(x.intent.ipv4Address!);
      if (!back) continue;
      fn(end(a, p), end(b, back));
      sessions++;
    }
  }
  return sessions;
}
