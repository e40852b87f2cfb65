/**
 * Calico v3 resources as Petrel reads them (apiVersion projectcalico.org/v3), plus the IPAM state
 * kinds Petrel keeps in the same datastore. Plain data; `origin` records where a resource was read.
 */

export const API_VERSION = 'projectcalico.org/v3';

export interface ResourceOrigin {
  readonly file: string;
  /** Line of the resource's `kind:` (1-based). */
  readonly line: number;
  /** Line of each field, keyed by dotted path (spec.blockSize, metadata.name, spec.bgp.ipv4Address). */
  readonly fieldLines: Readonly<Record<string, number>>;
}

export interface Metadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

interface Base<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: Metadata;
  spec: S;
  /** Not serialised: where this resource came from. */
  origin?: ResourceOrigin;
}

export interface SecretRef {
  secretKeyRef?: { name: string; key: string };
  /** Petrel extra: the secret inline (Calico reads it from a Kubernetes secret). */
  value?: string;
}

export interface CidrEntry {
  cidr: string;
}

export interface BGPConfigurationSpec {
  asNumber?: number | string;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  logSeverityScreen?: string;
  bindMode?: 'None' | 'NodeIP';
  nodeMeshPassword?: SecretRef;
  nodeMeshMaxRestartTime?: string | number;
  communities?: { name: string; value: string }[];
  prefixAdvertisements?: { cidr: string; communities?: string[] }[];
  serviceClusterIPs?: CidrEntry[];
  serviceExternalIPs?: CidrEntry[];
  serviceLoadBalancerIPs?: CidrEntry[];
  ignoredInterfaces?: string[];
  /**
   * Petrel extra: the families every mesh session carries. Set, each node pair gets ONE
   * multiprotocol session (over IPv4 when both nodes have an IPv4 address, else IPv6) carrying
   * the listed families both nodes have addresses for. Unset: Calico's one session per family.
   */
  nodeMeshAddressFamilies?: AddressFamilyName[];
}

/** Petrel extra: an address family a session carries (IPv4 or IPv6 unicast). */
export type AddressFamilyName = 'IPv4' | 'IPv6';

/**
 * Annotation forms of the address-family extras (`IPv4,IPv6`), for stores that refuse unknown
 * spec fields (Calico's CRDs, calicoctl): on a BGPPeer, and on the default BGPConfiguration.
 */
export const ADDRESS_FAMILIES_ANNOTATION = 'petrel.io/address-families';
export const MESH_ADDRESS_FAMILIES_ANNOTATION = 'petrel.io/node-mesh-address-families';

function annotationList(r: { metadata: Metadata }, key: string): string[] | undefined {
  const v = r.metadata.annotations?.[key];
  return v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/** A BGPPeer's families: spec.addressFamilies, else its annotation, else undefined (per-family sessions). */
export function peerAddressFamilies(p: BGPPeer): readonly string[] | undefined {
  return p.spec.addressFamilies ?? annotationList(p, ADDRESS_FAMILIES_ANNOTATION);
}

/** The mesh's families: spec.nodeMeshAddressFamilies, else its annotation, else undefined. */
export function meshAddressFamilies(c: BGPConfiguration): readonly string[] | undefined {
  return c.spec.nodeMeshAddressFamilies ?? annotationList(c, MESH_ADDRESS_FAMILIES_ANNOTATION);
}

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  peerSelector?: string;
  asNumber?: number | string;
  localASNumber?: number | string;
  sourceAddress?: 'UseNodeIP' | 'None';
  keepOriginalNextHop?: boolean;
  nextHopMode?: 'Auto' | 'Self' | 'Keep';
  maxRestartTime?: string | number;
  password?: SecretRef;
  ttlSecurity?: number;
  numAllowedLocalASNumbers?: number;
  reversePeering?: 'Auto' | 'Manual';
  filters?: string[];
  keepaliveTime?: string | number;
  /** Petrel extras. */
  holdTime?: string | number;
  maxPrefixes?: number;
  maxPrefixesAction?: 'reset' | 'warn';
  passive?: boolean;
  /**
   * Families this peering's session carries, on one multiprotocol session. With peerIP the
   * transport is the peerIP's family; with peerSelector one session per selected node, over
   * IPv4 when both ends have an IPv4 address, else IPv6. Unset: Calico's per-family sessions.
   */
  addressFamilies?: AddressFamilyName[];
}

export type EncapModeText = 'Always' | 'CrossSubnet' | 'Never';

export interface IPPoolSpec {
  cidr: string;
  blockSize?: number;
  ipipMode?: EncapModeText;
  vxlanMode?: EncapModeText;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  nodeSelector?: string;
  namespaceSelector?: string;
  allowedUses?: ('Workload' | 'Tunnel' | 'LoadBalancer')[];
  assignmentMode?: 'Automatic' | 'Manual';
}

export interface NodeSpec {
  bgp?: {
    ipv4Address?: string;
    ipv6Address?: string;
    asNumber?: number | string;
    routeReflectorClusterID?: string;
    ipv4IPIPTunnelAddr?: string;
  };
  [extra: string]: unknown;
}

/** Calico's BlockAffinity: a block claimed by a node. */
export interface BlockAffinitySpec {
  state: 'pending' | 'confirmed' | 'pendingDeletion';
  node: string;
  cidr: string;
}

export interface Allocation {
  ordinal: number;
  handle?: string;
  /** The node that asked for the address (differs from the block's node when borrowed). */
  node: string;
}

/** Petrel's compact IPAM block: only the used ordinals are listed. */
export interface IPAMBlockSpec {
  cidr: string;
  /** `host:<node>` when the block is affine to a node. */
  affinity?: string;
  allocations: Allocation[];
}

export interface IPAMConfigurationSpec {
  strictAffinity?: boolean;
  maxBlocksPerHost?: number;
  autoAllocateBlocks?: boolean;
}

export type BGPConfiguration = Base<'BGPConfiguration', BGPConfigurationSpec>;
export type BGPPeer = Base<'BGPPeer', BGPPeerSpec>;
export type IPPool = Base<'IPPool', IPPoolSpec>;
export type CalicoNode = Base<'Node', NodeSpec> & { status?: Record<string, unknown> };
export type BlockAffinity = Base<'BlockAffinity', BlockAffinitySpec>;
export type IPAMBlock = Base<'IPAMBlock', IPAMBlockSpec>;
export type IPAMConfiguration = Base<'IPAMConfiguration', IPAMConfigurationSpec>;

export type Resource = BGPConfiguration | BGPPeer | IPPool | CalicoNode | BlockAffinity | IPAMBlock | IPAMConfiguration;
export type ResourceKind = Resource['kind'];

export const RESOURCE_KINDS: readonly ResourceKind[] = ['BGPConfiguration', 'BGPPeer', 'IPPool', 'Node', 'BlockAffinity', 'IPAMBlock', 'IPAMConfiguration'];

/** The kinds that make up IPAM state (written by Petrel, not by people). */
export const IPAM_KINDS: ReadonlySet<ResourceKind> = new Set(['BlockAffinity', 'IPAMBlock', 'IPAMConfiguration']);

/** Names people type on the command line (calicoctl accepts plural and short forms). */
const KIND_ALIASES: Record<string, ResourceKind> = {
  bgpconfiguration: 'BGPConfiguration', bgpconfigurations: 'BGPConfiguration', bgpconfig: 'BGPConfiguration', bgpconfigs: 'BGPConfiguration',
  bgppeer: 'BGPPeer', bgppeers: 'BGPPeer',
  ippool: 'IPPool', ippools: 'IPPool', pool: 'IPPool', pools: 'IPPool',
  node: 'Node', nodes: 'Node', no: 'Node',
  blockaffinity: 'BlockAffinity', blockaffinities: 'BlockAffinity',
  ipamblock: 'IPAMBlock', ipamblocks: 'IPAMBlock',
  ipamconfiguration: 'IPAMConfiguration', ipamconfig: 'IPAMConfiguration', ipamconfigurations: 'IPAMConfiguration',
};

export function kindFromName(text: string): ResourceKind | undefined {
  return KIND_ALIASES[text.toLowerCase()];
}

/** Everything the intent computation and IPAM need, already validated. */
export interface ClusterSnapshot {
  readonly bgpConfigurations: readonly BGPConfiguration[];
  readonly bgpPeers: readonly BGPPeer[];
  readonly ipPools: readonly IPPool[];
  readonly nodes: readonly CalicoNode[];
  readonly blockAffinities: readonly BlockAffinity[];
  readonly ipamBlocks: readonly IPAMBlock[];
  readonly ipamConfig?: IPAMConfiguration;
}

export function emptySnapshot(): ClusterSnapshot {
  return { bgpConfigurations: [], bgpPeers: [], ipPools: [], nodes: [], blockAffinities: [], ipamBlocks: [] };
}

/** Groups resources by kind, each list sorted by name (datastore list order). */
export function snapshotOf(resources: readonly Resource[]): ClusterSnapshot {
  const by = <K extends ResourceKind>(kind: K) =>
    resources.filter((r): r is Extract<Resource, { kind: K }> => r.kind === kind).sort((a, b) => compareNames(a.metadata.name, b.metadata.name));
  const ipamConfig = by('IPAMConfiguration').find((c) => c.metadata.name === 'default');
  return {
    bgpConfigurations: by('BGPConfiguration'),
    bgpPeers: by('BGPPeer'),
    ipPools: by('IPPool'),
    nodes: by('Node'),
    blockAffinities: by('BlockAffinity'),
    ipamBlocks: by('IPAMBlock'),
    ...(ipamConfig ? { ipamConfig } : {}),
  };
}

export function snapshotResources(s: ClusterSnapshot): Resource[] {
  return [...s.bgpConfigurations, ...s.bgpPeers, ...s.ipPools, ...s.nodes, ...s.blockAffinities, ...s.ipamBlocks, ...(s.ipamConfig ? [s.ipamConfig] : [])];
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function resourceKey(r: { kind: string; metadata: { name: string } }): string {
  return `${r.kind}/${r.metadata.name}`;
}

/** A copy without `origin`, ready to serialise. */
export function stripOrigin<R extends Resource>(r: R): R {
  const { origin: _o, ...rest } = r;
  return rest as R;
}

/** `10.0.0.0/26` → `10.0.0.0-26` (Calico's key form). */
export function cidrToKey(cidr: string): string {
  return cidr.replace('/', '-');
}

export function blockAffinityName(node: string, cidr: string): string {
  return `${node}-${cidrToKey(cidr).replace(/:/g, '-')}`;
}

export function makeResource<K extends ResourceKind>(kind: K, name: string, spec: Extract<Resource, { kind: K }>['spec'], labels?: Record<string, string>): Extract<Resource, { kind: K }> {
  return { apiVersion: API_VERSION, kind, metadata: { name, ...(labels ? { labels } : {}) }, spec } as Extract<Resource, { kind: K }>;
}
