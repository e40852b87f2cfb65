/**
 * The routes one source (a peer, or this node's own origination) offers, keyed by prefix.
 *
 * Most prefixes carry one path, stored as a bare attribute-set id; ADD-PATH peers may send
 * several, stored as a flat [pathId, attrId, ...] array. No object per route either way.
 */
import type { PrefixKey } from './keys.js';

type Paths = number | number[];

export class AdjRibIn {
  private readonly routes = new Map<PrefixKey, Paths>();
  /** Number of (prefix, path id) routes held. */
  pathCount = 0;

  get prefixCount(): number {
    return this.routes.size;
  }

  /** Stores a path; returns the attribute id it replaced, or undefined when it is new. */
  set(key: PrefixKey, pathId: number, attrId: number): number | undefined {
    const cur = this.routes.get(key);
    if (cur === undefined) {
      this.routes.set(key, pathId === 0 ? attrId : [pathId, attrId]);
      this.pathCount++;
      return undefined;
    }
    if (typeof cur === 'number') {
      if (pathId === 0) {
        this.routes.set(key, attrId);
        return cur;
      }
      this.routes.set(key, [0, cur, pathId, attrId]);
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
    const cur = this.routes.get(key);
    if (cur === undefined) return undefined;
    if (typeof cur === 'number') {
      if (pathId !== 0) return undefined;
      this.routes.delete(key);
      this.pathCount--;
      return cur;
    }
    for (let i = 0; i < cur.length; i += 2) {
      if (cur[i] === pathId) {
        const old = cur[i + 1];
        cur.splice(i, 2);
        this.pathCount--;
        if (cur.length === 0) this.routes.delete(key);
        else if (cur.length === 2 && cur[0] === 0) this.routes.set(key, cur[1]!);
        return old;
      }
    }
    return undefined;
  }

  has(key: PrefixKey): boolean {
    return this.routes.has(key);
  }

  /** Calls fn for each path of `key`. */
  forEachPath(key: PrefixKey, fn: (pathId: number, attrId: number) => void): void {
    const cur = this.routes.get(key);
    if (cur === undefined) return;
    if (typeof cur === 'number') {
      fn(0, cur);
      return;
    }
    for (let i = 0; i < cur.length; i += 2) fn(cur[i]!, cur[i + 1]!);
  }

  /** The attribute id when `key` has exactly one path and its path id is 0 (the common case), else undefined. */
  single(key: PrefixKey): number | undefined {
    const cur = this.routes.get(key);
    return typeof cur === 'number' ? cur : undefined;
  }

  /** Number of paths held for `key`. */
  pathsOf(key: PrefixKey): number {
    const cur = this.routes.get(key);
    return cur === undefined ? 0 : typeof cur === 'number' ? 1 : cur.length / 2;
  }

  keys(): IterableIterator<PrefixKey> {
    return this.routes.keys();
  }

  /** Every (key, pathId, attrId), for flushing a source. */
  *entries(): Generator<[PrefixKey, number, number]> {
    for (const [key, cur] of this.routes) {
      if (typeof cur === 'number') yield [key, 0, cur];
      else for (let i = 0; i < cur.length; i += 2) yield [key, cur[i]!, cur[i + 1]!];
    }
  }

  clear(): void {
    this.routes.clear();
    this.pathCount = 0;
  }
}
