/**
 * What the control socket reads from the daemon. The server never touches sessions, the RIB or
 * the kernel directly: the daemon hands it a ControlBackend and the server formats what it returns
 * in BIRD's layouts. Everything here is plain data, cheap to produce on demand.
 */
import type { Family, PeerStatus, ProtoState, RouteCounters } from '../model.js';

/** BIRD 2's channel states as `show protocols all` prints them. */
export type ChannelStateWord = 'UP' | 'DOWN' | 'START' | 'FLUSHING';

/** One channel (address family) of a protocol as `show protocols all` prints it. */
export interface ChannelView {
  /** 'ipv4' or 'ipv6'. */
  readonly name: string;
  readonly state: ChannelStateWord;
  /** 'master4' / 'master6'. */
  readonly table: string;
  readonly preference: number;
  /** Filter names as BIRD prints them: 'ACCEPT', 'REJECT' or a filter name. */
  readonly inputFilter: string;
  readonly outputFilter: string;
  /** Route counters; printed only when the channel is not DOWN. */
  readonly counters?: RouteCounters;
  /** BGP only: the next hop we announce, printed when the channel is UP. */
  readonly bgpNextHop?: string;
  /** BGP only, during the neighbour's graceful restart: `Neighbor GR:` ('Regular', 'Long-lived', 'None'). */
  readonly neighborGr?: string;
  /** BGP only: `IGP IPv4 table:` line (recursive next hops, BIRD 2's default for iBGP). */
  readonly igpTable?: string;
}

/**
 * Optional extras a BGP protocol may carry beyond PeerStatus (timers and config details that
 * `show protocols all` prints). Every field has a Calico-shaped default.
 */
export interface BgpProtocolExtras {
  /** A dynamic template: `Neighbor range:` replaces `Neighbor address:`. */
  readonly neighborRange?: string;
  /** `disable <p> "message"` (ours, or the peer's shutdown communication): shown as `Message:`. */
  readonly message?: string;
  /** Seconds left on the connect-delay timer while Active (with the configured value). */
  readonly connectDelay?: { readonly left: number; readonly total: number };
  /** Seconds left before the next start attempt after an error (`Error wait:`). */
  readonly errorWait?: { readonly left: number; readonly total: number };
  /** Graceful-restart timer while the neighbour restarts. */
  readonly restartTimerLeft?: number;
  readonly neighborGracefulRestartActive?: boolean;
  /** `multihop` in the Session line; BIRD 2 defaults iBGP to multihop (default: session === 'internal'). */
  readonly multihop?: boolean;
  /** Channels; default: one ipv4/ipv6 channel derived from PeerStatus. */
  readonly channels?: readonly ChannelView[];
  /** Output filter name for the derived channel (default 'calico_export_to_bgp_peers'). */
  readonly exportFilter?: string;
  /**
   * Families the session carries (default: the peer address's family). A multiprotocol session
   * shows on each family's socket (bird.ctl and bird6.ctl) and gets one derived channel per family.
   */
  readonly families?: readonly Family[];
}

export type BgpProtocolView = PeerStatus & BgpProtocolExtras;

/** A non-BGP protocol row: static1, kernel1, device1, direct1 (and kernel2 for IPv6). */
export interface SystemProtocolView {
  readonly name: string;
  readonly proto: 'Static' | 'Kernel' | 'Device' | 'Direct';
  readonly state: ProtoState;
  readonly since: Date;
  /** Channels for `show protocols all`; device1 has none. */
  readonly channels: readonly ChannelView[];
}

export interface NextHopView {
  /** Absent for a device route (`dev eth0`). */
  readonly gateway?: string;
  readonly dev: string;
  readonly onlink?: boolean;
  /** Multipath weight (1-based as printed); printed only when there are several next hops. */
  readonly weight?: number;
}

export type BgpOrigin = 'IGP' | 'EGP' | 'Incomplete';

/** BGP attributes of a route, printed by `show route all`; also give the `[AS..i]` suffix. */
export interface BgpRouteAttrs {
  readonly origin: BgpOrigin;
  /** Flattened AS path, leftmost first. */
  readonly asPath: readonly number[];
  readonly nextHop: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  /** Standard communities as [asn, value] pairs. */
  readonly communities?: readonly (readonly [number, number])[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
}

/**
 * One route of one network, as the RIB holds it. Backends yield the routes of a network
 * consecutively, the best one first (BIRD's order), networks in any stable order.
 */
export interface RouteView {
  /** CIDR: '10.48.0.0/26', 'fd00::/122'. */
  readonly prefix: string;
  /** Routing table; default from the prefix family ('master4' / 'master6'). */
  readonly table?: string;
  readonly dest: 'unicast' | 'blackhole' | 'unreachable' | 'prohibited';
  readonly nextHops?: readonly NextHopView[];
  /** The protocol that originated it: 'Mesh_10_0_1_20', 'static1', 'direct1', 'kernel1'. */
  readonly protocol: string;
  /** When the route last changed. */
  readonly since: Date;
  /** Best route of its network (BIRD's `*`). */
  readonly primary: boolean;
  /** The kernel refused it (BIRD's `!` instead of `*`). */
  readonly kernelRejected?: boolean;
  /** BIRD preference: BGP 100, static 200, direct 240, kernel 10. */
  readonly preference: number;
  /** Route source for the `Type:` line. */
  readonly source: 'BGP' | 'static' | 'device' | 'inherit';
  /** Recursive next hop metric: prints `(100/0)`; undefined for direct next hops. */
  readonly igpMetric?: number;
  /** Address the route was learned from when it differs from the gateway (route reflection). */
  readonly from?: string;
  readonly bgp?: BgpRouteAttrs;
}

/** Hints for routes(): a backend may use them to skip work; the server filters again anyway. */
export interface RouteQuery {
  readonly table?: string;
  readonly protocol?: string;
  /** `show route for <addr>`: the longest match is wanted. */
  readonly forAddress?: string;
  readonly primaryOnly?: boolean;
}

export interface StatusView {
  readonly routerId: string;
  readonly hostname: string;
  readonly startedAt: Date;
  readonly lastReconfig: Date;
  /** Overrides the dialect's version text (bird2: '2.0.12', bird1: 'v0.3.3+birdv1.6.8'). */
  readonly version?: string;
  /** Final status line text; default 'Daemon is up and running'. */
  readonly phase?: 'running' | 'shutdown' | 'reconfiguring';
  /** Graceful-restart recovery in progress (0024 lines). */
  readonly gracefulRestart?: { readonly waitingChannels: number; readonly waitLeft: number; readonly waitTotal: number };
}

/** Bytes per pool, as `show memory` lists them. */
export interface MemoryView {
  readonly routingTables: { readonly effective: number; readonly overhead: number };
  readonly routeAttributes: { readonly effective: number; readonly overhead: number };
  readonly protocols: { readonly effective: number; readonly overhead: number };
  readonly currentConfig: { readonly effective: number; readonly overhead: number };
  readonly standby: { readonly effective: number; readonly overhead: number };
  /** BIRD's total covers more than the listed pools; default: their sum. */
  readonly total?: { readonly effective: number; readonly overhead: number };
}

export interface InterfaceAddressView {
  /** CIDR with the host address: '10.0.1.11/24'. */
  readonly cidr: string;
  readonly preferred: boolean;
  readonly scope: 'host' | 'link' | 'site' | 'univ';
}

export interface InterfaceView {
  readonly name: string;
  readonly index: number;
  readonly up: boolean;
  /** BIRD's flag words: 'MultiAccess', 'Broadcast', 'Multicast', 'AdminUp', 'LinkUp', 'Loopback', 'Ignored'. */
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly addresses: readonly InterfaceAddressView[];
}

export interface ConfigureResult {
  readonly ok: boolean;
  /** Where the configuration was read from ('bird.cfg', 'etcd:http://...'); `0002-Reading configuration from <source>`. */
  readonly source: string;
  /** When !ok: the error text of the 8002 line. */
  readonly error?: string;
}

export type AdminOutcome = 'done' | 'already';

/**
 * The daemon side of the control socket. Synchronous getters must be cheap (they run on the event
 * loop per command); the generator of routes is pulled lazily, a few hundred at a time.
 */
export interface ControlBackend {
  /** BGP protocols in BIRD's order (Calico: mesh by node, then global, then node-specific). */
  protocols(): readonly BgpProtocolView[];
  /** static1/kernel1/device1/direct1; default: those four, up since startedAt. */
  systemProtocols?(): readonly SystemProtocolView[];
  routes(query: RouteQuery): Iterable<RouteView>;
  status(): StatusView;
  /** Default: derived from process.memoryUsage(). */
  memory?(): MemoryView;
  /** Default: the host's interfaces (os.networkInterfaces and /sys/class/net). */
  interfaces?(): readonly InterfaceView[];
  /** Reload (or only check, when check) the configuration from the datastore. */
  configure(check: boolean): Promise<ConfigureResult>;
  disable(name: string, message?: string): AdminOutcome;
  enable(name: string): AdminOutcome;
  restart(name: string): void;
  /** Route refresh; default: accepted without action. */
  reload?(name: string, direction: 'in' | 'out' | 'both'): void;
  /** `down`: called after the reply was written. */
  shutdown(): void;
}
