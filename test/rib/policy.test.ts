import { describe, expect, it } from 'vitest';
import { compileExportPolicy, exportVerdict, isTunnelInterface } from '../../daemon/policy/export.js';
import { importVerdict, maxPrefixOutcome, normaliseImported } from '../../daemon/policy/import.js';
import { compileKernelPolicy, toSinkRoute } from '../../daemon/policy/kernel.js';
import { diffOrigination, originate } from '../../daemon/origin.js';
import { cidrToKey, keyToCidr } from '../../daemon/rib/keys.js';
import { attrs, intent, pool } from './helpers.js';

const k = cidrToKey;

describe('export filter (calico_export_to_bgp_peers, in Calico order)', () => {
  const base = intent({
    pools: [pool('10.244.0.0/16'), pool('10.96.0.0/16', { disableBGPExport: true }), pool('10.50.0.0/16', { disabled: true })],
    ownBlocks: ['10.244.1.0/26'],
    serviceRoutes: ['10.100.0.0/24'],
  });
  const p = compileExportPolicy(base);

  it('rejects routes in a pool with disableBGPExport, even an own block there', () => {
    const withBlock = compileExportPolicy({ ...base, ownBlocks: ['10.96.5.0/26'] });
    expect(exportVerdict(withBlock, k('10.96.5.0/26'), undefined, true)).toEqual({ accept: false, rule: 'disabledExport' });
  });

  it('still exports routes of a disabled (no new allocations) pool', () => {
    expect(exportVerdict(p, k('10.50.3.0/26'), undefined, true)).toEqual({ accept: true, rule: 'pool' });
  });

  it('rejects tunnel-interface routes toward iBGP peers only', () => {
    expect(exportVerdict(p, k('10.244.9.0/26'), 'vxlan.calico', true)).toEqual({ accept: false, rule: 'tunnelInterface' });
    expect(exportVerdict(p, k('10.244.9.0/26'), 'wireguard.cali', true).rule).toBe('tunnelInterface');
    expect(exportVerdict(p, k('10.244.9.0/26'), 'vxlan.calico', false)).toEqual({ accept: true, rule: 'pool' });
    expect(isTunnelInterface('cali1234')).toBe(false);
  });

  it('accepts an own block and rejects anything strictly inside it', () => {
    expect(exportVerdict(p, k('10.244.1.0/26'), undefined, true)).toEqual({ accept: true, rule: 'ownBlock' });
    expect(exportVerdict(p, k('10.244.1.5/32'), undefined, true)).toEqual({ accept: false, rule: 'insideOwnBlock' });
    expect(exportVerdict(p, k('10.244.1.32/27'), undefined, false)).toEqual({ accept: false, rule: 'insideOwnBlock' });
  });

  it('accepts a borrowed /32 (inside a pool, outside own blocks)', () => {
    expect(exportVerdict(p, k('10.244.7.9/32'), undefined, true)).toEqual({ accept: true, rule: 'pool' });
  });

  it('accepts routes inside service routes', () => {
    expect(exportVerdict(p, k('10.100.0.0/24'), undefined, true)).toEqual({ accept: true, rule: 'serviceRoute' });
  });

  it('rejects everything else (default route, node subnets, a pool supernet)', () => {
    expect(exportVerdict(p, k('0.0.0.0/0'), undefined, false)).toEqual({ accept: false, rule: 'default' });
    expect(exportVerdict(p, k('172.16.30.0/24'), undefined, true).rule).toBe('default');
    expect(exportVerdict(p, k('10.244.0.0/15'), undefined, true).rule).toBe('default');
  });

  it('handles IPv6 pools and blocks', () => {
    const v6 = compileExportPolicy(intent({ pools: [pool('fd00:10::/64')], ownBlocks: ['fd00:10::40/122'] }));
    expect(exportVerdict(v6, k('fd00:10::40/122'), undefined, true).rule).toBe('ownBlock');
    expect(exportVerdict(v6, k('fd00:10::41/128'), undefined, true).rule).toBe('insideOwnBlock');
    expect(exportVerdict(v6, k('fd00:10::80/122'), undefined, true).rule).toBe('pool');
    expect(exportVerdict(v6, k('fd00:11::/64'), undefined, true).rule).toBe('default');
  });
});

describe('import', () => {
  const ctx = { ibgp: false, localAs: 64512, routerId: '172.16.30.1' };
  it('accepts everything but routes whose AS path holds our AS (eBGP)', () => {
    expect(importVerdict(ctx, attrs({ asPath: [{ type: 2, asns: [65001] }] })).accept).toBe(true);
    expect(importVerdict(ctx, attrs({ asPath: [{ type: 2, asns: [65001, 64512] }] }))).toEqual({ accept: false, reason: 'asLoop' });
    expect(importVerdict({ ...ctx, allowLocalAs: 1 }, attrs({ asPath: [{ type: 2, asns: [65001, 64512] }] })).accept).toBe(true);
  });
  it('drops our own reflected routes (ORIGINATOR_ID, CLUSTER_LIST)', () => {
    const i = { ...ctx, ibgp: true, clusterId: '224.0.0.1' };
    expect(importVerdict(i, attrs({ originatorId: '172.16.30.1' }))).toEqual({ accept: false, reason: 'originatorLoop' });
    expect(importVerdict(i, attrs({ originatorId: '9.9.9.9', clusterList: ['224.0.0.1'] }))).toEqual({ accept: false, reason: 'clusterLoop' });
  });
  it('ignores LOCAL_PREF received over eBGP', () => {
    expect(normaliseImported(attrs({ localPref: 300 }), false).localPref).toBeUndefined();
    expect(normaliseImported(attrs({ localPref: 300 }), true).localPref).toBe(300);
  });
  it('max-prefix: over the limit means reset or warn, per configuration', () => {
    expect(maxPrefixOutcome(10, 10, 'reset')).toBe('ok');
    expect(maxPrefixOutcome(11, 10, 'reset')).toBe('reset');
    expect(maxPrefixOutcome(11, 10, 'warn')).toBe('warn');
    expect(maxPrefixOutcome(1e6, undefined, 'reset')).toBe('ok');
  });
});

describe('kernel programming (calico_kernel_programming)', () => {
  const opts = { ipipDevice: 'tunl0' };
  const base = intent({
    ipv4Network: '172.16.30.0/24',
    pools: [
      pool('10.244.0.0/16', { ipipMode: 'Always' }),
      pool('10.245.0.0/16', { ipipMode: 'CrossSubnet' }),
      pool('10.246.0.0/16', { ipipMode: 'Never' }),
      pool('10.247.0.0/16', { ipipMode: 'Never', vxlanMode: 'Always' }),
      pool('fd00:10::/64', { ipipMode: 'Never', vxlanMode: 'CrossSubnet' }),
      pool('fd00:20::/64', { ipipMode: 'Never' }),
    ],
    rejectCidrs: ['10.96.0.0/12'],
  });
  const p = compileKernelPolicy(base, opts);

  it('own blocks are blackholes', () => {
    expect(toSinkRoute(p, k('10.244.1.0/26'), { local: 'block' })).toEqual({ prefix: '10.244.1.0/26', type: 'blackhole' });
  });
  it('borrowed addresses are never installed (Felix routes them)', () => {
    expect(toSinkRoute(p, k('10.244.9.3/32'), { local: 'borrowed' })).toBeNull();
  });
  it('IPIP Always: via the node on the IPIP device, onlink', () => {
    expect(toSinkRoute(p, k('10.244.2.0/26'), { nextHop: '172.16.30.8' })).toEqual({
      prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8', dev: 'tunl0', onlink: true,
    });
  });
  it('IPIP CrossSubnet: plain inside the node subnet, tunnelled outside', () => {
    expect(toSinkRoute(p, k('10.245.2.0/26'), { nextHop: '172.16.30.8' })).toEqual({ prefix: '10.245.2.0/26', type: 'unicast', via: '172.16.30.8' });
    expect(toSinkRoute(p, k('10.245.3.0/26'), { nextHop: '172.16.31.8' })).toMatchObject({ dev: 'tunl0', onlink: true });
  });
  it('no encapsulation: plain via route', () => {
    expect(toSinkRoute(p, k('10.246.2.0/26'), { nextHop: '172.16.31.8' })).toEqual({ prefix: '10.246.2.0/26', type: 'unicast', via: '172.16.31.8' });
  });
  it('VXLAN pools are not installed (own blackholes neither: Felix programs them)', () => {
    expect(toSinkRoute(p, k('10.247.2.0/26'), { nextHop: '172.16.30.8' })).toBeNull();
    expect(toSinkRoute(p, k('10.247.1.0/26'), { local: 'block' })).toBeNull();
    expect(toSinkRoute(p, k('fd00:10::40/122'), { nextHop: 'fd00::8' })).toBeNull();
  });
  it('VXLAN v4 rules apply only when the node has an IPv4 subnet', () => {
    const noNet = compileKernelPolicy({ ...base, ipv4Network: undefined }, opts);
    expect(toSinkRoute(noNet, k('10.247.2.0/26'), { nextHop: '172.16.30.8' })).toEqual({ prefix: '10.247.2.0/26', type: 'unicast', via: '172.16.30.8' });
    expect(toSinkRoute(noNet, k('10.244.2.0/26'), { nextHop: '172.16.30.8' })).toEqual({ prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8' });
  });
  it('reject CIDRs are never installed; other routes (a ToR default) are', () => {
    expect(toSinkRoute(p, k('10.96.0.0/12'), { nextHop: '172.16.30.8' })).toBeNull();
    expect(toSinkRoute(p, k('10.200.0.0/24'), { local: 'service' })).toEqual({ prefix: '10.200.0.0/24', type: 'blackhole' });
    expect(toSinkRoute(p, k('10.96.0.0/24'), { local: 'service' })).toBeNull();
    expect(toSinkRoute(p, k('0.0.0.0/0'), { nextHop: '172.16.30.254' })).toEqual({ prefix: '0.0.0.0/0', type: 'unicast', via: '172.16.30.254' });
  });
  it('IPv6 has no tunnel; metric and device are configurable', () => {
    const m = compileKernelPolicy(base, { ipipDevice: 'veth0', metric: 512 });
    expect(toSinkRoute(m, k('fd00:20::40/122'), { nextHop: 'fd00::8' })).toEqual({ prefix: 'fd00:20::40/122', type: 'unicast', via: 'fd00::8', metric: 512 });
    expect(toSinkRoute(m, k('10.244.2.0/26'), { nextHop: '172.16.30.8' })).toMatchObject({ dev: 'veth0', metric: 512 });
  });
  it('does not install routes whose next hop is this node', () => {
    expect(toSinkRoute(p, k('10.244.2.0/26'), { nextHop: '172.16.30.1' })).toBeNull();
  });
});

describe('origination', () => {
  it('one blackhole per own block (not /32), host routes for borrowed addresses, service routes', () => {
    const { routes, problems } = originate(intent({
      ownBlocks: ['10.244.1.0/26', '10.244.9.7/32', 'fd00:10::40/122', 'fd00:10::1/128'],
      borrowed: ['10.244.5.3/32', '10.244.5.4'],
      serviceRoutes: ['10.100.0.0/24'],
    }));
    expect(problems).toEqual([]);
    expect([...routes].map(([key, kind]) => [keyToCidr(key), kind])).toEqual([
      ['10.244.1.0/26', 'block'],
      ['fd00:10::40/122', 'block'],
      ['10.244.5.3/32', 'borrowed'],
      ['10.244.5.4/32', 'borrowed'],
      ['10.100.0.0/24', 'service'],
    ]);
  });
  it('reports bad CIDRs instead of throwing', () => {
    const { routes, problems } = originate(intent({ ownBlocks: ['10.244.1.1/26', 'nonsense'] }));
    expect(routes.size).toBe(0);
    expect(problems.map((p) => p.cidr)).toEqual(['10.244.1.1/26', 'nonsense']);
  });
  it('diffs: new blocks announced, gone blocks withdrawn, changed kind re-announced', () => {
    const a = originate(intent({ ownBlocks: ['10.244.1.0/26', '10.244.2.0/26'], borrowed: ['10.244.7.1/32'] })).routes;
    const b = originate(intent({ ownBlocks: ['10.244.2.0/26', '10.244.3.0/26', '10.244.7.0/26'], borrowed: [] })).routes;
    const d = diffOrigination(a, b);
    expect(d.announce.map((o) => keyToCidr(o.key))).toEqual(['10.244.3.0/26', '10.244.7.0/26']);
    expect(d.withdraw.map(keyToCidr)).toEqual(['10.244.1.0/26', '10.244.7.1/32']);
    expect(diffOrigination(b, b)).toEqual({ announce: [], withdraw: [] });
  });
});
