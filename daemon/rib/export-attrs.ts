/**
 * How a route's attributes change on the way out to one peer, and whether BGP's own rules let
 * it go there at all (before Calico's export filter). Pure functions.
 *
 * - Own routes: ORIGIN IGP, empty AS_PATH toward iBGP, our AS toward eBGP, next hop self,
 *   LOCAL_PREF 100 toward iBGP (what BIRD sends for Calico's static blackholes).
 * - Learned routes toward iBGP: next hop kept, LOCAL_PREF kept (100 when absent); reflected
 *   routes get ORIGINATOR_ID and our cluster id on CLUSTER_LIST (RFC 4456).
 * - Learned routes toward eBGP: our AS prepended, next hop self unless keepOriginalNextHop,
 *   LOCAL_PREF, MED and the reflection attributes removed.
 */
import type { Family } from '../model.js';
import { DEFAULT_LOCAL_PREF, ORIGIN_IGP, prependAs, type RouteAttrs } from './attrs.js';

export interface ExportTarget {
  readonly ibgp: boolean;
  readonly localAs: number;
  /** Our address on this session, per family: the next hop we announce as "self". */
  readonly selfNextHop: { readonly 4?: string; readonly 6?: string };
  readonly keepOriginalNextHop: boolean;
  readonly rrClient: boolean;
}

export interface RouteSource {
  readonly local: boolean;
  readonly ibgp: boolean;
  readonly rrClient: boolean;
  /** BGP identifier of the peer the route came from (ORIGINATOR_ID when reflecting). */
  readonly routerId: string;
}

/**
 * BGP's distribution rules: never back to the peer it came from (checked by the caller), and
 * iBGP-learned routes go to other iBGP peers only when this node reflects (a cluster id) and one
 * side is a route-reflector client.
 */
export function bgpMayAdvertise(source: RouteSource, target: ExportTarget, clusterId: string | undefined): boolean {
  if (source.local || !source.ibgp || !target.ibgp) return true;
  return clusterId !== undefined && (source.rrClient || target.rrClient);
}

const TRANSITIVE = 0x40;

function withNextHop(out: Record<string, unknown>, nh: string | undefined): void {
  if (nh === undefined) return;
  out['nextHop'] = nh;
  delete out['nextHopLinkLocal'];
}

export function exportAttrs(
  attrs: RouteAttrs,
  family: Family,
  source: RouteSource,
  target: ExportTarget,
  clusterId: string | undefined,
): RouteAttrs {
  const self = target.selfNextHop[family];
  if (source.local) {
    const out: Record<string, unknown> = {
      origin: ORIGIN_IGP,
      asPath: target.ibgp ? [] : [{ type: 2, asns: [target.localAs] }],
      unknown: [],
    };
    if (target.ibgp) out['localPref'] = DEFAULT_LOCAL_PREF;
    if (attrs.communities) out['communities'] = attrs.communities;
    if (attrs.largeCommunities) out['largeCommunities'] = attrs.largeCommunities;
    withNextHop(out, self);
    return out as unknown as RouteAttrs;
  }
  // Unknown optional non-transitive attributes are not passed on (RFC 4271 §5).
  const out: Record<string, unknown> = { ...attrs, unknown: attrs.unknown.filter((u) => (u.flags & TRANSITIVE) !== 0) };
  delete out['local'];
  if (target.ibgp) {
    out['localPref'] = attrs.localPref ?? DEFAULT_LOCAL_PREF;
    if (source.ibgp && clusterId !== undefined) {
      out['originatorId'] = attrs.originatorId ?? source.routerId;
      out['clusterList'] = [clusterId, ...(attrs.clusterList ?? [])];
    }
    return out as unknown as RouteAttrs;
  }
  out['asPath'] = prependAs(attrs.asPath, target.localAs);
  delete out['localPref'];
  delete out['med'];
  delete out['originatorId'];
  delete out['clusterList'];
  if (!target.keepOriginalNextHop) withNextHop(out, self);
  return out as unknown as RouteAttrs;
}
