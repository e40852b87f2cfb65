/**
 * The routes one source (a peer, or this node's own origination) offers, keyed by prefix.
 *
 * Most prefixes carry one path (path id 0), stored as a bare attribute-set id in a PrefixMap
 * (typed arrays); ADD-PATH peers may send several, stored as a flat [pathId, attrId, ...] array.
 */
import type { PrefixKey } from './keys.js';
import { PrefixMap } from './prefix-map.js';

export class AdjRibIn {
  /** Prefixes whose only path is path id 0: prefix → attribute-set id. */
  private readonly single = new PrefixMap();
  /** Prefixes with ADD-PATH paths (or several paths): prefix → [pathId, attrId, ...]. */
  private readonly multi = new Map<PrefixKey, number[]>();
  /** Number of (prefix, path id) routes held. */
  pathCount = 0;

  get prefixCount(): number {
    return this.single.size + this.multi.size;
  }

  /** Stores a path; returns the attribute id it replaced, or undefined when it is new. */
  set(key: PrefixKey, pathId: number, attrId: number): number | undefined {
    const cur = this.multi.size === 0 ? undefined : this.multi.get(key);
    if (cur === undefined) {
      if (pathId === 0) {
        const old = this.single.set(key, attrId);
        if (old === undefined) this.pathCount++;
        return old;
      }
      const one = this.single.delete(key);
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

  /** Removes a path; returns its attribute id, or undefined when it was not there. */
  delete(key: PrefixKey, pathId: number): number | undefined {
    const cur = this.multi.size === 0 ? undefined : this.multi.get(key);
    if (cur === undefined) {
      if (pathId !== 0) return undefined;
      const old = this.single.delete(key);
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
          this.single.set(key, cur[1]!);
        }
        return old;
      }
    }
    return undefined;
  }

  has(key: PrefixKey): boolean {
    return this.single.has(key) || this.multi.has(key);
  }

  /** Calls fn for each path of `key`. */
  forEachPath(key: PrefixKey, fn: (pathId: number, attrId: number) => void): void {
    const one = this.single.get(key);
    if (one !== undefined) {
      fn(0, one);
      return;
    }
    const cur = this.multi.size === 0 ? undefined : this.multi.get(key);
    if (cur === undefined) return;
    for (let i = 0; i < cur.length; i += 2) fn(cur[i]!, cur[i + 1]!);
  }

  /** The attribute id when `key` has exactly one path and its path id is 0 (the common case), else undefined. */
  singleOf(key: PrefixKey): number | undefined {
    return this.single.get(key);
  }

  /** Number of paths held for `key`. */
  pathsOf(key: PrefixKey): number {
    if (this.single.has(key)) return 1;
    const cur = this.multi.get(key);
    return cur === undefined ? 0 : cur.length / 2;
  }

  *keys(): Generator<PrefixKey> {
    yield* this.single.keys();
    yield* this.multi.keys();
  }

  /** Every (key, pathId, attrId), for flushing a source. */
  *entries(): Generator<[PrefixKey, number, number]> {
    for (const [key, id] of this.single) yield [key, 0, id];
    for (const [key, cur] of this.multi) for (let i = 0; i < cur.length; i += 2) yield [key, cur[i]!, cur[i + 1]!];
  }

  clear(): void {
    this.single.clear();
    this.multi.clear();
    this.pathCount = 0;
  }
}
