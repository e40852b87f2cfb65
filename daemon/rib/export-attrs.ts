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
import { encodedAttributes } from '../../proto/attributes.js';
import { attrsKey, DEFAULT_LOCAL_PREF, ORIGIN_IGP, prependAs, type RouteAttrs } from './attrs.js';

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

/**
 * Peers that get the same exported attribute sets and the same UPDATE bytes: same session type,
 * AS, next hop self, next-hop and reflection settings, families and negotiated encoding. An iBGP
 * full mesh is one class, so a route's attributes are rewritten (and interned) once for all of
 * it, not once per peer, and a batch encoded for one member serves the others.
 */
export interface ExportClassPeer {
  readonly ibgp: boolean;
  readonly localAs: number;
  readonly localAddress: string;
  readonly localAddress6?: string;
  readonly keepOriginalNextHop: boolean;
  readonly rrClient: boolean;
  readonly families: readonly Family[];
  readonly as4: boolean;
  readonly addPathTx: boolean;
  readonly extendedMessage?: boolean;
  readonly context?: {
    readonly as4: boolean;
    readonly addPathTx: { readonly ipv4: boolean; readonly ipv6: boolean };
    readonly extendedMessage: boolean;
  };
}

interface ExportedSet {
  readonly attrs: RouteAttrs;
  readonly key: string;
  refs: number;
}

/**
 * A class's exported attribute sets, interned by their encoded bytes: the bytes are needed for
 * the UPDATEs anyway (the codec caches them per set object), so finding a set costs no
 * canonical key of its own, and two source sets that export identically (a MED stripped toward
 * eBGP) still share one id, so unchanged routes are not sent again. Ids are never reused.
 */
export class ExportClass {
  /**
   * (source attribute-set id, source index, family) → exported set id. It holds no references:
   * the user checks that the set still exists.
   */
  readonly exported = new Map<number, number>();
  /** The cluster id the cached sets were made with (reflected routes carry it). */
  clusterId: string | undefined;
  members = 0;
  private readonly sets = new Map<number, ExportedSet>();
  private readonly byKey = new Map<string, number>();
  private nextId = 1;

  constructor(
    readonly key: string,
    /** The class's AS size on the wire (the encoding the sets are keyed by). */
    readonly as4: boolean,
  ) {}

  /** The id of `attrs` (family `family`), taking one reference. */
  intern(attrs: RouteAttrs, family: Family): number {
    const key = exportedSetKey(attrs, family, this.as4);
    const id = this.byKey.get(key);
    if (id !== undefined) {
      this.sets.get(id)!.refs++;
      return id;
    }
    const nid = this.nextId++;
    this.byKey.set(key, nid);
    this.sets.set(nid, { attrs, key, refs: 1 });
    return nid;
  }

  ref(id: number): void {
    const e = this.sets.get(id);
    if (e) e.refs++;
  }

  release(id: number): void {
    const e = this.sets.get(id);
    if (!e || --e.refs > 0) return;
    this.sets.delete(id);
    this.byKey.delete(e.key);
  }

  has(id: number): boolean {
    return this.sets.has(id);
  }

  get(id: number): RouteAttrs {
    const e = this.sets.get(id);
    if (!e) throw new Error(`exported attribute set ${id} is not interned`);
    return e.attrs;
  }

  /** Exported sets alive. */
  get size(): number {
    return this.sets.size;
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/**
 * What makes two exported sets the same on the wire: their encoded attributes, plus the MP_REACH
 * next hops of IPv6 routes (not among the attributes). A set the codec cannot encode is keyed by
 * its fields, and its UPDATE fails (and is logged) where it would have anyway.
 */
function exportedSetKey(attrs: RouteAttrs, family: Family, as4: boolean): string {
  const head = family === 4 ? '4|' : `6|${attrs.nextHop ?? ''}|${attrs.nextHopLinkLocal ?? ''}|`;
  try {
    const enc = encodedAttributes(attrs, as4);
    return `${head}${latin1(enc.below)}|${latin1(enc.above)}`;
  } catch {
    return `${head}!${attrsKey(attrs)}`;
  }
}

export function exportClassKey(p: ExportClassPeer): string {
  const ctx = p.context;
  const enc = ctx
    ? [ctx.as4, ctx.addPathTx.ipv4, ctx.addPathTx.ipv6, ctx.extendedMessage]
    : [p.as4, p.addPathTx, p.addPathTx, p.extendedMessage ?? false];
  return JSON.stringify([p.ibgp, p.localAs, p.localAddress, p.localAddress6 ?? '', p.keepOriginalNextHop, p.rrClient, [...p.families].sort(), enc]);
}

/** The live export classes, shared by the peers that belong to them. */
export class ExportClasses {
  private readonly byKey = new Map<string, ExportClass>();

  join(p: ExportClassPeer): ExportClass {
    const key = exportClassKey(p);
    let c = this.byKey.get(key);
    if (!c) this.byKey.set(key, (c = new ExportClass(key, p.context?.as4 ?? p.as4)));
    c.members++;
    return c;
  }

  leave(c: ExportClass): void {
    if (--c.members <= 0 && this.byKey.get(c.key) === c) this.byKey.delete(c.key);
  }

  get size(): number {
    return this.byKey.size;
  }
}
