/**
 * The control socket's view of a running daemon (daemon/control's ControlBackend): BGP protocols
 * from the peer sessions with route counters from the RIB, routes from the RIB, and the admin
 * actions (configure, disable, enable, restart, down).
 */
import { hostname, networkInterfaces } from 'node:os';
import { containsAddress, parseAddress, parseCidrLoose, type Cidr } from '../config/cidr.js';
import type { AdminOutcome, BgpOrigin, BgpProtocolView, ConfigureResult, ControlBackend, RouteQuery, RouteView, StatusView } from './control/index.js';
import type { Daemon } from './daemon.js';
import type { RouteEngine as Rib, RouteEntry } from './rib/index.js';

const ORIGINS: readonly BgpOrigin[] = ['IGP', 'EGP', 'Incomplete'];

export interface BackendOptions {
  /** Where the configuration comes from, for `configure` replies. */
  readonly configSource: string;
  /** `down`: stop the daemon (after the reply was written). */
  readonly onDown: () => void;
}

export class DaemonControlBackend implements ControlBackend {
  private readonly startedAt = new Date();
  private lastReconfig = new Date();

  constructor(
    private readonly daemon: Daemon,
    private readonly rib: Rib | undefined,
    private readonly opts: BackendOptions,
  ) {}

  protocols(): readonly BgpProtocolView[] {
    return this.daemon.peerManager.sessionsInOrder().map((s) => {
      const st = s.status();
      const wait = s.waitingFor();
      const view: BgpProtocolView = {
        ...st,
        families: s.peerIntent.families.length > 0 ? s.peerIntent.families : [s.peerIntent.family],
        ...(this.rib ? { counters: this.rib.counters(st.name) } : {}),
        ...((s.disabledMessage ?? s.receivedMessage) ? { message: (s.disabledMessage ?? s.receivedMessage) as string } : {}),
        ...(wait?.kind === 'connectDelay' ? { connectDelay: { left: wait.left, total: wait.total } } : {}),
        ...(wait?.kind === 'errorWait' ? { errorWait: { left: wait.left, total: wait.total } } : {}),
      };
      return view;
    });
  }

  *routes(query: RouteQuery): Iterable<RouteView> {
    if (!this.rib) return;
    const filter = { ...(query.protocol ? { protocol: query.protocol } : {}), ...(query.primaryOnly ? { primaryOnly: true } : {}) };
    for (const r of this.rib.listRoutes(filter)) yield routeView(r);
  }

  status(): StatusView {
    return { routerId: this.daemon.nodeIntent.routerId, hostname: hostname(), startedAt: this.startedAt, lastReconfig: this.lastReconfig };
  }

  async configure(check: boolean): Promise<ConfigureResult> {
    const r = await this.daemon.reload(check);
    if (r.ok && !check) this.lastReconfig = new Date();
    return { ok: r.ok, source: this.opts.configSource, ...(r.error ? { error: r.error } : {}) };
  }

  disable(name: string, message?: string): AdminOutcome {
    const s = this.daemon.peerManager.get(name);
    if (!s) return 'already';
    if (s.isDisabled) return 'already';
    void s.disable(message);
    return 'done';
  }

  enable(name: string): AdminOutcome {
    return this.daemon.peerManager.enable(name) ?? 'already';
  }

  restart(name: string): void {
    void this.daemon.peerManager.restart(name);
  }

  /** `reload [in|out] <name>`: ask the peer for its routes again, and/or send ours again. */
  reload(name: string, direction: 'in' | 'out' | 'both'): void {
    if (direction !== 'out') this.daemon.peerManager.get(name)?.requestRefresh();
    if (direction !== 'in') void this.rib?.refresh(name);
  }

  shutdown(): void {
    this.opts.onDown();
  }
}

/**
 * The interface a gateway is reached on, as BIRD prints it (`via 10.0.7.22 on eth0`): the local
 * interface whose subnet holds the gateway. Looked up from os.networkInterfaces(), cached briefly.
 */
class InterfaceResolver {
  private subnets: { cidr: Cidr; dev: string }[] = [];
  private readAt = -Infinity;

  constructor(private readonly maxAgeMs = 5000) {}

  devFor(gateway: string): string | undefined {
    if (Date.now() - this.readAt > this.maxAgeMs) this.refresh();
    let addr: { family: 4 | 6; addr: bigint };
    try {
      addr = parseAddress(gateway);
    } catch {
      return undefined;
    }
    let best: { cidr: Cidr; dev: string } | undefined;
    for (const s of this.subnets) {
      if (containsAddress(s.cidr, addr.family, addr.addr) && (!best || s.cidr.len > best.cidr.len)) best = s;
    }
    return best?.dev;
  }

  private refresh(): void {
    this.readAt = Date.now();
    this.subnets = [];
    for (const [dev, addrs] of Object.entries(networkInterfaces())) {
      for (const a of addrs ?? []) {
        if (!a.cidr || a.internal) continue;
        try {
          this.subnets.push({ cidr: parseCidrLoose(a.cidr), dev });
        } catch {
          /* an address we cannot parse is no route */
        }
      }
    }
  }
}

const interfaces = new InterfaceResolver();

function routeView(r: RouteEntry): RouteView {
  const gatewayDev = r.via ? (interfaces.devFor(r.via) ?? r.dev ?? '') : '';
  const nextHops = r.via ? [{ gateway: r.via, dev: gatewayDev }] : r.dev ? [{ dev: r.dev }] : undefined;
  const a = r.attrs;
  const bgp =
    r.local === undefined && a
      ? {
          origin: ORIGINS[a.origin] ?? 'Incomplete',
          asPath: a.asPath.flatMap((seg) => seg.asns),
          nextHop: a.nextHop ?? r.fromAddress ?? '',
          ...(a.med !== undefined ? { med: a.med } : {}),
          ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
          ...(a.atomicAggregate ? { atomicAggregate: true } : {}),
          ...(a.communities ? { communities: a.communities.map((c) => [c >>> 16, c & 0xffff] as const) } : {}),
          ...(a.originatorId ? { originatorId: a.originatorId } : {}),
          ...(a.clusterList ? { clusterList: a.clusterList } : {}),
          ...(a.largeCommunities ? { largeCommunities: a.largeCommunities } : {}),
        }
      : undefined;
  return {
    prefix: r.prefix,
    dest: r.type,
    ...(nextHops ? { nextHops } : {}),
    protocol: r.protocol,
    since: r.since,
    primary: r.primary,
    preference: r.preference,
    source: r.local === undefined ? 'BGP' : 'static',
    ...(r.local === undefined ? { igpMetric: 0 } : {}),
    ...(r.fromAddress && r.fromAddress !== r.via ? { from: r.fromAddress } : {}),
    ...(bgp ? { bgp } : {}),
  };
}
