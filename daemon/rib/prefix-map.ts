/**
 * A Map from prefix key to a 32-bit integer, built for a million IPv4 prefixes.
 *
 * A Map keyed by `addr * 64 + len` boxes most IPv4 keys (they exceed the small-integer range) and
 * costs ~60 bytes and several GC-traced pointers per entry. Here an IPv4 entry is three typed-array
 * slots (address, length, value) plus a hash chain link, ~20 bytes the GC never traces. IPv6 keys
 * (strings) find their entry through an ordinary Map; they are rare in Calico tables.
 *
 * Entries are appended in insertion order and deletion leaves a hole, so iteration order is the
 * Map's: callers and tests that relied on Map order see no difference. Holes are squeezed out when
 * the entry arrays fill up. Mutating while iterating is safe except across such a resize, which
 * only an insert can cause: callers copy keys before a walk that inserts.
 */
import type { PrefixKey } from './keys.js';

const EMPTY = -1;
/** eLen value of an IPv6 entry (IPv4 entries hold len + 1, 1..33; a hole holds 0). */
const V6 = 255;
/** Entries moved per call while resizing (see resize). */
const RUN = 256;

/**
 * The next capacity of a full table: four times while small (a table arriving rehashes a third as
 * many entries on its way to a million as by doubling), twice from 2^18 entries on.
 */
export function grownCapacity(n: number): number {
  return n < 1 << 18 ? n * 4 : n * 2;
}

export class PrefixMap {
  private eAddr: Uint32Array;
  private eLen: Uint8Array;
  private eVal: Int32Array;
  private eNext: Int32Array;
  private buckets: Int32Array;
  private mask: number;
  /** IPv6 keys: key → entry index, and the key of each IPv6 entry. */
  private readonly v6 = new Map<string, number>();
  private v6Keys: (string | undefined)[] = [];
  /** Entries appended so far (live and holes). */
  private used = 0;
  private live = 0;

  constructor(capacity = 64) {
    let c = 16;
    while (c < capacity) c *= 2;
    this.eAddr = new Uint32Array(0);
    this.eLen = new Uint8Array(0);
    this.eVal = new Int32Array(0);
    this.eNext = new Int32Array(0);
    this.buckets = new Int32Array(0);
    this.mask = 0;
    // Sized by resize, which stores every field a second time: V8 treats a field stored once as a
    // constant that optimized code depends on, and the first resize (part way through the first
    // table) would deoptimize every lookup compiled so far.
    this.resize(c);
  }

  get size(): number {
    return this.live;
  }

  // -------------------------------------------------------------- IPv4 by (addr, len)

  private static hash(addr: number, len: number): number {
    // The network number (the address without its host bits) spread by length: tables arrive
    // roughly in address order, and neighbouring prefixes then share cache lines in the buckets
    // instead of costing a cache miss each (a scrambling hash measured ~2x slower at 1M).
    const net = len === 0 ? 0 : addr >>> (32 - len);
    return (net + Math.imul(len, 0x9e3779b1)) | 0;
  }

  /** Entry index of (addr, len), or -1. */
  private find4(addr: number, len: number): number {
    const l = len + 1;
    let i = this.buckets[PrefixMap.hash(addr, len) & this.mask]!;
    while (i !== EMPTY) {
      if (this.eAddr[i] === addr && this.eLen[i] === l) return i;
      i = this.eNext[i]!;
    }
    return EMPTY;
  }

  get4(addr: number, len: number): number | undefined {
    const i = this.find4(addr, len);
    return i === EMPTY ? undefined : this.eVal[i]!;
  }

  /** Sets the value; returns the previous one, or undefined when the key is new. */
  set4(addr: number, len: number, value: number): number | undefined {
    const i = this.find4(addr, len);
    if (i !== EMPTY) {
      const old = this.eVal[i]!;
      this.eVal[i] = value;
      return old;
    }
    const e = this.append();
    this.eAddr[e] = addr;
    this.eLen[e] = len + 1;
    this.eVal[e] = value;
    this.link(e, PrefixMap.hash(addr, len) & this.mask);
    return undefined;
  }

  /** Adds (addr, len) → value for a key the caller just found absent (get4): set4 without its second lookup. */
  add4(addr: number, len: number, value: number): void {
    const e = this.append();
    this.eAddr[e] = addr;
    this.eLen[e] = len + 1;
    this.eVal[e] = value;
    this.link(e, PrefixMap.hash(addr, len) & this.mask);
  }

  /** Removes the key; returns its value, or undefined when it was absent. */
  delete4(addr: number, len: number): number | undefined {
    const l = len + 1;
    const b = PrefixMap.hash(addr, len) & this.mask;
    let prev = EMPTY;
    let i = this.buckets[b]!;
    while (i !== EMPTY) {
      if (this.eAddr[i] === addr && this.eLen[i] === l) {
        const next = this.eNext[i]!;
        if (prev === EMPTY) this.buckets[b] = next;
        else this.eNext[prev] = next;
        this.eLen[i] = 0;
        this.live--;
        return this.eVal[i]!;
      }
      prev = i;
      i = this.eNext[i]!;
    }
    return undefined;
  }

  // -------------------------------------------------------------- any key

  get(key: PrefixKey): number | undefined {
    if (typeof key === 'number') {
      // `key % 64` on a double is a library call; the subtraction is exact.
      const addr = Math.floor(key / 64);
      return this.get4(addr, key - addr * 64);
    }
    const i = this.v6.get(key);
    return i === undefined ? undefined : this.eVal[i]!;
  }

  has(key: PrefixKey): boolean {
    return this.get(key) !== undefined;
  }

  set(key: PrefixKey, value: number): number | undefined {
    if (typeof key === 'number') {
      const addr = Math.floor(key / 64);
      return this.set4(addr, key - addr * 64, value);
    }
    const i = this.v6.get(key);
    if (i !== undefined) {
      const old = this.eVal[i]!;
      this.eVal[i] = value;
      return old;
    }
    const e = this.append();
    this.eLen[e] = V6;
    this.eVal[e] = value;
    this.eNext[e] = EMPTY;
    this.v6Keys[e] = key;
    this.v6.set(key, e);
    return undefined;
  }

  delete(key: PrefixKey): number | undefined {
    if (typeof key === 'number') {
      const addr = Math.floor(key / 64);
      return this.delete4(addr, key - addr * 64);
    }
    const i = this.v6.get(key);
    if (i === undefined) return undefined;
    this.v6.delete(key);
    this.v6Keys[i] = undefined;
    this.eLen[i] = 0;
    this.live--;
    return this.eVal[i]!;
  }

  clear(): void {
    // A queue drained after every UPDATE keeps the capacity of its largest burst (a full table):
    // reset only the buckets its entries used rather than megabytes of empty ones each time.
    if (this.used * 8 < this.buckets.length) {
      for (let i = 0; i < this.used; i++) {
        const l = this.eLen[i]!;
        if (l !== 0 && l !== V6) this.buckets[PrefixMap.hash(this.eAddr[i]!, l - 1) & this.mask] = EMPTY;
      }
    } else this.buckets.fill(EMPTY);
    this.eLen.fill(0, 0, this.used);
    this.v6.clear();
    this.v6Keys = [];
    this.used = 0;
    this.live = 0;
  }

  // -------------------------------------------------------------- iteration (insertion order)

  /** Calls fn(value, key) for each entry, in insertion order. */
  forEach(fn: (value: number, key: PrefixKey) => void): void {
    for (let i = 0; i < this.used; i++) {
      const l = this.eLen[i]!;
      if (l === 0) continue;
      fn(this.eVal[i]!, l === V6 ? this.v6Keys[i]! : this.eAddr[i]! * 64 + (l - 1));
    }
  }

  /**
   * Calls fn(value, key) from entry position `from` on, until fn returns false; returns the
   * position to resume at, or -1 when every entry was visited. Positions survive deletions, not
   * inserts: a resumable walk without an iterator object per entry.
   */
  walk(from: number, fn: (value: number, key: PrefixKey) => boolean): number {
    for (let i = from; i < this.used; i++) {
      const l = this.eLen[i]!;
      if (l === 0) continue;
      if (!fn(this.eVal[i]!, l === V6 ? this.v6Keys[i]! : this.eAddr[i]! * 64 + (l - 1))) return i + 1;
    }
    return -1;
  }

  *keys(): Generator<PrefixKey> {
    for (let i = 0; i < this.used; i++) {
      const l = this.eLen[i]!;
      if (l !== 0) yield l === V6 ? this.v6Keys[i]! : this.eAddr[i]! * 64 + (l - 1);
    }
  }

  *values(): Generator<number> {
    for (let i = 0; i < this.used; i++) if (this.eLen[i] !== 0) yield this.eVal[i]!;
  }

  *entries(): Generator<[PrefixKey, number]> {
    for (let i = 0; i < this.used; i++) {
      const l = this.eLen[i]!;
      if (l !== 0) yield [l === V6 ? this.v6Keys[i]! : this.eAddr[i]! * 64 + (l - 1), this.eVal[i]!];
    }
  }

  [Symbol.iterator](): Generator<[PrefixKey, number]> {
    return this.entries();
  }

  // -------------------------------------------------------------- storage

  private link(e: number, b: number): void {
    this.eNext[e] = this.buckets[b]!;
    this.buckets[b] = e;
  }

  /** A fresh entry index at the end, resizing (and squeezing out holes) when full. */
  private append(): number {
    if (this.used === this.eLen.length) this.resize(this.live * 2 >= this.eLen.length ? grownCapacity(this.eLen.length) : this.eLen.length);
    this.live++;
    return this.used++;
  }

  private resize(capacity: number): void {
    const { eAddr, eLen, eVal, v6Keys } = this;
    const used = this.used;
    if (capacity !== eLen.length) {
      this.eAddr = new Uint32Array(capacity);
      this.eLen = new Uint8Array(capacity);
      this.eVal = new Int32Array(capacity);
      this.eNext = new Int32Array(capacity);
      this.buckets = new Int32Array(capacity);
      this.mask = capacity - 1;
    } else this.eLen = new Uint8Array(capacity);
    this.buckets.fill(EMPTY);
    this.v6Keys = [];
    // In runs of at most RUN entries per call: a long loop inside resize would be compiled on the
    // stack (OSR) part way through the first big rehash and then again as a whole at the next; a
    // small function called many times is compiled once.
    let n = 0;
    for (let i = 0; i < used; i += RUN) n = this.moveRun(eAddr, eLen, eVal, v6Keys, i, Math.min(used, i + RUN), n);
    this.used = n;
  }

  /** Moves the live entries `from`..`to` of the old arrays to the new ones from index `n`; returns the next free index. */
  private moveRun(eAddr: Uint32Array, eLen: Uint8Array, eVal: Int32Array, v6Keys: (string | undefined)[], from: number, to: number, n: number): number {
    for (let i = from; i < to; i++) {
      const l = eLen[i]!;
      if (l === 0) continue;
      this.eAddr[n] = eAddr[i]!;
      this.eLen[n] = l;
      this.eVal[n] = eVal[i]!;
      if (l === V6) {
        const k = v6Keys[i]!;
        this.v6Keys[n] = k;
        this.v6.set(k, n);
        this.eNext[n] = EMPTY;
      } else this.link(n, PrefixMap.hash(eAddr[i]!, l - 1) & this.mask);
      n++;
    }
    return n;
  }
}
