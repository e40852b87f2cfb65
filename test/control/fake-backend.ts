/**
 * A ControlBackend over plain mutable data, plus builders for the lab states behind
 * shared/fixtures/bird2-ctl (bastion h1 and Calico-style node h2, 2026-11-22 local time).
 */
import type {
  AdminOutcome, BgpProtocolView, ChannelView, ConfigureResult, ControlBackend, InterfaceView, MemoryView, RouteQuery,
  RouteView, StatusView, SystemProtocolView,
} from '../../daemon/control/backend.js';
import { emptyRouteCounters, type CapabilitySummary, type RouteCounters } from '../../daemon/model.js';

/** A local wall-clock time on the capture day: at('01:44:53.290'). */
export function at(hms: string): Date {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?$/.exec(hms);
  if (!m) throw new Error(`bad time ${hms}`);
  return new Date(2026, 10, 22, Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0));
}

export interface FakeState {
  peers: BgpProtocolView[];
  system?: SystemProtocolView[];
  routes: RouteView[];
  status: StatusView;
  memory?: MemoryView;
  interfaces?: InterfaceView[];
  configure?: ConfigureResult;
}

export class FakeBackend implements ControlBackend {
  readonly calls: string[] = [];
  shutdownCalled = false;
  /** Makes routes() throw, to test error isolation. */
  failRoutes = false;

  constructor(public state: FakeState) {}

  protocols(): readonly BgpProtocolView[] { return this.state.peers; }
  systemProtocols(): readonly SystemProtocolView[] {
    return this.state.system ?? [];
  }
  *routes(_q: RouteQuery): Iterable<RouteView> {
    if (this.failRoutes) throw new Error('RIB unavailable');
    yield* this.state.routes;
  }
  status(): StatusView { return this.state.status; }
  memory(): MemoryView {
    return this.state.memory ?? { routingTables: z(), routeAttributes: z(), protocols: z(), currentConfig: z(), standby: z() };
  }
  interfaces(): readonly InterfaceView[] { return this.state.interfaces ?? []; }
  async configure(check: boolean): Promise<ConfigureResult> {
    this.calls.push(check ? 'configure check' : 'configure');
    return this.state.configure ?? { ok: true, source: 'petrel.yaml' };
  }
  disable(name: string, message?: string): AdminOutcome {
    this.calls.push(`disable ${name}${message !== undefined ? ` "${message}"` : ''}`);
    return this.mutate(name, (p) => (p.disabled ? 'already' : 'done'), (p) => ({ ...p, disabled: true, protoState: 'down', ...(message !== undefined ? { message } : {}) }));
  }
  enable(name: string): AdminOutcome {
    this.calls.push(`enable ${name}`);
    return this.mutate(name, (p) => (p.disabled ? 'done' : 'already'), (p) => ({ ...p, disabled: false, protoState: 'start', bgpState: 'Active' }));
  }
  restart(name: string): void { this.calls.push(`restart ${name}`); }
  reload(name: string, direction: 'in' | 'out' | 'both'): void { this.calls.push(`reload ${direction} ${name}`); }
  shutdown(): void { this.shutdownCalled = true; this.calls.push('shutdown'); }

  private mutate(name: string, outcome: (p: BgpProtocolView) => AdminOutcome, change: (p: BgpProtocolView) => BgpProtocolView): AdminOutcome {
    const i = this.state.peers.findIndex((p) => p.name === name);
    if (i < 0) return 'already'; // system protocols: always enabled, never disabled here
    const p = this.state.peers[i]!;
    const r = outcome(p);
    if (r === 'done') this.state.peers[i] = change(p);
    return r;
  }
}

const z = () => ({ effective: 0, overhead: 0 });

export function counters(partial: {
  imported?: number; exported?: number; preferred?: number;
  importUpdates?: [number, number, number, number, number];
  exportUpdates?: [number, number, number, number];
}): RouteCounters {
  const c = emptyRouteCounters();
  c.imported = partial.imported ?? 0;
  c.exported = partial.exported ?? 0;
  c.preferred = partial.preferred ?? 0;
  if (partial.importUpdates) {
    const [received, rejected, filtered, ignored, accepted] = partial.importUpdates;
    c.importUpdates = { received, rejected, filtered, ignored, accepted };
  }
  if (partial.exportUpdates) {
    const [received, rejected, filtered, accepted] = partial.exportUpdates;
    c.exportUpdates = { received, rejected, filtered, accepted };
  }
  return c;
}

const channel = (over: Partial<ChannelView>): ChannelView => ({
  name: 'ipv4', state: 'UP', table: 'master4', preference: 100, inputFilter: 'ACCEPT', outputFilter: 'REJECT', ...over,
});

/** Defaults for a BGP protocol view; tests override what matters. */
export function bgp(over: Partial<BgpProtocolView> & Pick<BgpProtocolView, 'name' | 'peerIp'>): BgpProtocolView {
  return {
    kind: 'mesh', peerPort: 179, peerAs: 64512, localAs: 64512, description: 'Connection to BGP peer',
    protoState: 'up', bgpState: 'Established', since: at('01:44:55.017'), disabled: false,
    counters: emptyRouteCounters(), messages: { in: 0, out: 0, updatesIn: 0, updatesOut: 0 }, flaps: 0,
    ...over,
  };
}

const CAPS_NODE: CapabilitySummary = {
  multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: true, as4: true, llgr: true, extendedMessage: false,
  gracefulRestart: { restartTime: 120, families: ['ipv4'], preserved: [], restarting: false },
  addPath: { rx: ['ipv4'], tx: ['ipv4'] },
};
const CAPS_BASTION: CapabilitySummary = {
  multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: true, as4: true, llgr: true, extendedMessage: false,
  gracefulRestart: { restartTime: 120, families: [], preserved: [], restarting: false },
};

/** Bastion h1, steady state (top-level fixtures, captured 01:45:00). */
export function bastionState(): FakeState {
  const boot = at('01:44:53.290');
  return {
    system: [
      { name: 'device1', proto: 'Device', state: 'up', since: boot, channels: [] },
      {
        name: 'kernel1', proto: 'Kernel', state: 'up', since: boot,
        channels: [channel({ preference: 10, inputFilter: 'REJECT', outputFilter: 'ACCEPT', counters: counters({ exported: 1, exportUpdates: [1, 0, 0, 1] }) })],
      },
    ],
    peers: [
      bgp({
        name: 'node_h2', peerIp: '10.0.1.12', description: 'Calico-style node h2', neighborId: '10.0.1.12',
        localCaps: CAPS_BASTION, peerCaps: CAPS_NODE, session: 'internal', multihop: false, sourceAddress: '10.0.1.11',
        holdTime: 240, keepaliveTime: 80, holdTimerLeft: 207.789, keepaliveTimerLeft: 64.749,
        counters: counters({ imported: 1, preferred: 1, importUpdates: [1, 0, 0, 0, 1], exportUpdates: [1, 1, 0, 0] }),
        exportFilter: 'REJECT', nextHop: '10.0.1.11',
      }),
      bgp({
        name: 'lab_range', peerIp: '10.0.1.0', neighborRange: '10.0.1.0/24', description: 'Dynamic iBGP peers from the lab subnet',
        protoState: 'start', bgpState: 'Passive', since: boot, multihop: false, exportFilter: 'REJECT',
      }),
    ],
    routes: [{
      prefix: '10.48.0.0/26', dest: 'unicast', nextHops: [{ gateway: '10.0.1.12', dev: 'eth0' }], protocol: 'node_h2',
      since: at('01:44:55.337'), primary: true, preference: 100, source: 'BGP',
      bgp: { origin: 'IGP', asPath: [], nextHop: '10.0.1.12', localPref: 100 },
    }],
    status: { routerId: '10.0.1.11', hostname: 'bastion', startedAt: boot, lastReconfig: boot },
    memory: {
      routingTables: { effective: 19763, overhead: 9464 },
      routeAttributes: { effective: 1088, overhead: 9264 },
      protocols: { effective: 13619, overhead: 2296 },
      currentConfig: { effective: 12390, overhead: 456 },
      standby: { effective: 0, overhead: 65536 },
      total: { effective: 66253, overhead: 92774 },
    },
    interfaces: [
      {
        name: 'lo', index: 1, up: true, flags: ['MultiAccess', 'AdminUp', 'LinkUp', 'Loopback', 'Ignored'], mtu: 65536,
        addresses: [{ cidr: '127.0.0.1/8', preferred: true, scope: 'host' }, { cidr: '::1/128', preferred: true, scope: 'host' }],
      },
      {
        name: 'eth0', index: 2, up: true, flags: ['MultiAccess', 'Broadcast', 'Multicast', 'AdminUp', 'LinkUp'], mtu: 1500,
        addresses: [{ cidr: '10.0.1.11/24', preferred: true, scope: 'site' }, { cidr: 'fe80::405f:97ff:fe0d:6c8/64', preferred: true, scope: 'link' }],
      },
    ],
    configure: { ok: true, source: 'bastion.conf' },
  };
}

function nodeSystem(since: Date): SystemProtocolView[] {
  return [
    {
      name: 'static1', proto: 'Static', state: 'up', since,
      channels: [channel({ preference: 200, counters: counters({ imported: 1, preferred: 1, importUpdates: [1, 0, 0, 0, 1] }) })],
    },
    {
      name: 'kernel1', proto: 'Kernel', state: 'up', since,
      channels: [channel({ preference: 10, outputFilter: 'calico_kernel_programming', counters: counters({ exported: 1, exportUpdates: [3, 0, 2, 1] }) })],
    },
    { name: 'device1', proto: 'Device', state: 'up', since, channels: [] },
    {
      name: 'direct1', proto: 'Direct', state: 'up', since,
      channels: [channel({ preference: 240, counters: counters({ imported: 1, preferred: 1, importUpdates: [1, 0, 0, 0, 1] }) })],
    },
  ];
}

/** The node's BGP peer to the bastion, Established (node/ fixtures). */
export function nodeGlobalPeer(over: Partial<BgpProtocolView> = {}): BgpProtocolView {
  return bgp({
    name: 'Global_10_0_1_11', kind: 'global', peerIp: '10.0.1.11', neighborId: '10.0.1.11',
    localCaps: CAPS_NODE, peerCaps: { ...CAPS_BASTION, llgr: true }, session: 'internal', sourceAddress: '10.0.1.12',
    holdTime: 240, keepaliveTime: 80, holdTimerLeft: 203.226, keepaliveTimerLeft: 72.282,
    counters: counters({ exported: 1, exportUpdates: [2, 0, 1, 1] }), nextHop: '10.0.1.12',
    ...over,
  });
}

/** Calico-style node h2, steady state (node/ fixtures). */
export function nodeState(): FakeState {
  const boot = at('01:44:53.413');
  return {
    system: nodeSystem(boot),
    peers: [nodeGlobalPeer()],
    routes: [
      {
        prefix: '10.0.1.0/24', dest: 'unicast', nextHops: [{ dev: 'eth0' }], protocol: 'direct1', since: boot, primary: true,
        preference: 240, source: 'device',
      },
      { prefix: '10.48.0.0/26', dest: 'blackhole', protocol: 'static1', since: boot, primary: true, preference: 200, source: 'static' },
    ],
    status: { routerId: '10.0.1.12', hostname: 'node-h2', startedAt: boot, lastReconfig: boot },
  };
}

/** The node while its bastion session walks through the states of states/NN-*.txt. */
export function nodeSessionState(systemSince: string, peer: Partial<BgpProtocolView>): FakeState {
  const s = nodeState();
  s.system = nodeSystem(at(systemSince));
  s.peers = [nodeGlobalPeer(peer)];
  return s;
}
