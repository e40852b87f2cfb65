/**
 * Link-local next hops of IPv6 routes (RFC 2545 §3): the global next hop is the one to route by;
 * only when none usable came (all zeros, or itself link-local) is the link-local one used, and then
 * with its interface, since the kernel cannot place a link-local gateway without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileKernelPolicy, toSinkRoute } from '../../daemon/policy/kernel.js';
import { cidrToKey, packKeys } from '../../daemon/rib/keys.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { KernelSink } from '../../daemon/sink/kernel.js';
import { addNamespace, addVethPair, deleteNamespace } from '../../tools/lab/netns.js';
import { attrs, Capture, intent, peer, pool, RecordingEncoder } from '../rib/helpers.js';

const KEY = cidrToKey('fd99::/64');
const node = intent({ ipv6Address: 'fd00::1', pools: [pool('fd00:10::/64', { ipipMode: 'Never' })], ownBlocks: [] });
const withDev = compileKernelPolicy(node, { ipipDevice: 'tunl0', linkLocalDevice: 'eth0' });
const noDev = compileKernelPolicy(node, { ipipDevice: 'tunl0' });

describe('toSinkRoute: IPv6 next hops', () => {
  it('global and link-local: routes via the global one, no device needed', () => {
    expect(toSinkRoute(withDev, KEY, { nextHop: 'fd00::2', nextHopLinkLocal: 'fe80::2' })).toEqual({ prefix: 'fd99::/64', type: 'unicast', via: 'fd00::2' });
  });
  it('only a link-local one (sent as the first next hop): via it, on the sessions\' interface', () => {
    expect(toSinkRoute(withDev, KEY, { nextHop: 'fe80::2' })).toEqual({ prefix: 'fd99::/64', type: 'unicast', via: 'fe80::2', dev: 'eth0' });
  });
  it('an all-zeros global next hop with a link-local one: via the link-local one', () => {
    expect(toSinkRoute(withDev, KEY, { nextHop: '::', nextHopLinkLocal: 'FE80::2' })).toEqual({ prefix: 'fd99::/64', type: 'unicast', via: 'FE80::2', dev: 'eth0' });
  });
  it('link-local only and no known interface: not installed (the kernel would refuse it)', () => {
    expect(toSinkRoute(noDev, KEY, { nextHop: 'fe80::2' })).toBeNull();
    expect(toSinkRoute(noDev, KEY, { nextHop: '::', nextHopLinkLocal: 'fe80::2' })).toBeNull();
  });
  it('no usable next hop at all, or our own address: not installed', () => {
    expect(toSinkRoute(withDev, KEY, { nextHop: '::' })).toBeNull();
    expect(toSinkRoute(withDev, KEY, {})).toBeNull();
    expect(toSinkRoute(withDev, KEY, { nextHop: 'fd00::1' })).toBeNull();
  });
});

describe('RouteEngine: a learned IPv6 route with a link-local next hop', () => {
  const v6Update = (nextHop: string[]) => ({
    withdrawn: new Uint32Array(0), nlri: new Uint32Array(0), treatAsWithdraw: false,
    attrs: attrs({ nextHop: undefined }),
    mpReach: { afi: 2, safi: 1, nextHop, nlri: packKeys(6, [KEY]) },
  });

  it('installs via the global next hop, then via link-local + device when only that is sent', async () => {
    const sink = new MockSink();
    const enc = new RecordingEncoder();
    const engine = new RouteEngine({ intent: node, sink, encoder: enc, linkLocalDevice: 'eth0' });
    await engine.peerUp(peer('Global_fd00__2', { peerIp: 'fd00::2', localAddress: 'fd00::1', families: [6] }), new Capture(enc));
    await engine.peerUpdate('Global_fd00__2', v6Update(['fd00::2', 'fe80::2']));
    await engine.settled();
    expect(sink.snapshot()).toEqual([{ prefix: 'fd99::/64', type: 'unicast', via: 'fd00::2' }]);
    await engine.peerUpdate('Global_fd00__2', v6Update(['::', 'fe80::2']));
    await engine.settled();
    expect(sink.snapshot()).toEqual([{ prefix: 'fd99::/64', type: 'unicast', via: 'fe80::2', dev: 'eth0' }]);
  });
});

describe('KernelSink: a link-local gateway with its device in a real kernel', () => {
  const ns = `pt-v6-${process.pid}-ll`;
  const peerNs = `pt-v6-${process.pid}-llp`;
  beforeAll(async () => {
    await addNamespace(ns);
    await addNamespace(peerNs);
    await addVethPair([ns, 'eth0'], [peerNs, 'eth0']);
  }, 20_000);
  afterAll(async () => {
    await deleteNamespace(ns).catch(() => undefined);
    await deleteNamespace(peerNs).catch(() => undefined);
  }, 20_000);

  it('is installed proto bird and read back as it was written', async () => {
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns] });
    const route = toSinkRoute(withDev, KEY, { nextHop: '::', nextHopLinkLocal: 'fe80::2' });
    expect(route).not.toBeNull();
    const res = await sink.apply({ add: [route!], remove: [] });
    expect(res).toEqual({ applied: 1, failures: [] });
    const dumped = await sink.dump();
    expect(dumped).toEqual([expect.objectContaining({ prefix: 'fd99::/64', type: 'unicast', via: 'fe80::2', dev: 'eth0' })]);
  });
});
