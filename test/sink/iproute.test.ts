import { describe, expect, it } from 'vitest';
import { classifyBatchOutput, deleteLine, invalidReason, optionsInvalidReason, parseRouteDump, replaceLine, routeInvalidReason } from '../../daemon/sink/iproute.js';

const opts = { protocol: 'bird' };

describe('iproute2 batch lines', () => {
  it('writes blackhole, tunnelled and plain routes with proto, table and metric', () => {
    expect(replaceLine({ prefix: '10.244.1.0/26', type: 'blackhole' }, opts)).toBe('route replace blackhole 10.244.1.0/26 proto bird');
    expect(replaceLine({ prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8', dev: 'tunl0', onlink: true }, { protocol: 'bird', table: 100 }))
      .toBe('route replace 10.244.2.0/26 via 172.16.30.8 dev tunl0 onlink proto bird table 100');
    expect(replaceLine({ prefix: 'fd00::/122', type: 'unicast', via: 'fd00::8', metric: 1024 }, opts)).toBe('route replace fd00::/122 via fd00::8 proto bird metric 1024');
    expect(deleteLine({ prefix: '10.244.1.0/26', type: 'blackhole', metric: 5 }, opts)).toBe('route del 10.244.1.0/26 proto bird metric 5');
  });

  it('refuses values that would break the batch instead of writing them', () => {
    expect(invalidReason({ prefix: '10.244.1.1/26', type: 'blackhole' }, opts)).toMatch(/bad prefix/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'unicast', via: '10.0.0.1\nroute flush all' }, opts)).toMatch(/bad gateway/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'unicast', via: 'fd00::1' }, opts)).toMatch(/bad gateway/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'unicast', via: '10.0.0.1', dev: 'eth0 table 5' }, opts)).toMatch(/bad device/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'unicast' }, opts)).toMatch(/gateway or a device/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'blackhole', metric: -1 }, opts)).toMatch(/bad metric/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'blackhole' }, { protocol: 'bird;x' })).toMatch(/bad protocol/);
    expect(invalidReason({ prefix: '10.244.1.0/26', type: 'unicast', via: '10.0.0.1', dev: 'veth0', onlink: true }, opts)).toBeUndefined();
    // A gateway found valid once is remembered; a different (bad) one right after is still refused.
    expect(routeInvalidReason({ prefix: '10.244.2.0/26', type: 'unicast', via: '10.0.0.1' })).toBeUndefined();
    expect(routeInvalidReason({ prefix: '10.244.3.0/26', type: 'unicast', via: '10.0.0.01' })).toMatch(/bad gateway/);
    expect(routeInvalidReason({ prefix: '10.244.3.0/26', type: 'unicast', via: '10.0.0.1' })).toBeUndefined();
    expect(routeInvalidReason({ prefix: 'fd00::/64', type: 'unicast', via: '10.0.0.1' })).toMatch(/bad gateway/);
    // The two halves: the route's own checks, then the options every route of a batch shares.
    expect(routeInvalidReason({ prefix: '10.244.1.0/26', type: 'blackhole' })).toBeUndefined();
    expect(optionsInvalidReason({ protocol: 'bird;x' })).toMatch(/bad protocol/);
    expect(optionsInvalidReason({ protocol: 'bird', table: 'a b' })).toMatch(/bad table/);
    expect(optionsInvalidReason(opts)).toBeUndefined();
  });

  it('reads a batch\'s merged output: failures by line number, the sentinel, and error text', () => {
    expect(classifyBatchOutput('Command failed -:3')).toEqual({ kind: 'failed', line: 3 });
    expect(classifyBatchOutput('Error: Nexthop has invalid gateway.')).toEqual({ kind: 'text', text: 'Nexthop has invalid gateway.' });
    expect(classifyBatchOutput('RTNETLINK answers: No such process')).toEqual({ kind: 'text', text: 'No such process' });
    expect(classifyBatchOutput('1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00')).toEqual({ kind: 'sentinel' });
    expect(classifyBatchOutput('1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000')).toEqual({ kind: 'sentinel' });
    // A message that merely mentions lo is not the sentinel.
    expect(classifyBatchOutput('Cannot find device "lo0"').kind).toBe('text');
    expect(classifyBatchOutput('   ')).toEqual({ kind: 'text', text: '' });
  });

  it('parses `ip -json route show` into sink routes', () => {
    const json = '[{"type":"blackhole","dst":"10.244.1.0/26","flags":[]},{"dst":"10.244.2.0/26","gateway":"172.16.31.8","dev":"pr0a","flags":["onlink"]},{"dst":"10.9.9.9","gateway":"172.16.30.8","dev":"pr0a","metric":100,"flags":[]},{"dst":"default","gateway":"172.16.30.254","dev":"pr0a","flags":[]}]';
    expect(parseRouteDump(json, 4)).toEqual([
      { prefix: '10.244.1.0/26', type: 'blackhole' },
      { prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.31.8', dev: 'pr0a', onlink: true },
      { prefix: '10.9.9.9/32', type: 'unicast', via: '172.16.30.8', dev: 'pr0a', metric: 100 },
      { prefix: '0.0.0.0/0', type: 'unicast', via: '172.16.30.254', dev: 'pr0a' },
    ]);
    expect(parseRouteDump('[{"dst":"fd00::/122","gateway":"fd00::8","dev":"e0","metric":1024,"flags":[]}]', 6)).toEqual([
      { prefix: 'fd00::/122', type: 'unicast', via: 'fd00::8', dev: 'e0' },
    ]);
    expect(parseRouteDump('', 4)).toEqual([]);
  });
});
