/**
 * The contracts between Petrel's parts. config/ produces a NodeIntent; daemon/ turns it into
 * sessions and originated routes and reports PeerStatus; the control socket and petrelctl read
 * the status. Plain data only: no classes, no I/O.
 */

export type Family = 4 | 6;

/** Calico's peering kinds; they give the protocol name prefix and calicoctl's PEER TYPE. */
export type PeerKind = 'mesh' | 'global' | 'node';

/** One BGP session this node should run, fully resolved (defaults applied). */
export interface PeerIntent {
  /** BIRD protocol name: Mesh_10_0_1_20, Global_10_0_1_10, Node_10_0_1_10_port_1790, Mesh_fd80__2 */
  readonly name: string;
  readonly kind: PeerKind;
  /** Transport family of peerIp. */
  readonly family: Family;
  readonly peerIp: string;
  /** TCP port to dial; 179 unless the peer or its node says otherwise. */
  readonly peerPort: number;
  readonly peerAs: number;
  readonly localAs: number;
  /** Source address to bind when dialling (the node IP under UseNodeIP), undefined for none. */
  readonly sourceAddress?: string;
  /** true: never dial, only accept (Calico's mesh rule: the smaller address string is passive). */
  readonly passive: boolean;
  /** Seconds. Calico defaults: hold 240, keepalive hold/3, connect delay 2, retry 5, error wait 5..30. */
  readonly holdTime: number;
  readonly keepaliveTime?: number;
  readonly connectDelayTime: number;
  readonly connectRetryTime: number;
  readonly errorWaitTime: readonly [min: number, max: number];
  /** Graceful-restart time we advertise to this peer (BIRD's default 120). */
  readonly gracefulRestartTime: number;
  /** eBGP only: keep the original next hop instead of next-hop-self. */
  readonly keepOriginalNextHop: boolean;
  readonly maxPrefixes?: number;
  /** What exceeding maxPrefixes does: 'reset' sends Cease 6/1, 'warn' only logs. */
  readonly maxPrefixesAction: 'reset' | 'warn';
  readonly password?: string;
  readonly ttlSecurity?: number;
  readonly allowLocalAs?: number;
  /** Route reflection: this peer is our RR client; we use clusterId. */
  readonly rrClient: boolean;
  readonly rrClusterId?: string;
  /** Address families negotiated on this session (IPv4 unicast always for a v4 peer). */
  readonly families: readonly Family[];
}

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';

export interface PoolIntent {
  readonly name: string;
  readonly cidr: string;
  readonly family: Family;
  readonly blockSize: number;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
  readonly natOutgoing: boolean;
  readonly disabled: boolean;
  readonly disableBGPExport: boolean;
}

/** Everything this node should do, computed from the datastore for one node name. */
export interface NodeIntent {
  readonly nodeName: string;
  /** Dotted-quad BGP identifier. */
  readonly routerId: string;
  readonly localAs: number;
  /** Node addresses without prefix length, and the subnets they sit in (for CrossSubnet). */
  readonly ipv4Address?: string;
  readonly ipv4Network?: string;
  readonly ipv6Address?: string;
  readonly ipv6Network?: string;
  readonly listenPort: number;
  /** bindMode NodeIP: listen only on the node address (the IPv4 one on a dual-stack node). */
  readonly listenAddress?: string;
  /** bindMode NodeIP: every node address to listen on, one per family (IPv4 first), as Calico's bird and bird6 do. */
  readonly listenAddresses?: readonly string[];
  readonly logLevel: 'debug' | 'info' | 'none';
  readonly rrClusterId?: string;
  readonly peers: readonly PeerIntent[];
  readonly pools: readonly PoolIntent[];
  /** CIDRs of the blocks affine to this node (confirmed and pendingDeletion; pending dropped). */
  readonly ownBlocks: readonly string[];
  /** Host prefixes (/32, /128) this node holds in other nodes' blocks. */
  readonly borrowed: readonly string[];
  /** Service CIDRs that are advertised (static blackhole + export accept). */
  readonly serviceRoutes: readonly string[];
  /** CIDRs never programmed into the kernel. */
  readonly rejectCidrs: readonly string[];
}

/** BIRD's FSM state words as `show protocols` prints them. */
export type BgpStateWord = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Close' | 'Passive' | 'Down';

/** BIRD's protocol state column. */
export type ProtoState = 'up' | 'start' | 'down' | 'stop' | 'flush' | 'feed' | 'wait';

/** BIRD's error classes, as they prefix the last error. */
export type ErrorClass = 'Error' | 'Socket' | 'Received' | 'BGP Error' | 'Automatic shutdown' | 'Kernel';

export interface LastError {
  readonly errorClass: ErrorClass;
  /** e.g. 'Connection refused', 'Hold timer expired', 'Administrative shutdown', 'Bad peer AS' */
  readonly message: string;
}

export interface CapabilitySummary {
  readonly multiprotocol: readonly string[]; // 'ipv4', 'ipv6'
  readonly routeRefresh: boolean;
  readonly enhancedRefresh: boolean;
  readonly as4: boolean;
  readonly gracefulRestart?: { readonly restartTime: number; readonly families: readonly string[]; readonly preserved: readonly string[]; readonly restarting: boolean };
  readonly llgr: boolean;
  readonly addPath?: { readonly rx: readonly string[]; readonly tx: readonly string[] };
  readonly extendedMessage: boolean;
  readonly hostname?: string;
}

export interface RouteCounters {
  imported: number;
  exported: number;
  preferred: number;
  filtered: number;
  importUpdates: { received: number; rejected: number; filtered: number; ignored: number; accepted: number };
  importWithdraws: { received: number; rejected: number; ignored: number; accepted: number };
  exportUpdates: { received: number; rejected: number; filtered: number; accepted: number };
  exportWithdraws: { received: number; accepted: number };
}

/** A BGP protocol's live status, in BIRD's vocabulary. Produced by daemon/, read by the control socket. */
export interface PeerStatus {
  readonly name: string;
  readonly kind: PeerKind;
  readonly peerIp: string;
  readonly peerPort: number;
  readonly peerAs: number;
  readonly localAs: number;
  readonly description: string;
  readonly protoState: ProtoState;
  readonly bgpState: BgpStateWord;
  /** When protoState last changed (what `since` shows). */
  readonly since: Date;
  readonly lastError?: LastError;
  readonly neighborId?: string;
  readonly sourceAddress?: string;
  readonly localCaps?: CapabilitySummary;
  readonly peerCaps?: CapabilitySummary;
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  /** Seconds left on the running timers, when established. */
  readonly holdTimerLeft?: number;
  readonly keepaliveTimerLeft?: number;
  readonly session?: 'internal' | 'external';
  readonly nextHop?: string;
  readonly disabled: boolean;
  readonly counters: RouteCounters;
  readonly messages: { readonly in: number; readonly out: number; readonly updatesIn: number; readonly updatesOut: number };
  readonly flaps: number;
}

export function emptyRouteCounters(): RouteCounters {
  return {
    imported: 0, exported: 0, preferred: 0, filtered: 0,
    importUpdates: { received: 0, rejected: 0, filtered: 0, ignored: 0, accepted: 0 },
    importWithdraws: { received: 0, rejected: 0, ignored: 0, accepted: 0 },
    exportUpdates: { received: 0, rejected: 0, filtered: 0, accepted: 0 },
    exportWithdraws: { received: 0, accepted: 0 },
  };
}

/** A route as the kernel sink and `show route` see it. */
export interface SinkRoute {
  /** CIDR text, e.g. '10.244.151.0/26' or 'fd00::/122'. */
  readonly prefix: string;
  readonly type: 'blackhole' | 'unicast';
  readonly via?: string;
  readonly dev?: string;
  readonly onlink?: boolean;
  readonly metric?: number;
}

/** Where learned and own routes go: the kernel through iproute2, or an in-memory table. */
export interface RouteSink {
  /** Installs or replaces routes and removes others; reports failures per route, never throws for one route. */
  apply(changes: { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] }): Promise<SinkResult>;
  /** The routes this sink owns right now (proto bird). */
  dump(): Promise<SinkRoute[]>;
}

export interface SinkResult {
  readonly applied: number;
  readonly failures: readonly { readonly route: SinkRoute; readonly reason: string }[];
}

/** Calico's default timers and numbers. */
export const CALICO_DEFAULTS = {
  asNumber: 64512,
  listenPort: 179,
  holdTime: 240,
  connectDelayTime: 2,
  connectRetryTime: 5,
  errorWaitTime: [5, 30] as const,
  gracefulRestartTime: 120,
  blockSizeV4: 26,
  blockSizeV6: 122,
  maxBlocksPerHost: 20,
  ctlSocket: '/var/run/calico/bird.ctl',
  ctlSocket6: '/var/run/calico/bird6.ctl',
  ipipDevice: 'tunl0',
  kernelProto: 'bird',
} as const;
