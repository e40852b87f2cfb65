/**
 * Path attributes as the RIB sees them, and the store that interns them.
 *
 * The RIB only reads a handful of fields (decision process, export rewriting), so everything it
 * needs from an attribute set goes through the accessors below; the codec's PathAttributes is
 * adapted here and nowhere else. Identical sets share one numeric id, so a route costs a key and
 * an id, not an object.
 */

export interface AsPathSegment {
  /** 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET. */
  readonly type: number;
  readonly asns: readonly number[];
}

/** Where a locally originated route comes from; absent on routes learned from peers. */
export type LocalKind = 'block' | 'borrowed' | 'service';

export interface RouteAttrs {
  /** 0 IGP, 1 EGP, 2 INCOMPLETE. */
  readonly origin: number;
  readonly asPath: readonly AsPathSegment[];
  /** IPv4 NEXT_HOP, or the first (global) MP_REACH next hop for IPv6 routes. */
  readonly nextHop?: string;
  /** All MP_REACH next hops (global, link-local) for IPv6 routes. */
  readonly mpNextHops?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  readonly communities?: readonly number[];
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
  readonly extendedCommunities?: readonly string[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  /** Set only on locally originated routes (never sent: the encoder ignores unknown fields). */
  readonly local?: LocalKind;
  /** Any other decoded fields the codec carries (unknown transitive attributes and the like). */
  readonly [extra: string]: unknown;
}

export const ORIGIN_IGP = 0;
export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const DEFAULT_LOCAL_PREF = 100;

/** RFC 4271 §9.1.2.2 (a)/(b): AS_SET counts one, confederation segments count zero. */
export function asPathLength(a: RouteAttrs): number {
  let n = 0;
  for (const s of a.asPath) {
    if (s.type === AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AS_SET) n += 1;
  }
  return n;
}

/** The AS the route was learned from (first AS of the path), or 0 for an empty path (own AS). */
export function neighborAs(a: RouteAttrs): number {
  for (const s of a.asPath) {
    if (s.type === AS_SEQUENCE && s.asns.length > 0) return s.asns[0]!;
    if (s.type === AS_SET) return 0;
  }
  return 0;
}

export function pathContainsAs(a: RouteAttrs, asn: number): number {
  let count = 0;
  for (const s of a.asPath) for (const x of s.asns) if (x === asn) count++;
  return count;
}

/** Prepends `asn` to the path as a sequence (merging into a leading sequence with room). */
export function prependAs(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = path[0];
  if (first && first.type === AS_SEQUENCE && first.asns.length < 255) {
    return [{ type: AS_SEQUENCE, asns: [asn, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: AS_SEQUENCE, asns: [asn] }, ...path];
}

/** A canonical text of an attribute set: equal sets give equal keys (field order independent). */
export function attrsKey(a: RouteAttrs): string {
  const keys = Object.keys(a).filter((k) => a[k] !== undefined).sort();
  let s = '';
  for (const k of keys) s += `${k}=${JSON.stringify(a[k])};`;
  return s;
}

interface Entry {
  readonly attrs: RouteAttrs;
  readonly key: string;
  refs: number;
}

/**
 * Interned attribute sets with reference counts. Ids are never reused, so a cache keyed by id
 * cannot confuse a freed set with a new one; `onFree` lets such caches drop their entries.
 */
export class AttrStore {
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, Entry>();
  private nextId = 1;
  onFree: ((id: number) => void) | undefined;

  /** Returns the id of `attrs`, taking one reference. */
  intern(attrs: RouteAttrs): number {
    const key = attrsKey(attrs);
    const id = this.byKey.get(key);
    if (id !== undefined) {
      this.byId.get(id)!.refs++;
      return id;
    }
    const nid = this.nextId++;
    this.byKey.set(key, nid);
    this.byId.set(nid, { attrs: Object.freeze({ ...attrs }), key, refs: 1 });
    return nid;
  }

  ref(id: number): void {
    const e = this.byId.get(id);
    if (e) e.refs++;
  }

  release(id: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    if (--e.refs > 0) return;
    this.byId.delete(id);
    this.byKey.delete(e.key);
    this.onFree?.(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get(id: number): RouteAttrs {
    const e = this.byId.get(id);
    if (!e) throw new Error(`attribute set ${id} is not interned`);
    return e.attrs;
  }

  get size(): number {
    return this.byId.size;
  }
}
