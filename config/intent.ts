/**
 * What one node should do, computed from a cluster snapshot: Calico's mesh and BGPPeer rules
 * (calico-behaviour.md §1, §2), its own blocks, borrowed addresses, pools and router id.
 */
import { CALICO_DEFAULTS, type Family, type NodeIntent, type PeerIntent, type PeerKind, type PoolIntent } from '../daemon/model.js';
import { canonicalAddress, formatAddress, formatCidr, parseCidr, parseCidrLoose } from './cidr.js';
import { blockOrdinalAddress } from './ipam/blocks.js';
import { meshAddressFamilies, peerAddressFamilies, type BGPConfiguration, type BGPPeer, type CalicoNode, type ClusterSnapshot, type IPPool, type SecretRef } from './resources.js';
import { clusterRouterId } from './router-id.js';
import { parseAsn, parseDuration } from './schema.js';
import { selectorMatches } from './selector.js';
import { parsePeerIp } from './validate.js';

export class IntentError extends Error {
  override readonly name = 'IntentError';
}

const FAMILIES: readonly Family[] = [4, 6];

/** A Petrel address-family list as families, ascending; undefined when unset (Calico: one session per family). */
function familiesOf(list: readonly string[] | undefined): Family[] | undefined {
  if (list === undefined) return undefined;
  return FAMILIES.filter((f) => list.includes(f === 4 ? 'IPv4' : 'IPv6'));
}

/** Of `wanted`, the families every node given has an address of (a family needs a next hop of its own at each end). */
function sharedFamilies(wanted: readonly Family[], ...nodes: CalicoNode[]): Family[] {
  return wanted.filter((f) => nodes.every((n) => nodeAddress(n, f) !== undefined));
}

/** The transport of a pair's one multiprotocol session: IPv4 when both have an IPv4 address, else IPv6. */
function pairTransport(a: CalicoNode, b: CalicoNode): Family | undefined {
  return FAMILIES.find((f) => nodeAddress(a, f) !== undefined && nodeAddress(b, f) !== undefined);
}

/** Node address of a family without the prefix length, canonical text; undefined when unset. */
export function nodeAddress(n: CalicoNode, family: Family): string | undefined {
  const v = family === 4 ? n.spec.bgp?.ipv4Address : n.spec.bgp?.ipv6Address;
  if (!v) return undefined;
  return canonicalAddress(v.includes('/') ? v.slice(0, v.indexOf('/')) : v);
}

function nodeNetwork(n: CalicoNode, family: Family): string | undefined {
  const v = family === 4 ? n.spec.bgp?.ipv4Address : n.spec.bgp?.ipv6Address;
  if (!v) return undefined;
  const c = parseCidrLoose(v.includes('/') ? v : `${v}/${family === 4 ? 32 : 128}`);
  return formatCidr(c);
}

/** `10.0.1.20` → `10_0_1_20`; `fd80::2` → `fd80__2` (BIRD protocol-name form). */
export function protocolAddress(ip: string): string {
  return ip.replace(/[.:]/g, '_');
}

export function protocolName(kind: PeerKind, ip: string, port?: number): string {
  const prefix = kind === 'mesh' ? 'Mesh' : kind === 'global' ? 'Global' : 'Node';
  return `${prefix}_${protocolAddress(ip)}${port !== undefined ? `_port_${port}` : ''}`;
}

function secret(s: SecretRef | undefined): string | undefined {
  return s?.value;
}

/** Everything about the cluster that peer expansion needs, looked up once. */
class ClusterView {
  readonly globalCfg: BGPConfiguration | undefined;
  readonly globalAs: number;
  constructor(readonly s: ClusterSnapshot) {
    this.globalCfg = s.bgpConfigurations.find((c) => c.metadata.name === 'default');
    this.globalAs = this.globalCfg?.spec.asNumber !== undefined ? parseAsn(this.globalCfg.spec.asNumber) : CALICO_DEFAULTS.asNumber;
  }
  nodeCfg(n: CalicoNode): BGPConfiguration | undefined {
    return this.s.bgpConfigurations.find((c) => c.metadata.name === `node.${n.metadata.name}`);
  }
  asOf(n: CalicoNode): number {
    return n.spec.bgp?.asNumber !== undefined ? parseAsn(n.spec.bgp.asNumber) : this.globalAs;
  }
  /** The configured listen port of a node, undefined when neither its nor the global config sets one. */
  configuredPort(n: CalicoNode): number | undefined {
    return this.nodeCfg(n)?.spec.listenPort ?? this.globalCfg?.spec.listenPort;
  }
  clusterId(n: CalicoNode): string {
    return n.spec.bgp?.routeReflectorClusterID ?? '';
  }
  localNodes(p: BGPPeer): CalicoNode[] {
    if (p.spec.node) return this.s.nodes.filter((n) => n.metadata.name === p.spec.node);
    if (p.spec.nodeSelector !== undefined) return this.s.nodes.filter((n) => selectorMatches(p.spec.nodeSelector, n.metadata.labels));
    return [...this.s.nodes];
  }
}

interface Peering {
  readonly kind: PeerKind;
  readonly family: Family;
  readonly ip: string;
  /** Port when set (explicit in peerIP, or the target node's configured listen port). */
  readonly port: number | undefined;
  readonly peerAs: number;
  readonly target: CalicoNode | undefined;
  /** A global peerIP peering whose IP is a Calico node's: subject to the passive rule. */
  readonly ipMatchedNode: boolean;
  readonly source: BGPPeer;
  /** Families the session carries (the transport family alone unless addressFamilies says more). */
  readonly families: readonly Family[];
}

function isGlobal(p: BGPPeer): boolean {
  return !p.spec.node && p.spec.nodeSelector === undefined;
}

function expandPeers(view: ClusterView, me: CalicoNode): Peering[] {
  const out: Peering[] = [];
  const forward = (p: BGPPeer, kind: PeerKind) => {
    if (p.spec.peerIP) {
      const { ip: rawIp, port } = parsePeerIp(p.spec.peerIP);
      const ip = canonicalAddress(rawIp);
      const family: Family = ip.includes(':') ? 6 : 4;
      const wantAs = p.spec.asNumber !== undefined ? parseAsn(p.spec.asNumber) : undefined;
      const target = view.s.nodes.find((n) => nodeAddress(n, family) === ip && (wantAs === undefined || view.asOf(n) === wantAs));
      const wanted = familiesOf(peerAddressFamilies(p));
      // An outside router's addresses are unknown: only our own next hop of each family is needed.
      const families = wanted ? sharedFamilies(wanted, ...(target ? [me, target] : [me])) : [family];
      if (families.length === 0) return;
      out.push({
        kind, family, ip,
        port: port ?? (target ? view.configuredPort(target) : undefined),
        peerAs: wantAs ?? (target ? view.asOf(target) : view.asOf(me)),
        target, ipMatchedNode: target !== undefined, source: p, families,
      });
    } else if (p.spec.peerSelector !== undefined) {
      for (const n of view.s.nodes) {
        if (n === me || !selectorMatches(p.spec.peerSelector, n.metadata.labels)) continue;
        out.push(...nodePeerings(p, kind, me, n, view));
      }
    }
  };
  const peers = view.s.bgpPeers;
  for (const p of peers) if (isGlobal(p)) forward(p, 'global');
  for (const p of peers) if (!isGlobal(p) && view.localNodes(p).includes(me)) forward(p, 'node');
  // Automatic reverse peering: this node is the target of someone else's peering.
  for (const p of peers) {
    if (p.spec.reversePeering === 'Manual') continue;
    let families: readonly Family[] = [];
    if (p.spec.peerSelector !== undefined) {
      if (selectorMatches(p.spec.peerSelector, me.metadata.labels)) families = FAMILIES;
    } else if (p.spec.peerIP) {
      const { ip: rawIp, port } = parsePeerIp(p.spec.peerIP);
      const ip = canonicalAddress(rawIp);
      const family: Family = ip.includes(':') ? 6 : 4;
      const asOk = p.spec.asNumber === undefined || parseAsn(p.spec.asNumber) === view.asOf(me);
      const portOk = port === undefined || port === (view.configuredPort(me) ?? CALICO_DEFAULTS.listenPort);
      if (nodeAddress(me, family) === ip && asOk && portOk) families = [family];
    }
    // An IP peering with addressFamilies is reversed as the same one session (over the IP's family).
    if (p.spec.peerIP && families.length === 1 && peerAddressFamilies(p) !== undefined) {
      const family = families[0] as Family;
      for (const local of view.localNodes(p)) {
        if (local === me) continue;
        const ip = nodeAddress(local, family);
        const carried = sharedFamilies(familiesOf(peerAddressFamilies(p)) ?? [], me, local);
        if (!ip || carried.length === 0) continue;
        out.push({ kind: 'node', family, ip, port: view.configuredPort(local), peerAs: view.asOf(local), target: local, ipMatchedNode: false, source: p, families: carried });
      }
      continue;
    }
    if (families.length === 0) continue;
    for (const local of view.localNodes(p)) {
      if (local === me) continue;
      out.push(...nodePeerings(p, 'node', me, local, view, families));
    }
  }
  // First peering to an ip+port wins (global before node-specific, forward before reverse); never peer with ourselves.
  // With a multiprotocol session (addressFamilies) on either side, a family a node is already
  // reached with is not carried again (Calico's own per-family peerings keep the ip+port rule only).
  const seen = new Set<string>();
  const covered = new Map<string, boolean>(); // node|family → reached on a multiprotocol session
  const kept: Peering[] = [];
  for (const pg of out) {
    const own = nodeAddress(me, pg.family);
    if (!own || pg.ip === own) continue;
    const key = `${pg.ip}|${pg.port ?? CALICO_DEFAULTS.listenPort}`;
    if (seen.has(key)) continue;
    const multi = peerAddressFamilies(pg.source) !== undefined;
    const node = pg.target?.metadata.name;
    const families = node === undefined ? pg.families : pg.families.filter((f) => {
      const by = covered.get(`${node}|${f}`);
      return by === undefined || (!by && !multi);
    });
    if (families.length === 0) continue;
    seen.add(key);
    if (node !== undefined) for (const f of families) if (!covered.get(`${node}|${f}`)) covered.set(`${node}|${f}`, multi);
    kept.push(families.length === pg.families.length ? pg : { ...pg, families });
  }
  return kept;
}

/**
 * Peerings between this node and one Calico node `n` for a selector (or reverse) peering: one per
 * family in `among` both have (Calico), or with the BGPPeer's addressFamilies one multiprotocol
 * session over the pair's transport (pairTransport) carrying the listed families both have.
 */
function nodePeerings(p: BGPPeer, kind: PeerKind, me: CalicoNode, n: CalicoNode, view: ClusterView, among: readonly Family[] = FAMILIES): Peering[] {
  const base = { kind, port: view.configuredPort(n), peerAs: view.asOf(n), target: n, ipMatchedNode: false, source: p };
  const wanted = familiesOf(peerAddressFamilies(p));
  if (wanted) {
    const family = pairTransport(me, n);
    const families = sharedFamilies(wanted, me, n);
    if (family === undefined || families.length === 0) return [];
    return [{ ...base, family, ip: nodeAddress(n, family) as string, families }];
  }
  return sharedFamilies(among, me, n).map((family) => ({ ...base, family, ip: nodeAddress(n, family) as string, families: [family] }));
}

function basePeer(localAs: number, family: Family) {
  return {
    family,
    localAs,
    holdTime: CALICO_DEFAULTS.holdTime,
    connectDelayTime: CALICO_DEFAULTS.connectDelayTime,
    connectRetryTime: CALICO_DEFAULTS.connectRetryTime,
    errorWaitTime: CALICO_DEFAULTS.errorWaitTime,
    gracefulRestartTime: CALICO_DEFAULTS.gracefulRestartTime,
    keepOriginalNextHop: false,
    maxPrefixesAction: 'reset' as const,
    rrClient: false,
    families: [family],
  };
}

function meshPeers(view: ClusterView, me: CalicoNode, localAs: number): PeerIntent[] {
  const cfg = view.globalCfg?.spec;
  if (cfg?.nodeToNodeMeshEnabled === false || view.clusterId(me)) return [];
  const out: PeerIntent[] = [];
  const password = secret(cfg?.nodeMeshPassword);
  const grTime = cfg?.nodeMeshMaxRestartTime !== undefined ? Math.round(parseDuration(cfg.nodeMeshMaxRestartTime)) : CALICO_DEFAULTS.gracefulRestartTime;
  const combined = familiesOf(view.globalCfg ? meshAddressFamilies(view.globalCfg) : undefined);
  // Calico: one session per family; Petrel's nodeMeshAddressFamilies: one session per pair carrying them.
  const pairs: { n: CalicoNode; family: Family; families: readonly Family[] }[] = [];
  if (combined) {
    for (const n of view.s.nodes) {
      const family = n === me ? undefined : pairTransport(me, n);
      const families = sharedFamilies(combined, me, n);
      if (family !== undefined && families.length > 0) pairs.push({ n, family, families });
    }
  } else {
    for (const family of FAMILIES) for (const n of view.s.nodes) pairs.push({ n, family, families: [family] });
  }
  for (const { n, family, families } of pairs) {
    const own = nodeAddress(me, family);
    const ip = nodeAddress(n, family);
    if (!own || !ip || ip === own || view.clusterId(n)) continue;
    out.push({
      ...basePeer(localAs, family),
      families,
      name: protocolName('mesh', ip),
      kind: 'mesh',
      peerIp: ip,
      peerPort: view.configuredPort(n) ?? CALICO_DEFAULTS.listenPort,
      peerAs: view.asOf(n),
      sourceAddress: own,
      // Byte-wise string comparison, as confd does: the greater address dials.
      passive: ip > own,
      gracefulRestartTime: grTime,
      ...(password !== undefined ? { password } : {}),
    });
  }
  return out;
}

function peeringIntent(view: ClusterView, me: CalicoNode, myAs: number, pg: Peering): PeerIntent {
  const s = pg.source.spec;
  const own = nodeAddress(me, pg.family) as string;
  const localAs = s.localASNumber !== undefined ? parseAsn(s.localASNumber) : myAs;
  const myCluster = view.clusterId(me);
  const rrClient = myCluster !== '' && pg.peerAs === localAs && (pg.target ? view.clusterId(pg.target) : '') !== myCluster;
  const holdTime = s.holdTime !== undefined ? parseDuration(s.holdTime) : CALICO_DEFAULTS.holdTime;
  const password = secret(s.password);
  return {
    ...basePeer(localAs, pg.family),
    families: pg.families,
    name: protocolName(pg.kind, pg.ip, pg.port),
    kind: pg.kind,
    peerIp: pg.ip,
    peerPort: pg.port ?? CALICO_DEFAULTS.listenPort,
    peerAs: pg.peerAs,
    ...(s.sourceAddress === 'None' ? {} : { sourceAddress: own }),
    passive: s.passive === true || (pg.kind === 'global' && pg.ipMatchedNode && pg.ip > own),
    holdTime,
    ...(s.keepaliveTime !== undefined ? { keepaliveTime: parseDuration(s.keepaliveTime) } : {}),
    ...(s.maxRestartTime !== undefined ? { gracefulRestartTime: Math.round(parseDuration(s.maxRestartTime)) } : {}),
    keepOriginalNextHop: (s.keepOriginalNextHop === true || s.nextHopMode === 'Keep') && pg.peerAs !== localAs,
    ...(s.maxPrefixes !== undefined ? { maxPrefixes: s.maxPrefixes } : {}),
    maxPrefixesAction: s.maxPrefixesAction ?? 'reset',
    ...(password !== undefined ? { password } : {}),
    ...(s.ttlSecurity !== undefined ? { ttlSecurity: s.ttlSecurity } : {}),
    ...(s.numAllowedLocalASNumbers !== undefined ? { allowLocalAs: s.numAllowedLocalASNumbers } : {}),
    rrClient,
    ...(rrClient ? { rrClusterId: myCluster } : {}),
  };
}

export function poolIntent(p: IPPool): PoolIntent {
  const c = parseCidr(p.spec.cidr);
  return {
    name: p.metadata.name,
    cidr: formatCidr(c),
    family: c.family,
    blockSize: p.spec.blockSize ?? (c.family === 4 ? CALICO_DEFAULTS.blockSizeV4 : CALICO_DEFAULTS.blockSizeV6),
    ipipMode: p.spec.ipipMode ?? 'Never',
    vxlanMode: p.spec.vxlanMode ?? 'Never',
    natOutgoing: p.spec.natOutgoing ?? false,
    disabled: p.spec.disabled ?? false,
    disableBGPExport: p.spec.disableBGPExport ?? false,
  };
}

function logLevel(text: string | undefined): NodeIntent['logLevel'] {
  const l = (text ?? 'info').toLowerCase();
  return l === 'debug' || l === 'info' ? l : 'none';
}

function serviceRanges(view: ClusterView, me: CalicoNode): { serviceRoutes: string[]; rejectCidrs: string[] } {
  const cfg = view.globalCfg?.spec;
  const ranges: string[] = [];
  const add = (list: { cidr: string }[] | undefined, rangesOnly: boolean) => {
    for (const e of list ?? []) {
      const c = parseCidr(e.cidr);
      if (rangesOnly && c.len === (c.family === 4 ? 32 : 128)) continue;
      ranges.push(formatCidr(c));
    }
  };
  add(cfg?.serviceClusterIPs, false);
  add(cfg?.serviceExternalIPs, true);
  add(cfg?.serviceLoadBalancerIPs, true);
  const excluded = me.metadata.labels?.['node.kubernetes.io/exclude-from-external-load-balancers'] === 'true';
  return { serviceRoutes: excluded ? [] : ranges, rejectCidrs: ranges };
}

/** The blocks affine to a node (confirmed and pendingDeletion; pending ones are dropped). */
export function ownBlocksOf(s: ClusterSnapshot, nodeName: string): string[] {
  return s.blockAffinities
    .filter((a) => a.spec.node === nodeName && a.spec.state !== 'pending')
    .map((a) => formatCidr(parseCidr(a.spec.cidr)))
    .sort();
}

/** Host prefixes this node holds in blocks that are not affine to it. */
export function borrowedOf(s: ClusterSnapshot, nodeName: string): string[] {
  const out: string[] = [];
  for (const b of s.ipamBlocks) {
    if (b.spec.affinity === `host:${nodeName}`) continue;
    const c = parseCidr(b.spec.cidr);
    for (const a of b.spec.allocations) {
      if (a.node === nodeName) out.push(`${formatAddress(c.family, blockOrdinalAddress(c, a.ordinal))}/${c.family === 4 ? 32 : 128}`);
    }
  }
  return out.sort();
}

export function computeNodeIntent(snapshot: ClusterSnapshot, nodeName: string, env: { CALICO_ROUTER_ID?: string } = {}): NodeIntent {
  const view = new ClusterView(snapshot);
  const me = snapshot.nodes.find((n) => n.metadata.name === nodeName);
  if (!me) throw new IntentError(`node "${nodeName}" is not in the datastore (add a Node resource named "${nodeName}")`);
  const localAs = view.asOf(me);
  const ipv4Address = nodeAddress(me, 4);
  const ipv6Address = nodeAddress(me, 6);
  const ipv4Network = nodeNetwork(me, 4);
  const ipv6Network = nodeNetwork(me, 6);
  const rrClusterId = view.clusterId(me);
  const peers = [...meshPeers(view, me, localAs), ...expandPeers(view, me).map((pg) => peeringIntent(view, me, localAs, pg))];
  // bindMode NodeIP: Calico's bird and bird6 each listen on the node address of their family.
  const listenAddresses = view.globalCfg?.spec.bindMode === 'NodeIP' ? [ipv4Address, ipv6Address].filter((a): a is string => a !== undefined) : [];
  const listenAddress = listenAddresses[0];
  return {
    nodeName,
    routerId: clusterRouterId(snapshot.nodes.map((n) => ({ name: n.metadata.name, ipv4Address: nodeAddress(n, 4) })), nodeName, ipv4Address, env),
    localAs,
    ...(ipv4Address ? { ipv4Address } : {}),
    ...(ipv4Network ? { ipv4Network } : {}),
    ...(ipv6Address ? { ipv6Address } : {}),
    ...(ipv6Network ? { ipv6Network } : {}),
    listenPort: view.configuredPort(me) ?? CALICO_DEFAULTS.listenPort,
    ...(listenAddress ? { listenAddress, listenAddresses } : {}),
    logLevel: logLevel(view.nodeCfg(me)?.spec.logSeverityScreen ?? view.globalCfg?.spec.logSeverityScreen),
    ...(rrClusterId ? { rrClusterId } : {}),
    peers,
    pools: snapshot.ipPools.map(poolIntent),
    ownBlocks: ownBlocksOf(snapshot, nodeName),
    borrowed: borrowedOf(snapshot, nodeName),
    ...serviceRanges(view, me),
  };
}
