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

/** Whether nothing in `path` can change: the array, its segments and their AS lists are frozen (as the codec decodes them). */
export function frozenPath(path: readonly AsPathSegment[]): boolean {
  if (!Object.isFrozen(path)) return false;
  for (const seg of path) if (!Object.isFrozen(seg) || !Object.isFrozen(seg.asns)) return false;
  return true;
}

/** The last frozen path pathContainsAs counted in (a path shared by a table's UPDATEs: asked once per UPDATE). */
let countedPath: readonly AsPathSegment[] | undefined;
let countedAsn = -1;
let countedTimes = 0;

export function pathContainsAs(a: RouteAttrs, asn: number): number {
  const path = a.asPath;
  if (path === countedPath && asn === countedAsn) return countedTimes;
  let count = 0;
  for (const s of path) for (const x of s.asns) if (x === asn) count++;
  // Only a frozen path (the codec's decoded ones) cannot change before it is asked about again.
  if (frozenPath(path)) {
    countedPath = path;
    countedAsn = asn;
    countedTimes = count;
  }
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

/** Fields attrsKey, hashAttrs and sameAttrs do not know, as text (empty for every set the codec makes today). */
function extraFields(a: RouteAttrs): string {
  // A field the codec adds later must never let two different sets compare equal.
  let s = '';
  for (const k in a) {
    if (KNOWN.has(k)) continue;
    const v = (a as unknown as Record<string, unknown>)[k];
    if (v !== undefined) s += `|${k}=${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`;
  }
  return s;
}

const mix = (h: number, x: number): number => Math.imul(h ^ x, 0x01000193);

function hashString(h: number, s: string | undefined): number {
  if (s === undefined) return mix(h, 0x9e3779b9);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return mix(h, s.length);
}

function hashNumbers(h: number, xs: readonly number[] | undefined): number {
  if (xs === undefined) return mix(h, 0x7f4a7c15);
  for (let i = 0; i < xs.length; i++) h = mix(h, xs[i]! | 0);
  return mix(h, xs.length + 1);
}

/** The last next hop hashNextHop hashed, and its hash. */
let hashedHop: string | undefined;
let hashedHopHash = 0;

/**
 * A 32-bit hash of a next hop's text alone. The codec hands out the same string while the bytes
 * repeat (one next hop for a whole table), so the last one's hash is kept: one compare per set
 * instead of a mix per character, which a cold process runs interpreted for thousands of sets.
 */
function hashNextHop(s: string | undefined): number {
  if (s === hashedHop && s !== undefined) return hashedHopHash;
  const h = hashString(0x811c9dc5 | 0, s);
  hashedHop = s;
  hashedHopHash = h;
  return h;
}

/** The last frozen path hashAsPath hashed, and its hash. */
let hashedPath: readonly AsPathSegment[] | undefined;
let hashedPathHash = 0;

/** A 32-bit hash of the AS path alone (paths are shared between sets that have the same one). */
function hashAsPath(path: readonly AsPathSegment[]): number {
  if (path === hashedPath) return hashedPathHash;
  let h = 0x811c9dc5 | 0;
  for (const seg of path) h = hashNumbers(mix(h, seg.type), seg.asns);
  if (frozenPath(path)) {
    hashedPath = path;
    hashedPathHash = h;
  }
  return h;
}

/**
 * Spreads every input bit over the low bits (a 32-bit finalizer: xor-shifts and odd multipliers).
 * mix alone never moves a bit downwards, so the bucket (the hash's low bits) of sets that differ
 * only in a field's high bits (MEDs k·65536, communities whose ASN half differs) was the same:
 * 20,000 such sets took 370 ms to intern instead of 28. It also makes the bucket walk's
 * collision path run from the first few hundred sets of a table, not for the first time part way
 * through it (sets that differ by a counted MED never collided), when V8 had compiled intern
 * without it and threw that code away to take it.
 */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A 32-bit hash of every field, computed from the values directly: no key string per set (a
 * concatenated key cost ~100 bytes per set kept, and most of an intern to build and hash).
 */
export function hashAttrs(a: RouteAttrs, pathHash = hashAsPath(a.asPath)): number {
  let h = mix(0x811c9dc5 | 0, a.origin);
  h = mix(h, pathHash);
  h = mix(h, hashNextHop(a.nextHop));
  h = hashString(h, a.nextHopLinkLocal);
  h = mix(h, a.med === undefined ? -1 : a.med);
  h = mix(h, a.localPref === undefined ? -1 : a.localPref);
  h = mix(h, a.atomicAggregate ? 1 : 0);
  if (a.aggregator) h = hashString(mix(h, a.aggregator.asn), a.aggregator.address);
  h = hashNumbers(h, a.communities);
  if (a.extCommunities) for (const x of a.extCommunities) h = hashString(h, x.toString(16));
  if (a.largeCommunities) for (const l of a.largeCommunities) h = mix(mix(mix(h, l[0]), l[1]), l[2]);
  h = hashString(h, a.originatorId);
  if (a.clusterList) for (const c of a.clusterList) h = hashString(h, c);
  for (const u of a.unknown) {
    h = mix(mix(h, u.code), u.flags);
    for (let i = 0; i < u.value.length; i++) h = mix(h, u.value[i]!);
  }
  h = hashString(h, a.local);
  return avalanche(h);
}

function sameNumbers(x: readonly number[] | undefined, y: readonly number[] | undefined): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function sameStrings(x: readonly string[] | undefined, y: readonly string[] | undefined): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export function sameAsPath(x: readonly AsPathSegment[], y: readonly AsPathSegment[]): boolean {
  if (x === y) return true;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i]!.type !== y[i]!.type || !sameNumbers(x[i]!.asns, y[i]!.asns)) return false;
  return true;
}

/** Whether two sets are equal in every field (the equality attrsKey expresses, without the key). */
export function sameAttrs(a: RouteAttrs, b: RouteAttrs): boolean {
  if (a === b) return true;
  if (a.origin !== b.origin || a.nextHop !== b.nextHop || a.med !== b.med || a.localPref !== b.localPref) return false;
  if (a.nextHopLinkLocal !== b.nextHopLinkLocal || !a.atomicAggregate !== !b.atomicAggregate || a.local !== b.local) return false;
  if (a.originatorId !== b.originatorId || !sameAsPath(a.asPath, b.asPath)) return false;
  if (a.aggregator !== b.aggregator && (a.aggregator?.asn !== b.aggregator?.asn || a.aggregator?.address !== b.aggregator?.address)) return false;
  if (!sameNumbers(a.communities, b.communities) || !sameStrings(a.clusterList, b.clusterList)) return false;
  if (a.extCommunities !== b.extCommunities) {
    const x = a.extCommunities;
    const y = b.extCommunities;
    if (x === undefined || y === undefined || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  if (a.largeCommunities !== b.largeCommunities) {
    const x = a.largeCommunities;
    const y = b.largeCommunities;
    if (x === undefined || y === undefined || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i]![0] !== y[i]![0] || x[i]![1] !== y[i]![1] || x[i]![2] !== y[i]![2]) return false;
  }
  if (a.unknown.length !== b.unknown.length) return false;
  for (let i = 0; i < a.unknown.length; i++) {
    const u = a.unknown[i]!;
    const v = b.unknown[i]!;
    if (u.code !== v.code || u.flags !== v.flags || u.value.length !== v.value.length) return false;
    for (let j = 0; j < u.value.length; j++) if (u.value[j] !== v.value[j]) return false;
  }
  return extraFields(a) === extraFields(b);
}

/** Slot bits of an id; the rest is the slot's generation (1..MAX_GEN), so ids stay positive int32s. */
const SLOT_BITS = 22;
const SLOTS = 2 ** SLOT_BITS;
const MAX_GEN = 511;
const EMPTY = -1;
/** Slots rehashed per call (see rehash). */
const REHASH_RUN = 256;
const NO_UNKNOWN: never[] = [];

/**
 * Interned attribute sets with reference counts, in typed arrays by slot: an id is a slot plus
 * its generation, so ids are never reused (a slot is retired after MAX_GEN uses) and a cache
 * keyed by id cannot confuse a freed set with a new one; `onFree` lets such caches drop their
 * entries. Lookup is an open hash table of slots keyed by hashAttrs, compared with sameAttrs.
 * Kept sets share their AS path arrays, next-hop strings and an empty unknown list with other
 * sets, so a set from a full table costs about one small object plus ~20 bytes of arrays.
 */
export class AttrStore {
  private sets: (RouteAttrs | undefined)[] = [];
  private refs = new Int32Array(0);
  private hashes = new Int32Array(0);
  private gens = new Uint16Array(0);
  private chain = new Int32Array(0);
  private buckets = new Int32Array(0);
  private mask = 0;
  private free: number[] = [];
  private nextSlot = 0;
  private live = 0;
  /** Shared components: AS paths by hash, next-hop strings. Bounded; cleared when large. */
  private paths = new Map<number, AsPathSegment[]>();
  private hops = new Map<string, string>();
  private lastGivenPath: readonly AsPathSegment[] | undefined;
  private lastKeptPath: AsPathSegment[] = [];
  private lastGivenHop: string | undefined;
  private lastKeptHop = '';
  onFree: ((id: number) => void) | undefined;

  constructor() {
    // Sized by the methods that grow them, so every array field is stored twice before any code
    // is optimized: V8 treats a field stored once as a constant that optimized code depends on,
    // and the first growth (part way through the first table) would deoptimize intern and release.
    this.grow(1024);
    this.rehash(1024);
  }

  /** Returns the id of `attrs`, taking one reference. The object may be kept: do not mutate it afterwards. */
  intern(attrs: RouteAttrs): number {
    const pathHash = hashAsPath(attrs.asPath);
    const h = hashAttrs(attrs, pathHash);
    for (let s = this.buckets[h & this.mask]!; s !== EMPTY; s = this.chain[s]!) {
      if (this.hashes[s] === h && sameAttrs(this.sets[s]!, attrs)) {
        this.refs[s]!++;
        return this.gens[s]! * SLOTS + s;
      }
    }
    const slot = this.allocSlot();
    this.sets[slot] = this.compact(attrs, pathHash);
    this.refs[slot] = 1;
    this.hashes[slot] = h;
    const b = h & this.mask;
    this.chain[slot] = this.buckets[b]!;
    this.buckets[b] = slot;
    this.live++;
    if (this.live > this.buckets.length) this.rehash(this.buckets.length * 2);
    return this.gens[slot]! * SLOTS + slot;
  }

  /** Takes `n` more references on a live set. */
  ref(id: number, n = 1): void {
    const s = this.slotOf(id);
    if (s >= 0) this.refs[s]! += n;
  }

  release(id: number): void {
    const s = this.slotOf(id);
    if (s < 0) return;
    if (--this.refs[s]! > 0) return;
    this.unlink(s);
    this.sets[s] = undefined;
    this.live--;
    if (this.gens[s]! < MAX_GEN) this.free.push(s);
    this.onFree?.(id);
  }

  has(id: number): boolean {
    return this.slotOf(id) >= 0;
  }

  get(id: number): RouteAttrs {
    const s = this.slotOf(id);
    if (s < 0) throw new Error(`attribute set ${id} is not interned`);
    return this.sets[s]!;
  }

  get size(): number {
    return this.live;
  }

  /** The slot of a live id, or -1. */
  private slotOf(id: number): number {
    const s = id % SLOTS;
    if (s >= this.nextSlot || this.sets[s] === undefined || this.gens[s]! * SLOTS + s !== id) return -1;
    return s;
  }

  private allocSlot(): number {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.nextSlot === SLOTS) throw new Error('too many attribute sets');
      if (this.nextSlot === this.refs.length) this.grow();
      s = this.nextSlot++;
    }
    this.gens[s]!++;
    return s;
  }

  private grow(n = this.refs.length * 2): void {
    const refs = new Int32Array(n);
    refs.set(this.refs);
    this.refs = refs;
    const hashes = new Int32Array(n);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const gens = new Uint16Array(n);
    gens.set(this.gens);
    this.gens = gens;
    const chain = new Int32Array(n);
    chain.set(this.chain);
    this.chain = chain;
  }

  private rehash(n: number): void {
    this.buckets = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
    // In runs of at most REHASH_RUN slots per call: a long loop here would be compiled on the stack
    // (OSR) part way through a big rehash and then again as a whole; a small function once.
    for (let s = 0; s < this.nextSlot; s += REHASH_RUN) this.rehashRun(s, Math.min(this.nextSlot, s + REHASH_RUN));
  }

  private rehashRun(from: number, to: number): void {
    for (let s = from; s < to; s++) {
      if (this.sets[s] === undefined) continue;
      const b = this.hashes[s]! & this.mask;
      this.chain[s] = this.buckets[b]!;
      this.buckets[b] = s;
    }
  }

  private unlink(slot: number): void {
    const b = this.hashes[slot]! & this.mask;
    let prev = EMPTY;
    for (let s = this.buckets[b]!; s !== EMPTY; prev = s, s = this.chain[s]!) {
      if (s !== slot) continue;
      if (prev === EMPTY) this.buckets[b] = this.chain[s]!;
      else this.chain[prev] = this.chain[s]!;
      return;
    }
  }

  /** The kept copy: shared AS path, next hop and empty unknown list. */
  private compact(a: RouteAttrs, pathHash: number): RouteAttrs {
    if (this.paths.size > 65536) this.paths.clear();
    if (this.hops.size > 65536) this.hops.clear();
    // Consecutive sets of a table mostly share the codec's one frozen path and one next-hop
    // string: the last ones given and kept answer without a lookup.
    let path: AsPathSegment[];
    if (a.asPath === this.lastGivenPath) path = this.lastKeptPath;
    else {
      let shared = this.paths.get(pathHash);
      const frozen = frozenPath(a.asPath);
      if (shared === undefined || !sameAsPath(shared, a.asPath)) {
        // A frozen path (the codec's decoded ones) cannot change under us: kept as it is.
        shared = frozen ? a.asPath : a.asPath.map((seg) => ({ type: seg.type, asns: [...seg.asns] }));
        this.paths.set(pathHash, shared);
      }
      path = shared;
      // Only a frozen path is known to hold the same ASes when it is seen again.
      if (frozen) {
        this.lastGivenPath = a.asPath;
        this.lastKeptPath = path;
      }
    }
    let nextHop = a.nextHop;
    if (nextHop !== undefined) {
      if (nextHop === this.lastGivenHop) nextHop = this.lastKeptHop;
      else {
        const given = nextHop;
        const shared = this.hops.get(nextHop);
        if (shared === undefined) this.hops.set(nextHop, nextHop);
        else nextHop = shared;
        this.lastGivenHop = given;
        this.lastKeptHop = nextHop;
      }
    }
    const unknown = a.unknown.length === 0 ? NO_UNKNOWN : a.unknown;
    const out: RouteAttrs = { ...a, asPath: path, unknown };
    if (nextHop !== undefined) (out as { nextHop?: string }).nextHop = nextHop;
    return out;
  }
}
