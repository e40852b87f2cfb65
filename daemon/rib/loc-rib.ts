/**
 * The Loc-RIB: for each prefix, the chosen route and how many candidates exist.
 *
 * A PrefixMap from prefix key to a slot number; the slot's fields live in typed arrays that grow as
 * the map does (grownCapacity), and freed slots are reused. A million prefixes cost ~50 bytes each, none GC-traced.
 */
import type { PrefixKey } from './keys.js';
import { grownCapacity, PrefixMap } from './prefix-map.js';

export interface BestRef {
  readonly source: number;
  readonly pathId: number;
  readonly attrId: number;
}

export class LocRib {
  private readonly slots = new PrefixMap(1024);
  private bestSource = new Int16Array(0);
  private bestPathId = new Uint32Array(0);
  private bestAttr = new Int32Array(0);
  /** Seconds since the epoch, when the best route last changed (what `show route` prints). */
  private since = new Float64Array(0);
  private candidates = new Uint32Array(0);
  private free: number[] = [];
  private nextSlot = 0;
  private bestTotal = 0;

  constructor() {
    // Sized by the method that grows them. V8 treats a field stored only once as a constant and
    // optimized code depends on it; the first grow, part way through the first table, would then
    // throw away (deoptimize) the decision code that had just been compiled. Stored twice here,
    // the fields are plain mutable ones before any code is optimized.
    this.resize(1024);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Prefixes with a best route. */
  get primaryCount(): number {
    return this.bestTotal;
  }

  private grow(): void {
    this.resize(grownCapacity(this.bestSource.length));
  }

  private resize(n: number): void {
    const copy = <T extends Int16Array | Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.bestSource = copy(this.bestSource, (k) => new Int16Array(k));
    this.bestPathId = copy(this.bestPathId, (k) => new Uint32Array(k));
    this.bestAttr = copy(this.bestAttr, (k) => new Int32Array(k));
    this.since = copy(this.since, (k) => new Float64Array(k));
    this.candidates = copy(this.candidates, (k) => new Uint32Array(k));
  }

  /** The slot of `key`, created empty (no candidates, no best) when absent. */
  acquire(key: PrefixKey): number {
    return this.slotOf(key);
  }

  /** Every (key, slot), in insertion order. */
  entries(): Iterable<[PrefixKey, number]> {
    return this.slots.entries();
  }

  private slotOf(key: PrefixKey): number {
    const s = this.slots.get(key);
    if (s !== undefined) return s;
    const fresh = this.emptySlot();
    this.slots.set(key, fresh);
    return fresh;
  }

  /** The slot of IPv4 (addr, len), created empty (no candidates, no best) when absent. */
  acquire4(addr: number, len: number): number {
    const s = this.slots.get4(addr, len);
    if (s !== undefined) return s;
    const fresh = this.emptySlot();
    this.slots.add4(addr, len, fresh);
    return fresh;
  }

  /** A free slot (reused or new), with no candidates and no best. */
  private emptySlot(): number {
    let s = this.free.pop();
    if (s === undefined) {
      if (this.nextSlot === this.bestSource.length) this.grow();
      s = this.nextSlot++;
    }
    this.bestSource[s] = -1;
    this.candidates[s] = 0;
    return s;
  }

  /** The slot of IPv4 (addr, len), or -1. */
  slot4(addr: number, len: number): number {
    return this.slots.get4(addr, len) ?? -1;
  }

  /** One more candidate at `slot`; returns the new count. */
  oneMoreCandidate(slot: number): number {
    return ++this.candidates[slot]!;
  }

  /** addCandidates for a slot in hand (`key` is its prefix): frees it when nothing is left. */
  addCandidatesAt(slot: number, key: PrefixKey, delta: number): number {
    const n = this.candidates[slot]! + delta;
    this.candidates[slot] = n;
    if (n === 0 && this.bestSource[slot] === -1) {
      this.slots.delete(key);
      this.free.push(slot);
    }
    return n;
  }

  /** setBestOf for a slot in hand. */
  setBestAt(slot: number, source: number, pathId: number, attrId: number, nowSeconds: number): void {
    if (this.bestSource[slot] === -1) this.bestTotal++;
    this.bestSource[slot] = source;
    this.bestPathId[slot] = pathId;
    this.bestAttr[slot] = attrId;
    this.since[slot] = nowSeconds;
  }

  /** clearBest for a slot in hand (`key` is its prefix). */
  clearBestAt(slot: number, key: PrefixKey): void {
    if (this.bestSource[slot] === -1) return;
    this.bestSource[slot] = -1;
    this.bestTotal--;
    if (this.candidates[slot] === 0) {
      this.slots.delete(key);
      this.free.push(slot);
    }
  }

  /** Adjusts the candidate count of `key` by delta; returns the new count. Frees empty slots. */
  addCandidates(key: PrefixKey, delta: number): number {
    const s = this.slotOf(key);
    const n = this.candidates[s]! + delta;
    this.candidates[s] = n;
    if (n === 0 && this.bestSource[s] === -1) {
      this.slots.delete(key);
      this.free.push(s);
    }
    return n;
  }

  candidateCount(key: PrefixKey): number {
    const s = this.slots.get(key);
    return s === undefined ? 0 : this.candidates[s]!;
  }

  // Slot-level reads for the decision process: one lookup, no object per prefix.

  /** The slot of `key`, or -1 when the Loc-RIB knows nothing of it. */
  slot(key: PrefixKey): number {
    return this.slots.get(key) ?? -1;
  }

  candidatesAt(slot: number): number {
    return this.candidates[slot]!;
  }

  /** The best route's source index at `slot`, or -1 when it has none. */
  bestSourceAt(slot: number): number {
    return this.bestSource[slot]!;
  }

  bestPathIdAt(slot: number): number {
    return this.bestPathId[slot]!;
  }

  bestAttrAt(slot: number): number {
    return this.bestAttr[slot]!;
  }

  best(key: PrefixKey): BestRef | undefined {
    const s = this.slots.get(key);
    if (s === undefined || this.bestSource[s] === -1) return undefined;
    return { source: this.bestSource[s]!, pathId: this.bestPathId[s]!, attrId: this.bestAttr[s]! };
  }

  bestSourceOf(key: PrefixKey): number {
    const s = this.slots.get(key);
    return s === undefined ? -1 : this.bestSource[s]!;
  }

  sinceOf(key: PrefixKey): Date | undefined {
    const s = this.slots.get(key);
    return s === undefined ? undefined : new Date(this.since[s]! * 1000);
  }

  setBest(key: PrefixKey, best: BestRef, nowSeconds: number): void {
    this.setBestOf(key, best.source, best.pathId, best.attrId, nowSeconds);
  }

  setBestOf(key: PrefixKey, source: number, pathId: number, attrId: number, nowSeconds: number): void {
    const s = this.slotOf(key);
    if (this.bestSource[s] === -1) this.bestTotal++;
    this.bestSource[s] = source;
    this.bestPathId[s] = pathId;
    this.bestAttr[s] = attrId;
    this.since[s] = nowSeconds;
  }

  clearBest(key: PrefixKey): void {
    const s = this.slots.get(key);
    if (s === undefined || this.bestSource[s] === -1) return;
    this.bestSource[s] = -1;
    this.bestTotal--;
    if (this.candidates[s] === 0) {
      this.slots.delete(key);
      this.free.push(s);
    }
  }

  keys(): Iterable<PrefixKey> {
    return this.slots.keys();
  }
}
