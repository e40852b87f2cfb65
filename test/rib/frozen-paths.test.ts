/**
 * The attribute store and the import loop check remember the last frozen AS path they saw (a
 * table's UPDATEs share one decoded path); a path that can still change is never remembered.
 */
import { describe, expect, it } from 'vitest';
import { AttrStore, frozenPath, pathContainsAs, type AsPathSegment, type RouteAttrs } from '../../daemon/rib/attrs.js';
import { decodeUpdate, defaultCodecContext, encodeUpdate } from '../../proto/index.js';

function frozen(asns: number[]): AsPathSegment[] {
  return Object.freeze([Object.freeze({ type: 2 as const, asns: Object.freeze([...asns]) as number[] })]) as AsPathSegment[];
}

const set = (asPath: AsPathSegment[], med: number): RouteAttrs => ({ origin: 0, asPath, nextHop: '10.0.0.1', med, unknown: [] });

describe('frozen AS paths', () => {
  it('counts an AS in a frozen path once and answers from memory, per AS asked', () => {
    const p = frozen([64512, 65001, 64512]);
    expect(frozenPath(p)).toBe(true);
    expect(pathContainsAs(set(p, 1), 64512)).toBe(2);
    expect(pathContainsAs(set(p, 2), 64512)).toBe(2);
    expect(pathContainsAs(set(p, 2), 65001)).toBe(1);
    expect(pathContainsAs(set(frozen([65001]), 2), 64512)).toBe(0);
  });

  it('counts again in a path that can change (not frozen all the way down)', () => {
    const asns = [65001];
    const outerOnly = Object.freeze([{ type: 2 as const, asns }]) as AsPathSegment[];
    expect(frozenPath(outerOnly)).toBe(false);
    expect(pathContainsAs(set(outerOnly, 1), 64512)).toBe(0);
    asns.push(64512);
    expect(pathContainsAs(set(outerOnly, 1), 64512)).toBe(1);
  });

  it('interns sets sharing a frozen path with that path kept as is, and tells sets with different paths apart', () => {
    const store = new AttrStore();
    const p = frozen([65001, 65002]);
    const a = store.intern(set(p, 1));
    const b = store.intern(set(p, 2));
    expect(a).not.toBe(b);
    expect(store.get(a).asPath).toBe(p);
    expect(store.get(b).asPath).toBe(p);
    expect(store.intern(set(p, 1))).toBe(a);
    const q = frozen([65001, 65003]);
    const c = store.intern(set(q, 1));
    expect(c).not.toBe(a);
    expect(store.get(c).asPath).toEqual([{ type: 2, asns: [65001, 65003] }]);
    // An equal mutable path finds the same set; the store keeps its own frozen one.
    expect(store.intern(set([{ type: 2, asns: [65001, 65003] }], 1))).toBe(c);
  });

  it('keeps the decoded path of consecutive UPDATEs, so the store shares it', () => {
    const ctx = defaultCodecContext();
    const bytes = (med: number) =>
      encodeUpdate({ withdrawn: new Uint32Array(0), attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.1', med, unknown: [] }, nlri: Uint32Array.of(0x0a000000, 24) }, ctx);
    const store = new AttrStore();
    const x = store.intern(decodeUpdate(bytes(1), ctx).attrs!);
    const y = store.intern(decodeUpdate(bytes(2), ctx).attrs!);
    expect(store.get(x).asPath).toBe(store.get(y).asPath);
    expect(store.get(y).med).toBe(2);
  });
});
