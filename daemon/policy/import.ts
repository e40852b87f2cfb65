/**
 * Import: Calico accepts everything from its peers. What remains are BGP's own loop checks
 * (RFC 4271 §9.1.2 for AS paths, RFC 4456 §8 for reflected routes), the eBGP LOCAL_PREF rule,
 * and the per-peer prefix limit.
 */
import { pathContainsAs, type RouteAttrs } from '../rib/attrs.js';

export interface ImportContext {
  readonly ibgp: boolean;
  readonly localAs: number;
  readonly routerId: string;
  readonly clusterId?: string;
  /** How many times our AS may appear in a received path (BGPPeer numAllowedLocalASNumbers). */
  readonly allowLocalAs?: number;
}

export type ImportVerdict =
  | { readonly accept: true }
  | { readonly accept: false; readonly reason: 'asLoop' | 'originatorLoop' | 'clusterLoop' };

// The verdicts are shared frozen constants: one is asked for per imported UPDATE, none allocated.
const ACCEPT: ImportVerdict = Object.freeze({ accept: true });
const AS_LOOP: ImportVerdict = Object.freeze({ accept: false, reason: 'asLoop' });
const ORIGINATOR_LOOP: ImportVerdict = Object.freeze({ accept: false, reason: 'originatorLoop' });
const CLUSTER_LOOP: ImportVerdict = Object.freeze({ accept: false, reason: 'clusterLoop' });

export function importVerdict(ctx: ImportContext, attrs: RouteAttrs): ImportVerdict {
  if (!ctx.ibgp) return pathContainsAs(attrs, ctx.localAs) > (ctx.allowLocalAs ?? 0) ? AS_LOOP : ACCEPT;
  if (attrs.originatorId !== undefined && attrs.originatorId === ctx.routerId) return ORIGINATOR_LOOP;
  if (ctx.clusterId !== undefined && attrs.clusterList?.includes(ctx.clusterId)) return CLUSTER_LOOP;
  return ACCEPT;
}

/** LOCAL_PREF received from an eBGP peer is meaningless to us (RFC 4271 §5.1.5): drop it. */
export function normaliseImported(attrs: RouteAttrs, ibgp: boolean): RouteAttrs {
  if (ibgp || attrs.localPref === undefined) return attrs;
  const { localPref: _dropped, ...rest } = attrs;
  return rest as RouteAttrs;
}

export type MaxPrefixOutcome = 'ok' | 'warn' | 'reset';

/** What holding `count` prefixes from a peer with limit `max` means. */
export function maxPrefixOutcome(count: number, max: number | undefined, action: 'reset' | 'warn'): MaxPrefixOutcome {
  if (max === undefined || count <= max) return 'ok';
  return action;
}
