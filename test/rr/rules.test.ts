/**
 * RFC 4456 rules as pure decisions: which routes a reflector passes on, what it adds, and which
 * reflected routes a receiver drops as loops.
 */
import { describe, expect, it } from 'vitest';
import { bgpMayAdvertise, exportAttrs, type ExportTarget, type RouteSource } from '../../daemon/rib/export-attrs.js';
import { importVerdict } from '../../daemon/policy/import.js';
import type { RouteAttrs } from '../../daemon/rib/attrs.js';

const CLUSTER = '244.0.0.1';
const learned = (over: Partial<RouteAttrs> = {}): RouteAttrs =>
  ({ origin: 0, asPath: [], nextHop: '10.0.0.21', localPref: 100, unknown: [], ...over }) as RouteAttrs;
const src = (over: Partial<RouteSource> = {}): RouteSource => ({ local: false, ibgp: true, rrClient: false, routerId: '10.0.0.21', ...over });
const tgt = (over: Partial<ExportTarget> = {}): ExportTarget => ({
  ibgp: true, localAs: 64512, selfNextHop: { 4: '10.0.0.11' }, keepOriginalNextHop: false, rrClient: false, ...over,
});

describe('reflection: who gets a route (RFC 4456 §6)', () => {
  it('client routes go to clients and non-clients', () => {
    expect(bgpMayAdvertise(src({ rrClient: true }), tgt({ rrClient: true }), CLUSTER)).toBe(true);
    expect(bgpMayAdvertise(src({ rrClient: true }), tgt({ rrClient: false }), CLUSTER)).toBe(true);
  });
  it('non-client routes go to clients only', () => {
    expect(bgpMayAdvertise(src({ rrClient: false }), tgt({ rrClient: true }), CLUSTER)).toBe(true);
    expect(bgpMayAdvertise(src({ rrClient: false }), tgt({ rrClient: false }), CLUSTER)).toBe(false);
  });
  it('a node without a cluster id never passes iBGP routes to iBGP peers', () => {
    expect(bgpMayAdvertise(src({ rrClient: true }), tgt({ rrClient: true }), undefined)).toBe(false);
  });
  it('own and eBGP-learned routes go to every iBGP peer', () => {
    expect(bgpMayAdvertise(src({ local: true, ibgp: false }), tgt(), CLUSTER)).toBe(true);
    expect(bgpMayAdvertise(src({ ibgp: false }), tgt(), undefined)).toBe(true);
  });
});

describe('reflection: what a reflected route carries (RFC 4456 §8)', () => {
  it('sets ORIGINATOR_ID to the sender, prepends the cluster id, keeps the next hop', () => {
    const out = exportAttrs(learned(), 4, src({ rrClient: true }), tgt({ rrClient: true }), CLUSTER);
    expect(out.originatorId).toBe('10.0.0.21');
    expect(out.clusterList).toEqual([CLUSTER]);
    expect(out.nextHop).toBe('10.0.0.21');
    expect(out.localPref).toBe(100);
  });
  it('keeps an existing ORIGINATOR_ID and prepends to an existing CLUSTER_LIST', () => {
    const out = exportAttrs(learned({ originatorId: '10.0.0.30', clusterList: ['244.0.0.9'] }), 4, src(), tgt({ rrClient: true }), CLUSTER);
    expect(out.originatorId).toBe('10.0.0.30');
    expect(out.clusterList).toEqual([CLUSTER, '244.0.0.9']);
  });
  it('keeps an IPv6 next hop (global and link-local) when reflecting', () => {
    const v6 = learned({ nextHop: 'fd00::21', nextHopLinkLocal: 'fe80::21' } as Partial<RouteAttrs>);
    const out = exportAttrs(v6, 6, src({ rrClient: true }), tgt({ selfNextHop: { 6: 'fd00::11' }, rrClient: true }), CLUSTER);
    expect(out.nextHop).toBe('fd00::21');
    expect((out as { nextHopLinkLocal?: string }).nextHopLinkLocal).toBe('fe80::21');
  });
  it('own routes carry no reflection attributes', () => {
    const out = exportAttrs(learned({ local: 'block' } as Partial<RouteAttrs>), 4, src({ local: true, ibgp: false, routerId: '10.0.0.11' }), tgt({ rrClient: true }), CLUSTER);
    expect(out.originatorId).toBeUndefined();
    expect(out.clusterList).toBeUndefined();
    expect(out.nextHop).toBe('10.0.0.11');
  });
  it('toward eBGP the reflection attributes are removed', () => {
    const out = exportAttrs(learned({ originatorId: '10.0.0.30', clusterList: [CLUSTER] }), 4, src(), tgt({ ibgp: false }), CLUSTER);
    expect(out.originatorId).toBeUndefined();
    expect(out.clusterList).toBeUndefined();
  });
});

describe('reflection: loops are dropped on import (RFC 4456 §8)', () => {
  const ctx = { ibgp: true, localAs: 64512, routerId: '10.0.0.11', clusterId: CLUSTER };
  it('our cluster id in CLUSTER_LIST is a loop', () => {
    expect(importVerdict(ctx, learned({ originatorId: '10.0.0.21', clusterList: ['244.0.0.7', CLUSTER] }))).toEqual({ accept: false, reason: 'clusterLoop' });
  });
  it('our router id as ORIGINATOR_ID is a loop, also on a client (no cluster id)', () => {
    expect(importVerdict(ctx, learned({ originatorId: '10.0.0.11', clusterList: ['244.0.0.7'] }))).toEqual({ accept: false, reason: 'originatorLoop' });
    const client = { ibgp: true, localAs: 64512, routerId: '10.0.0.21' };
    expect(importVerdict(client, learned({ originatorId: '10.0.0.21', clusterList: [CLUSTER] }))).toEqual({ accept: false, reason: 'originatorLoop' });
  });
  it('another cluster and another originator are accepted', () => {
    expect(importVerdict(ctx, learned({ originatorId: '10.0.0.22', clusterList: ['244.0.0.7'] }))).toEqual({ accept: true });
    const client = { ibgp: true, localAs: 64512, routerId: '10.0.0.21' };
    expect(importVerdict(client, learned({ originatorId: '10.0.0.22', clusterList: [CLUSTER] }))).toEqual({ accept: true });
  });
});
