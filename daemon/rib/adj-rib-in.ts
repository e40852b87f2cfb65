/**
 * The routes one source (a peer, or this node's own origination) offers, keyed by prefix.
 *
 * Most prefixes carry one path (path id 0): its attribute-set id sits in an Int32Array indexed by
 * the prefix's Loc-RIB slot, so storing a route costs no hash table of its own (the Loc-RIB's
 * prefix index is shared by every source) and ~4 bytes. ADD-PATH peers may send several paths,
 * kept as a flat [pathId, attrId, ...] array per prefix.
 *
 * The Loc-RIB keeps a prefix's slot while any source holds a path for it: callers count each path
 * stored here as a Loc-RIB candidate (addCandidates) after set() and before delete() returns.
 */
import type { PrefixKey } from './keys.js';
import type { LocRib } from './loc-rib.js';
import { grownCapacity } from './prefix-map.js';

export class AdjRibIn {
  /** Loc-RIB slot → attribute-set id of the prefix's only path (path id 0); 0: none. */
  private bySlot = new Int32Array(0);
  private singles = 0;
  /** Prefixes with ADD-PATH paths (or several paths): prefix → [pathId, attrId, ...]. */
  private readonly multi = new Map<PrefixKey, number[]>();
  /** Number of (prefix, path id) routes held. */
  pathCount = 0;

  constructor(private readonly loc: LocRib) {
    // Stored a second time on purpose: V8 treats a field stored once as a constant that optimized
    // code depends on, and the first growth (part way through the first table) would deoptimize it.
    this.bySlot = new Int32Array(0);
  }

  get prefixCount(): number {
    return this.singles + this.multi.size;
  }

  private at(slot: number): number {
    return slot < 0 || slot >= this.bySlot.length ? 0 : this.bySlot[slot]!;
  }

  private put(slot: number, attrId: number): number {
    if (slot >= this.bySlot.length) {
      let n = Math.max(1024, grownCapacity(this.bySlot.length));
      while (n <= slot) n = grownCapacity(n);
      const grown = new Int32Array(n);
      grown.set(this.bySlot);
      this.bySlot = grown;
    }
    const old = this.bySlot[slot]!;
    this.bySlot[slot] = attrId;
    if (old === 0) this.singles++;
    return old;
  }

  private takeSingle(key: PrefixKey): number | undefined {
    const slot = this.loc.slot(key);
    const old = this.at(slot);
    if (old === 0) return undefined;
    this.bySlot[slot] = 0;
    this.singles--;
    return old;
  }

  /** Stores a path; returns the attribute id it replaced, or undefined when it is new. */
  set(key: PrefixKey, pathId: number, attrId: number): number | undefined {
    const cur = this.multi.size === 0 ? undefined : this.multi.get(key);
    if (cur === undefined) {
      if (pathId === 0) {
        const old = this.put(this.loc.acquire(key), attrId);
        if (old !== 0) return old;
        this.pathCount++;
        return undefined;
      }
      const one = this.takeSingle(key);
      this.multi.set(key, one === undefined ? [pathId, attrId] : [0, one, pathId, attrId]);
      this.pathCount++;
      return undefined;
    }
    for (let i = 0; i < cur.length; i += 2) {
      if (cur[i] === pathId) {
        const old = cur[i + 1];
        cur[i + 1] = attrId;
        return old;
      }
    }
    cur.push(pathId, attrId);
    this.pathCount++;
    return undefined;
  }

  /**
   * True when every prefix has one path of id 0 (no ADD-PATH paths held): the import fast path
   * may then use set4.
   */
  get simple(): boolean {
    return this.multi.size === 0;
  }

  /** set(key, 0, attrId) for IPv4 (addr, len) while `simple`; returns the replaced id or undefined. */
  set4(addr: number, len: number, attrId: number): number | undefined {
    const old = this.put(this.loc.acquire4(addr, len), attrId);
    if (old !== 0) return old;
    this.pathCount++;
    return undefined;
  }

  /** set4 for a Loc-RIB slot in hand (the prefix's, from LocRib.acquire4) while `simple`. */
  setAt(slot: number, attrId: number): number | undefined {
    const old = this.put(slot, attrId);
    if (old !== 0) return old;
    this.pathCount++;
    return undefined;
  }

  /** The attribute id of path 0 at a Loc-RIB slot while `simple`, or undefined. */
  singleAt(slot: number): number | undefined {
    const id = this.at(slot);
    return id === 0 ? undefined : id;
  }

  /** Removes a path; returns its attribute id, or undefined when it was not there. */
  delete(key: PrefixKey, pathId: number): number | undefined {
    const cur = this.multi.size === 0 ? undefined : this.multi.get(key);
    if (cur === undefined) {
      if (pathId !== 0) return undefined;
      const old = this.takeSingle(key);
      if (old !== undefined) this.pathCount--;
      return old;
    }
    for (let i = 0; i < cur.length; i += 2) {
      if (cur[i] === pathId) {
        const old = cur[i + 1];
        cur.splice(i, 2);
        this.pathCount--;
        if (cur.length === 0) this.multi.delete(key);
        else if (cur.length === 2 && cur[0] === 0) {
          this.multi.delete(key);
          this.put(this.loc.acquire(key), cur[1]!);
        }
        return old;
      }
    }
    return undefined;
  }

  has(key: PrefixKey): boolean {
    return this.at(this.loc.slot(key)) !== 0 || this.multi.has(key);
  }

  /** Calls fn for each path of `key`. */
  forEachPath(key: PrefixKey, fn: (pathId: number, attrId: number) => void): void {
    const one = this.at(this.loc.slot(key));
    if (one !== 0) {
      fn(0, one);
      return;
    }
    const cur = this.multi.size === 0 ? undefined : this.multi.get(key);
    if (cur === undefined) return;
    for (let i = 0; i < cur.length; i += 2) fn(cur[i]!, cur[i + 1]!);
  }

  /** The attribute id when `key` has exactly one path and its path id is 0 (the common case), else undefined. */
  singleOf(key: PrefixKey): number | undefined {
    const id = this.at(this.loc.slot(key));
    return id === 0 ? undefined : id;
  }

  /** Number of paths held for `key`. */
  pathsOf(key: PrefixKey): number {
    if (this.at(this.loc.slot(key)) !== 0) return 1;
    const cur = this.multi.get(key);
    return cur === undefined ? 0 : cur.length / 2;
  }

  *keys(): Generator<PrefixKey> {
    if (this.singles > 0) for (const [key, slot] of this.loc.entries()) if (this.at(slot) !== 0) yield key;
    yield* this.multi.keys();
  }

  /** Every (key, pathId, attrId), for flushing a source. */
  *entries(): Generator<[PrefixKey, number, number]> {
    if (this.singles > 0) {
      for (const [key, slot] of this.loc.entries()) {
        const id = this.at(slot);
        if (id !== 0) yield [key, 0, id];
      }
    }
    for (const [key, cur] of this.multi) for (let i = 0; i < cur.length; i += 2) yield [key, cur[i]!, cur[i + 1]!];
  }

  clear(): void {
    this.bySlot = new Int32Array(0);
    this.singles = 0;
    this.multi.clear();
    this.pathCount = 0;
  }
}
