/**
 * Path attributes as the RIB sees them, and the store that interns them. Identical sets share one
 * numeric id and one object (so the codec encodes each set once), and a route costs a key and an
 * id, not an object. The objects are not frozen (a frozen copy costs ~200 bytes more per set in
 * V8); the types are readonly and nothing writes them.
 */
import type { AsPathSegment, PathAttributes } from '../../proto/index.js';

export type { AsPathSegment } from '../../proto/index.js';

/** Where a locally originated route comes from; absent on routes learned from peers. */
export type LocalKind = 'block' | 'borrowed' | 'service';

/**
 * The codec's decoded attribute set, plus the origination kind of own routes (never encoded:
 * the codec writes only the attributes it knows). IPv6 routes carry their MP_REACH next hops in
 * `nextHop` / `nextHopLinkLocal`, as the codec's encoder expects them.
 */
export type RouteAttrs = PathAttributes & { readonly local?: LocalKind };

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

/** An own route's attribute set: ORIGIN IGP, empty path (the export rewrites the rest). */
export function localAttrs(kind: LocalKind): RouteAttrs {
  return { origin: 0, asPath: [], unknown: [], local: kind };
}

const KNOWN = new Set([
  'origin', 'asPath', 'nextHop', 'nextHopLinkLocal', 'med', 'localPref', 'atomicAggregate', 'aggregator',
  'communities', 'extCommunities', 'largeCommunities', 'originatorId', 'clusterList', 'unknown', 'local',
]);

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

/**
 * A canonical key of an attribute set, built from the fields directly (about ten times cheaper
 * than encoding the bytes). Fields this function does not know are appended as JSON, so a field
 * the codec adds later can never make two different sets share a key.
 */
export function attrsKey(a: RouteAttrs): string {
  let s = `${a.origin}|`;
  for (const seg of a.asPath) s += `${seg.type}:${seg.asns.join(',')};`;
  s += `|${a.nextHop ?? ''}|${a.nextHopLinkLocal ?? ''}|${a.med ?? ''}|${a.localPref ?? ''}|${a.atomicAggregate ? 1 : ''}|`;
  if (a.aggregator) s += `${a.aggregator.asn}@${a.aggregator.address}`;
  s += `|${a.communities?.join(',') ?? ''}|${a.extCommunities?.join(',') ?? ''}|`;
  if (a.largeCommunities) for (const l of a.largeCommunities) s += `${l[0]}:${l[1]}:${l[2]},`;
  s += `|${a.originatorId ?? ''}|${a.clusterList?.join(',') ?? ''}|`;
  for (const u of a.unknown) s += `${u.code}/${u.flags}/${hex(u.value)};`;
  if (a.local !== undefined) s += `|L${a.local}`;
  for (const k of Object.keys(a)) {
    const v = (a as unknown as Record<string, unknown>)[k];
    if (!KNOWN.has(k) && v !== undefined) s += `|${k}=${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`;
  }
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
    // The key was built by concatenation: a tree of ~20 string pieces (~550 bytes) that V8 hashes
    // and compares slowly. Reading a character flattens it into one string (~80 bytes) first:
    // Map lookups get about twice as fast and the kept key is small.
    key.charCodeAt(0);
    const id = this.byKey.get(key);
    if (id !== undefined) {
      this.byId.get(id)!.refs++;
      return id;
    }
    const nid = this.nextId++;
    this.byKey.set(key, nid);
    this.byId.set(nid, { attrs: { ...attrs }, key, refs: 1 });
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
