/**
 * The engine's routes as the control socket's RouteView records (`show route [all]`), and the
 * engine's counts for `show route count`.
 */
import type { BgpOrigin, BgpRouteAttrs, RouteQuery, RouteView } from '../control/backend.js';
import type { RouteEngine } from './engine.js';
import type { RouteEntry, RouteFilter } from './types.js';

const ORIGINS: readonly BgpOrigin[] = ['IGP', 'EGP', 'Incomplete'];

export interface RouteViewOptions {
  /** The interface toward a gateway when the kernel picks it (plain `via` routes); BIRD prints `via X on <dev>`. */
  readonly devFor?: (gateway: string) => string | undefined;
}

function bgpAttrs(e: RouteEntry): BgpRouteAttrs {
  const a = e.attrs;
  return {
    origin: ORIGINS[a.origin] ?? 'Incomplete',
    asPath: a.asPath.flatMap((s) => s.asns),
    nextHop: a.nextHop ?? '',
    ...(a.med !== undefined ? { med: a.med } : {}),
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    ...(a.atomicAggregate ? { atomicAggregate: true } : {}),
    ...(a.communities?.length ? { communities: a.communities.map((c) => [c >>> 16, c & 0xffff] as const) } : {}),
    ...(a.originatorId !== undefined ? { originatorId: a.originatorId } : {}),
    ...(a.clusterList?.length ? { clusterList: a.clusterList } : {}),
    ...(a.largeCommunities?.length ? { largeCommunities: a.largeCommunities } : {}),
  };
}

export function toRouteView(e: RouteEntry, opts: RouteViewOptions = {}): RouteView {
  const dev = e.dev ?? (e.via !== undefined ? opts.devFor?.(e.via) : undefined) ?? 'unknown';
  const bgp = e.local === undefined;
  return {
    prefix: e.prefix,
    dest: e.type,
    ...(e.type === 'unicast' && e.via !== undefined ? { nextHops: [{ gateway: e.via, dev, ...(e.onlink ? { onlink: true } : {}) }] } : {}),
    protocol: e.protocol,
    since: e.since,
    primary: e.primary,
    ...(e.kernelRejected ? { kernelRejected: true } : {}),
    preference: e.preference,
    source: bgp ? 'BGP' : e.local === 'borrowed' ? 'inherit' : 'static',
    ...(bgp && e.fromAddress !== undefined && e.fromAddress !== e.via ? { from: e.fromAddress } : {}),
    ...(bgp ? { bgp: bgpAttrs(e) } : {}),
  };
}

/** ControlBackend.routes() over the engine. */
export function* routeViews(engine: RouteEngine, query: RouteQuery, opts: RouteViewOptions = {}): Generator<RouteView> {
  const family = query.table === 'master4' ? 4 : query.table === 'master6' ? 6 : undefined;
  if (query.table !== undefined && family === undefined) return;
  const filter: RouteFilter = {
    ...(family !== undefined ? { family } : {}),
    ...(query.protocol !== undefined ? { protocol: query.protocol } : {}),
    ...(query.forAddress !== undefined ? { forAddress: query.forAddress } : {}),
    ...(query.primaryOnly ? { primaryOnly: true } : {}),
  };
  for (const e of engine.listRoutes(filter)) yield toRouteView(e, opts);
}
