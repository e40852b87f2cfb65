/**
 * The engine's kernel routes (daemon/sink/route.ts): the prefix kept as the RIB key, its text
 * made when asked; plain copies wherever a route is kept or shown.
 */
import { describe, expect, it } from 'vitest';
import { KeyedRoute, keyedRoute, plainSinkRoute } from '../../daemon/sink/route.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { compileKernelPolicy, kernelRoute, sameSinkRoute, sinkRouteSatisfies, toSinkRoute } from '../../daemon/policy/kernel.js';
import { cidrToKey } from '../../daemon/rib/keys.js';
import { intent, pool } from '../rib/helpers.js';

describe('engine kernel routes', () => {
  it('give their prefix as text, and show as the plain route in JSON and in plainSinkRoute', () => {
    const r = keyedRoute(cidrToKey('10.244.2.0/26'), 'unicast', '172.16.30.8', 'tunl0', true, 7);
    expect(r.prefix).toBe('10.244.2.0/26');
    const plain = { prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8', dev: 'tunl0', onlink: true, metric: 7 };
    expect(plainSinkRoute(r)).toEqual(plain);
    expect(plainSinkRoute(r)).not.toBeInstanceOf(KeyedRoute);
    expect(JSON.parse(JSON.stringify(r))).toEqual(plain);
    expect(Object.keys(plainSinkRoute(keyedRoute(cidrToKey('fd00:1::/64'), 'blackhole')))).toEqual(['prefix', 'type']);
    expect(keyedRoute(cidrToKey('fd00:1::/64'), 'blackhole').prefix).toBe('fd00:1::/64');
    // A plain route is its own plain form.
    const text = { prefix: '10.0.0.0/8', type: 'blackhole' as const };
    expect(plainSinkRoute(text)).toBe(text);
  });

  it('compare with keyed and with plain routes alike', () => {
    const a = keyedRoute(cidrToKey('10.1.0.0/24'), 'unicast', '172.16.30.8');
    expect(sameSinkRoute(a, keyedRoute(cidrToKey('10.1.0.0/24'), 'unicast', '172.16.30.8'))).toBe(true);
    expect(sameSinkRoute(a, keyedRoute(cidrToKey('10.1.1.0/24'), 'unicast', '172.16.30.8'))).toBe(false);
    expect(sameSinkRoute(a, keyedRoute(cidrToKey('10.1.0.0/24'), 'unicast', '172.16.30.9'))).toBe(false);
    expect(sameSinkRoute(a, { prefix: '10.1.0.0/24', type: 'unicast', via: '172.16.30.8' })).toBe(true);
    expect(sameSinkRoute({ prefix: '10.1.0.0/24', type: 'unicast', via: '172.16.30.8', onlink: false }, a)).toBe(true);
    expect(sinkRouteSatisfies(a, { prefix: '10.1.0.0/24', type: 'unicast', via: '172.16.30.8', dev: 'eth0', metric: 0 })).toBe(true);
  });

  it('kernelRoute maps like toSinkRoute, which answers plain routes', () => {
    const p = compileKernelPolicy(intent({ ipv4Network: '172.16.30.0/24', pools: [pool('10.244.0.0/16', { ipipMode: 'CrossSubnet' })] }), { ipipDevice: 'tunl0', metric: 3 });
    for (const [cidr, nextHop] of [['10.244.2.0/26', '172.16.30.8'], ['10.244.3.0/26', '172.16.31.8'], ['10.9.0.0/16', '172.16.31.8']] as const) {
      const key = cidrToKey(cidr);
      const keyed = kernelRoute(p, key, { nextHop });
      const plain = toSinkRoute(p, key, { nextHop });
      expect(keyed).toBeInstanceOf(KeyedRoute);
      expect(plain).not.toBeInstanceOf(KeyedRoute);
      expect(plain).toEqual(plainSinkRoute(keyed!));
    }
    expect(toSinkRoute(p, cidrToKey('10.244.3.0/26'), { nextHop: '172.16.31.8' })).toEqual({ prefix: '10.244.3.0/26', type: 'unicast', via: '172.16.31.8', dev: 'tunl0', onlink: true, metric: 3 });
    expect(kernelRoute(p, cidrToKey('10.244.3.1/32'), { local: 'borrowed' })).toBeNull();
  });

  it('are kept by the mock sink, and refused by it, as plain routes', async () => {
    const sink = new MockSink({ refuse: (r) => (r.prefix === '10.1.1.0/24' ? 'no' : undefined) });
    const res = await sink.apply({ add: [keyedRoute(cidrToKey('10.1.0.0/24'), 'unicast', '172.16.30.8'), keyedRoute(cidrToKey('10.1.1.0/24'), 'blackhole')], remove: [] });
    expect(res.failures).toEqual([{ route: { prefix: '10.1.1.0/24', type: 'blackhole' }, reason: 'no' }]);
    expect(res.failures[0]!.route).not.toBeInstanceOf(KeyedRoute);
    expect(sink.snapshot()).toEqual([{ prefix: '10.1.0.0/24', type: 'unicast', via: '172.16.30.8' }]);
    expect(sink.snapshot()[0]).not.toBeInstanceOf(KeyedRoute);
    await sink.apply({ add: [], remove: [keyedRoute(cidrToKey('10.1.0.0/24'), 'unicast', '172.16.30.8')] });
    expect(sink.size).toBe(0);
  });
});
