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
import { encodeAttributeParts, type EncodedAttributes } from '../../proto/attributes.js';
import { encodeCommonAttributes } from '../../proto/attributes-common.js';
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

/** Fields copyFields copies by name; anything else on a set (a field the codec adds later) is copied generically. */
const NAMED = new Set([
  'origin', 'asPath', 'nextHop', 'nextHopLinkLocal', 'med', 'localPref', 'atomicAggregate', 'aggregator',
  'communities', 'extCommunities', 'largeCommunities', 'originatorId', 'clusterList', 'unknown', 'local',
]);

/**
 * A copy of a learned set's fields, built by assignment in a fixed order rather than by object
 * spread: V8 gives spread copies shapes on which reading an absent field (as the encoder does for
 * a dozen optional attributes) is about ten times slower. `internal` keeps the attributes that
 * only make sense inside the AS (LOCAL_PREF, MED, ORIGINATOR_ID, CLUSTER_LIST). `local` is dropped.
 */
function copyFields(a: RouteAttrs, internal: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { origin: a.origin, asPath: a.asPath };
  if (a.nextHop !== undefined) out['nextHop'] = a.nextHop;
  if (a.nextHopLinkLocal !== undefined) out['nextHopLinkLocal'] = a.nextHopLinkLocal;
  if (internal && a.med !== undefined) out['med'] = a.med;
  if (internal && a.localPref !== undefined) out['localPref'] = a.localPref;
  if (a.atomicAggregate !== undefined) out['atomicAggregate'] = a.atomicAggregate;
  if (a.aggregator !== undefined) out['aggregator'] = a.aggregator;
  if (a.communities !== undefined) out['communities'] = a.communities;
  if (a.extCommunities !== undefined) out['extCommunities'] = a.extCommunities;
  if (a.largeCommunities !== undefined) out['largeCommunities'] = a.largeCommunities;
  if (internal && a.originatorId !== undefined) out['originatorId'] = a.originatorId;
  if (internal && a.clusterList !== undefined) out['clusterList'] = a.clusterList;
  // Unknown optional non-transitive attributes are not passed on (RFC 4271 §5).
  out['unknown'] = a.unknown.length === 0 ? a.unknown : a.unknown.filter((u) => (u.flags & TRANSITIVE) !== 0);
  for (const k in a) {
    const v = (a as unknown as Record<string, unknown>)[k];
    if (!NAMED.has(k) && v !== undefined) out[k] = v;
  }
  return out;
}

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
  if (target.ibgp) {
    const out = copyFields(attrs, true);
    out['localPref'] = attrs.localPref ?? DEFAULT_LOCAL_PREF;
    if (source.ibgp && clusterId !== undefined) {
      out['originatorId'] = attrs.originatorId ?? source.routerId;
      out['clusterList'] = [clusterId, ...(attrs.clusterList ?? [])];
    }
    return out as unknown as RouteAttrs;
  }
  const out = copyFields(attrs, false);
  out['asPath'] = prependAs(attrs.asPath, target.localAs);
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

/**
 * A direct-mapped cache from a numeric key to an id (0 is never stored), in typed arrays: a
 * table with a new attribute set every few prefixes misses it once per set, and a Map with
 * tens of thousands of large-number keys cost several microseconds per insert. A colliding key
 * simply replaces the older entry. It has the part of Map's interface the engine uses.
 */
export class ExportMemo {
  private keys = new Float64Array(1024).fill(NaN);
  private ids = new Int32Array(1024);
  private filled = 0;

  /** Entries held. */
  get size(): number {
    return this.filled;
  }

  private slot(key: number): number {
    const lo = key | 0;
    const hi = (key / 4294967296) | 0;
    return (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0) & (this.ids.length - 1);
  }

  get(key: number): number | undefined {
    const i = this.slot(key);
    return this.keys[i] === key ? this.ids[i] : undefined;
  }

  set(key: number, id: number): void {
    if (this.filled * 2 >= this.ids.length) this.resize(this.ids.length * 2);
    const i = this.slot(key);
    if (this.keys[i] !== this.keys[i]) this.filled++;
    this.keys[i] = key;
    this.ids[i] = id;
  }

  clear(): void {
    this.resize(1024);
  }

  /** Starts over at `capacity` (a cache: dropping entries only costs recomputing them). */
  private resize(capacity: number): void {
    this.keys = new Float64Array(capacity).fill(NaN);
    this.ids = new Int32Array(capacity);
    this.filled = 0;
  }
}

/** An exported attribute set and its encoding (undefined when the codec cannot encode it). */
export interface ExportedSet {
  readonly attrs: RouteAttrs;
  readonly enc: EncodedAttributes | undefined;
  readonly family: Family;
  readonly hash: number;
  refs: number;
}

/**
 * A class's exported attribute sets, interned by their encoded bytes: the bytes are needed for
 * the UPDATEs anyway and are kept with the set, so finding a set costs a hash of a few dozen
 * bytes and no canonical key, and two source sets that export identically (a MED stripped
 * toward eBGP) still share one id, so unchanged routes are not sent again. Ids are never reused.
 */
export class ExportClass {
  /**
   * (source attribute-set id, source index, family) → exported set id. It holds no references:
   * the user checks that the set still exists.
   */
  readonly exported = new ExportMemo();
  /** The cluster id the cached sets were made with (reflected routes carry it). */
  clusterId: string | undefined;
  members = 0;
  /**
   * Export counters every member gets at once (routes refused for the whole class while no member
   * held the prefix): counted here once, not once per member. A member counts what was added
   * since it joined (ExportClass.shared minus its snapshot at joining).
   */
  readonly shared = { received: 0, filtered: 0, rejected: 0 };
  private readonly sets = new Map<number, ExportedSet>();
  /** Hash of the encoding → ids with that hash. */
  private readonly byHash = new Map<number, number[]>();
  private nextId = 1;

  constructor(
    readonly key: string,
    /** The class's AS size on the wire (the encoding the sets are kept in). */
    readonly as4: boolean,
  ) {}

  /** The id of `attrs` (family `family`), taking one reference. */
  intern(attrs: RouteAttrs, family: Family): number {
    let enc: EncodedAttributes | undefined;
    try {
      enc = encodeCommonAttributes(attrs, this.as4) ?? encodeAttributeParts(attrs, this.as4);
    } catch {
      // Kept apart (never shared): its UPDATE fails, and is logged, where it would have anyway.
      enc = undefined;
    }
    const hash = enc ? hashEncoding(enc, family, attrs) : -1;
    const ids = enc ? this.byHash.get(hash) : undefined;
    if (ids && enc) {
      for (const id of ids) {
        const e = this.sets.get(id)!;
        if (e.family === family && e.enc && sameEncoding(e.enc, enc) && (family === 4 || sameNextHops(e.attrs, attrs))) {
          e.refs++;
          return id;
        }
      }
    }
    const nid = this.nextId++;
    this.sets.set(nid, { attrs, enc, family, hash, refs: 1 });
    if (enc) {
      if (ids) ids.push(nid);
      else this.byHash.set(hash, [nid]);
    }
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
    if (!e.enc) return;
    const ids = this.byHash.get(e.hash);
    if (!ids) return;
    const i = ids.indexOf(id);
    if (i >= 0) ids.splice(i, 1);
    if (ids.length === 0) this.byHash.delete(e.hash);
  }

  has(id: number): boolean {
    return this.sets.has(id);
  }

  get(id: number): ExportedSet {
    const e = this.sets.get(id);
    if (!e) throw new Error(`exported attribute set ${id} is not interned`);
    return e;
  }

  /** Exported sets alive. */
  get size(): number {
    return this.sets.size;
  }
}

function hashBytes(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

function hashString(h: number, s: string | undefined): number {
  if (s === undefined) return h;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** FNV-1a over the encoding, the family and (IPv6, carried in MP_REACH) the next hops. */
function hashEncoding(enc: EncodedAttributes, family: Family, attrs: RouteAttrs): number {
  let h = hashBytes(0x811c9dc5 ^ family, enc.below);
  h = hashBytes(Math.imul(h ^ 0xff, 0x01000193), enc.above);
  if (family === 6) h = hashString(hashString(h, attrs.nextHop), attrs.nextHopLinkLocal);
  return h;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameEncoding(a: EncodedAttributes, b: EncodedAttributes): boolean {
  return sameBytes(a.below, b.below) && sameBytes(a.above, b.above);
}

function sameNextHops(a: RouteAttrs, b: RouteAttrs): boolean {
  return a.nextHop === b.nextHop && a.nextHopLinkLocal === b.nextHopLinkLocal;
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
