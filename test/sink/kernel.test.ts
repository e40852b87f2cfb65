/**
 * The kernel sink against a real network namespace: a node namespace with a veth toward a
 * neighbour namespace for next hops. tunl0 does not exist in this kernel, so the veth plays the
 * IPIP device (the route shape `via X dev D onlink` is what matters).
 *
 * The sink's tests run twice: through the netlink helper (compiled here from its source, so the
 * test does not depend on a build) and through `ip -batch`; both must program the same table and
 * report the same failures.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNamespace, addVethPair, deleteNamespace, nsExec, routes, waitFor } from '../../tools/lab/netns.js';
import { KernelSink, type KernelSinkOptions } from '../../daemon/sink/kernel.js';
import { IpBatchProcess } from '../../daemon/sink/batch-process.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { sinkRouteSatisfies } from '../../daemon/policy/kernel.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import type { SinkRoute } from '../../daemon/model.js';
import { KeyedRoute, keyedRoute } from '../../daemon/sink/route.js';
import { prefix4Key } from '../../proto/prefix.js';
import { announce, attrs, Capture, intent, peer, pool, RecordingEncoder } from '../rib/helpers.js';

const ns = `pt-rib-${process.pid}`;
const nbr = `pt-rib-${process.pid}n`;
const DEV = 'eth0';
const helperPath = join(tmpdir(), `petrel-netlink-test-${process.pid}`);
type Impl = 'netlink' | 'ip';
const IMPLS: readonly Impl[] = ['netlink', 'ip'];
/** A sink on `impl` in the test namespace; the netlink one must really use the helper. */
function sinkOn(impl: Impl, opts: KernelSinkOptions = {}): KernelSink {
  const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], impl, helperPath, ...opts });
  expect(sink.usesNetlink).toBe(impl === 'netlink');
  return sink;
}
/** Processes the sink started for its path: helpers for netlink, ip -batch for ip. */
const started = (sink: KernelSink, impl: Impl) => (impl === 'netlink' ? sink.helpersStarted : sink.processesStarted);

async function birdRoutes(): Promise<string> {
  return nsExec(ns, 'ip', ['route', 'show', 'proto', 'bird']);
}

async function flushBird(): Promise<void> {
  await nsExec(ns, 'ip', ['route', 'flush', 'proto', 'bird']);
}

beforeAll(async () => {
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', helperPath, join(import.meta.dirname, '../../daemon/sink/native/petrel-netlink.c')]);
  await addNamespace(ns);
  await addNamespace(nbr);
  await addVethPair([ns, DEV, '172.16.30.1/24'], [nbr, DEV, '172.16.30.8/24']);
  await nsExec(ns, 'ip', ['-6', 'addr', 'add', 'fd00:30::1/64', 'dev', DEV, 'nodad']);
});

afterAll(async () => {
  rmSync(helperPath, { force: true });
  await deleteNamespace(ns);
  await deleteNamespace(nbr);
});

describe.each(IMPLS)('KernelSink in a namespace (%s)', (impl) => {
  it('installs a blackhole, an onlink tunnel-style route and a plain via route, all proto bird', async () => {
    await flushBird();
    const sink = sinkOn(impl);
    const res = await sink.apply({
      add: [
        { prefix: '10.244.1.0/26', type: 'blackhole' },
        { prefix: '10.244.151.0/26', type: 'unicast', via: '172.16.31.8', dev: DEV, onlink: true },
        { prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8' },
      ],
      remove: [],
    });
    expect(res).toEqual({ applied: 3, failures: [] });
    expect(sink.batches).toBe(1);
    const text = await birdRoutes();
    expect(text).toContain('blackhole 10.244.1.0/26');
    expect(text).toMatch(/10\.244\.151\.0\/26 via 172\.16\.31\.8 dev eth0 onlink/);
    expect(text).toMatch(/10\.244\.2\.0\/26 via 172\.16\.30\.8 dev eth0/);
    const json = await routes(ns, ['proto', 'bird']);
    expect(json).toHaveLength(3);
    const byPrefix = (x: SinkRoute, y: SinkRoute) => x.prefix.localeCompare(y.prefix);
    const expected: SinkRoute[] = [
      { prefix: '10.244.1.0/26', type: 'blackhole' },
      { prefix: '10.244.151.0/26', type: 'unicast', via: '172.16.31.8', dev: DEV, onlink: true },
      { prefix: '10.244.2.0/26', type: 'unicast', via: '172.16.30.8', dev: DEV },
    ];
    expect((await sink.dump()).sort(byPrefix)).toEqual(expected.sort(byPrefix));
  });

  it('reports a route the kernel refuses, with its reason, and still applies the others', async () => {
    await flushBird();
    const sink = sinkOn(impl);
    const bad: SinkRoute = { prefix: '10.9.0.0/24', type: 'unicast', via: '10.99.99.99' };
    const badDev: SinkRoute = { prefix: '10.9.1.0/24', type: 'unicast', via: '172.16.30.8', dev: 'eth0 table 7' };
    const res = await sink.apply({
      add: [{ prefix: '10.244.3.0/26', type: 'blackhole' }, bad, badDev, { prefix: '10.244.4.0/26', type: 'unicast', via: '172.16.30.8' }],
      remove: [{ prefix: '10.244.99.0/26', type: 'blackhole' }],
    });
    expect(res.applied).toBe(3); // two adds, and the removal of an absent route is not an error
    expect(res.failures).toHaveLength(2);
    expect(res.failures[0]).toEqual({ route: badDev, reason: "bad device name 'eth0 table 7'" });
    expect(res.failures[1]?.route).toEqual(bad);
    expect(res.failures[1]?.reason).toMatch(/gateway|unreachable/i);
    const text = await birdRoutes();
    expect(text).toContain('blackhole 10.244.3.0/26');
    expect(text).toContain('10.244.4.0/26 via 172.16.30.8');
    expect(text).not.toContain('10.9.');
  });

  it('replaces in place and removes by prefix (any type), honouring table and metric', async () => {
    await flushBird();
    const sink = sinkOn(impl, { table: 100 });
    await sink.apply({ add: [{ prefix: '10.244.5.0/26', type: 'unicast', via: '172.16.30.8', metric: 7 }], remove: [] });
    expect(await sink.dump()).toEqual([{ prefix: '10.244.5.0/26', type: 'unicast', via: '172.16.30.8', dev: DEV, metric: 7 }]);
    expect(await birdRoutes()).toBe(''); // not in the main table
    await sink.apply({ add: [{ prefix: '10.244.5.0/26', type: 'blackhole', metric: 7 }], remove: [] });
    expect(await sink.dump()).toEqual([{ prefix: '10.244.5.0/26', type: 'blackhole', metric: 7 }]);
    await sink.apply({ add: [], remove: [{ prefix: '10.244.5.0/26', type: 'blackhole', metric: 7 }] });
    expect(await sink.dump()).toEqual([]);
  });
});

describe.each(IMPLS)('one long-lived process (%s)', (impl) => {
  it('runs batch after batch in one process, mapping failures to the right batch and line', async () => {
    await flushBird();
    const sink = sinkOn(impl);
    const good = (i: number): SinkRoute => ({ prefix: `10.250.${i}.0/24`, type: 'unicast', via: '172.16.30.8' });
    const unreachable = (i: number): SinkRoute => ({ prefix: `10.251.${i}.0/24`, type: 'unicast', via: '10.99.99.99' });
    const first = await sink.apply({ add: [good(1), unreachable(1), good(2)], remove: [] });
    expect(first.applied).toBe(2);
    expect(first.failures.map((f) => f.route)).toEqual([unreachable(1)]);
    // Line numbers run on across batches in one process: this failure is line 6 for ip, line 2 here.
    const second = await sink.apply({ add: [good(3), unreachable(2), good(4)], remove: [] });
    expect(second.failures.map((f) => f.route)).toEqual([unreachable(2)]);
    expect(second.failures[0]?.reason).toMatch(/gateway|unreachable/i);
    const third = await sink.apply({ add: [], remove: [good(1), { prefix: '10.250.77.0/24', type: 'blackhole' }] });
    expect(third).toEqual({ applied: 2, failures: [] });
    expect(sink.batches).toBe(3);
    expect(started(sink, impl)).toBe(1);
    expect((await sink.dump()).map((r) => r.prefix).sort()).toEqual(['10.250.2.0/24', '10.250.3.0/24', '10.250.4.0/24']);
    sink.close();
  });

  it('programs the engine\'s routes (prefix as a RIB key) in chunks, failures reported as plain routes with their text', async () => {
    await flushBird();
    const sink = sinkOn(impl, { chunkLines: 7 });
    const key = (third: number, fourth: number) => prefix4Key(((10 << 24) | (252 << 16) | (third << 8) | fourth) >>> 0, 24 + (fourth === 0 ? 0 : 8));
    const good = (i: number) => keyedRoute(key(i, 0), 'unicast', '172.16.30.8');
    const host = (i: number) => keyedRoute(key(i, 1), 'blackhole', undefined, undefined, undefined, 9);
    const unreachable = (i: number) => keyedRoute(key(100 + i, 0), 'unicast', '10.99.99.99');
    // 30 adds over five chunks, a refused one in the second and the last; then removals across chunks too.
    const add = [...Array.from({ length: 26 }, (_, i) => (i % 2 === 0 ? good(i) : host(i))), unreachable(1), good(40), good(41), unreachable(2)];
    const first = await sink.apply({ add: [...add.slice(0, 9), unreachable(0), ...add.slice(9)], remove: [] });
    expect(first.applied).toBe(28);
    expect(first.failures.map((f) => f.route)).toEqual([0, 1, 2].map((i) => ({ prefix: `10.252.${100 + i}.0/24`, type: 'unicast', via: '10.99.99.99' })));
    expect(first.failures.every((f) => !(f.route instanceof KeyedRoute))).toBe(true);
    const held = await routes(ns, ['proto', 'bird']);
    expect(held).toHaveLength(28);
    expect(held).toContainEqual(expect.objectContaining({ dst: '10.252.24.0/24', gateway: '172.16.30.8' }));
    expect(held).toContainEqual(expect.objectContaining({ type: 'blackhole', dst: '10.252.25.1', metric: 9 }));
    // Removals across chunks of 7, one of a route that is not there (done, as for ip).
    const second = await sink.apply({ add: [], remove: [...Array.from({ length: 13 }, (_, i) => good(2 * i)), unreachable(3)] });
    expect(second).toEqual({ applied: 14, failures: [] });
    expect(await routes(ns, ['proto', 'bird'])).toHaveLength(15);
    sink.close();
  });

  it('splits a batch over side-by-side processes in chunks, keeping each prefix\'s changes in order', async () => {
    await flushBird();
    const sink = sinkOn(impl, { processes: 2, chunkLines: 50 });
    const via = (i: number, metric?: number): SinkRoute => ({ prefix: `10.${200 + (i >> 8)}.${i & 255}.0/24`, type: 'unicast', via: '172.16.30.8', ...(metric !== undefined ? { metric } : {}) });
    const first = await sink.apply({ add: Array.from({ length: 300 }, (_, i) => via(i, 5)), remove: [] });
    expect(first).toEqual({ applied: 300, failures: [] });
    // The reconcile shape: every prefix removed (old metric) and added again (new metric) in one apply.
    const bad: SinkRoute = { prefix: '10.209.0.0/24', type: 'unicast', via: '10.99.99.99' };
    const second = await sink.apply({ add: [...Array.from({ length: 300 }, (_, i) => via(i)), bad], remove: Array.from({ length: 300 }, (_, i) => via(i, 5)) });
    expect(second.applied).toBe(600);
    expect(second.failures.map((f) => f.route)).toEqual([bad]);
    expect(started(sink, impl)).toBe(impl === 'netlink' ? 1 : 2);
    const now = await sink.dump();
    expect(now).toHaveLength(300);
    expect(now.every((r) => r.metric === undefined)).toBe(true);
    sink.close();
  });

  it('warm() starts the process ahead of the first batch, which then uses it', async () => {
    await flushBird();
    const sink = sinkOn(impl);
    sink.warm();
    expect(started(sink, impl)).toBe(1);
    expect(await sink.apply({ add: [{ prefix: '10.250.9.0/24', type: 'blackhole' }], remove: [] })).toEqual({ applied: 1, failures: [] });
    sink.warm();
    expect(started(sink, impl)).toBe(1);
    expect(sink.processesStarted + sink.helpersStarted).toBe(1);
    sink.close();
  });

  it('runs applies called without waiting in call order, each with its own result', async () => {
    await flushBird();
    const sink = sinkOn(impl, { processes: 2, chunkLines: 7 });
    const r = (i: number, metric?: number): SinkRoute => ({ prefix: `10.230.${i}.0/24`, type: 'unicast', via: '172.16.30.8', ...(metric !== undefined ? { metric } : {}) });
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const bad: SinkRoute = { prefix: '10.231.0.0/24', type: 'unicast', via: '10.99.99.99' };
    const [a, b] = await Promise.all([
      sink.apply({ add: [...ids.map((i) => r(i, 5)), bad], remove: [] }),
      sink.apply({ add: ids.map((i) => r(i)), remove: ids.map((i) => r(i, 5)) }),
    ]);
    expect(a.failures.map((f) => f.route)).toEqual([bad]);
    expect(a.applied).toBe(40);
    expect(b).toEqual({ applied: 80, failures: [] });
    const now = await sink.dump();
    expect(now).toHaveLength(40);
    expect(now.every((x) => x.metric === undefined)).toBe(true);
    sink.close();
  });

  it('reports a device that does not exist like ip does, and applies the rest', async () => {
    await flushBird();
    const sink = sinkOn(impl);
    const ghost: SinkRoute = { prefix: '10.240.1.0/24', type: 'unicast', via: '172.16.30.8', dev: 'nosuch0', onlink: true };
    const res = await sink.apply({ add: [ghost, { prefix: '10.240.2.0/24', type: 'unicast', via: '172.16.30.8', dev: DEV }], remove: [] });
    expect(res).toEqual({ applied: 1, failures: [{ route: ghost, reason: 'Cannot find device "nosuch0"' }] });
    expect(await birdRoutes()).toMatch(/10\.240\.2\.0\/24 via 172\.16\.30\.8 dev eth0/);
    sink.close();
  });

  it('programs IPv6: blackhole, via a gateway onlink with a metric, and removal', async () => {
    await flushBird();
    const sink = sinkOn(impl);
    const adds: SinkRoute[] = [
      { prefix: 'fd00:244::/122', type: 'blackhole' },
      { prefix: 'fd00:245::/122', type: 'unicast', via: 'fd00:30::8', dev: DEV, onlink: true, metric: 512 },
    ];
    expect(await sink.apply({ add: adds, remove: [] })).toEqual({ applied: 2, failures: [] });
    expect(await sink.dump()).toEqual(adds);
    const text = await nsExec(ns, 'ip', ['-6', 'route', 'show', 'proto', 'bird']);
    expect(text).toContain('blackhole fd00:244::/122');
    expect(text).toMatch(/fd00:245::\/122 via fd00:30::8 dev eth0 metric 512 onlink/);
    expect(await sink.apply({ add: [], remove: adds })).toEqual({ applied: 2, failures: [] });
    expect(await sink.dump()).toEqual([]);
    sink.close();
  });

  it('takes thousands of routes in one chunk, and thousands of removals of absent routes as done', async () => {
    await flushBird();
    const sink = sinkOn(impl, { chunkLines: 20_000 });
    const via = (i: number): SinkRoute => ({ prefix: `10.${100 + (i >> 8)}.${i & 255}.0/24`, type: 'unicast', via: '172.16.30.8' });
    const gone = (i: number): SinkRoute => ({ prefix: `10.${150 + (i >> 8)}.${i & 255}.0/24`, type: 'blackhole' });
    const bad = (i: number): SinkRoute => ({ prefix: `10.${180 + (i >> 8)}.${i & 255}.0/24`, type: 'unicast', via: '10.99.99.99' });
    const n = 6000;
    const ids = Array.from({ length: n }, (_, i) => i);
    // Every removal and every third add fails in the kernel: many error answers for one chunk.
    const res = await sink.apply({ add: ids.map((i) => (i % 3 === 0 ? bad(i) : via(i))), remove: ids.map(gone) });
    expect(res.applied).toBe(n + n - n / 3);
    expect(res.failures).toHaveLength(n / 3);
    expect(res.failures.every((f, k) => f.route.prefix === bad(3 * k).prefix && /gateway|unreachable/i.test(f.reason))).toBe(true);
    expect((await routes(ns, ['proto', 'bird'])).length).toBe(n - n / 3);
    sink.close();
  });
});

describe('the start-up dump', () => {
  const byPrefix = (a: SinkRoute, b: SinkRoute) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : (a.metric ?? 0) - (b.metric ?? 0));

  it('reads the same routes through the netlink helper as through ip -json, of every shape, and only ours in our table', async () => {
    await flushBird();
    const add = async (args: string[]) => nsExec(ns, 'ip', args);
    await add(['route', 'add', '10.245.0.0/24', 'via', '172.16.30.8', 'proto', 'bird']);
    await add(['route', 'add', '10.245.1.0/26', 'via', '172.16.30.8', 'dev', DEV, 'onlink', 'proto', 'bird']);
    await add(['route', 'add', 'blackhole', '10.245.2.0/26', 'proto', 'bird']);
    await add(['route', 'add', '10.245.3.0/24', 'via', '172.16.30.8', 'proto', 'bird', 'metric', '7']);
    await add(['route', 'add', '10.245.3.0/24', 'via', '172.16.30.8', 'proto', 'bird', 'metric', '9']);
    await add(['route', 'add', '10.245.4.5/32', 'dev', DEV, 'proto', 'bird']);
    await add(['route', 'add', '0.0.0.0/0', 'via', '172.16.30.8', 'proto', 'bird', 'metric', '50']);
    await add(['-6', 'route', 'add', 'fd00:245::/64', 'via', 'fd00:30::8', 'proto', 'bird']);
    await add(['-6', 'route', 'add', 'fd00:245:1::/64', 'via', 'fd00:30::8', 'proto', 'bird', 'metric', '5']);
    await add(['-6', 'route', 'add', 'blackhole', 'fd00:245:2::/122', 'proto', 'bird']);
    await add(['-6', 'route', 'add', 'fd00:245:3::1/128', 'dev', DEV, 'proto', 'bird']);
    // Not ours: another protocol, another table.
    await add(['route', 'add', '10.245.9.0/24', 'via', '172.16.30.8', 'proto', 'static']);
    await add(['route', 'add', '10.245.8.0/24', 'via', '172.16.30.8', 'proto', 'bird', 'table', '100']);
    try {
      const helper = sinkOn('netlink');
      const ip = sinkOn('ip');
      const viaHelper = (await helper.dump()).sort(byPrefix);
      const viaIp = (await ip.dump()).sort(byPrefix);
      expect(helper.helpersStarted).toBe(1);
      // Made only to read the table: its helper goes once the dump is in.
      await waitFor('the dump-only helper ends', async () => !helper.helperRunning, 5000, 5);
      expect(viaHelper).toEqual(viaIp);
      const expected: SinkRoute[] = [
        { prefix: '0.0.0.0/0', type: 'unicast', via: '172.16.30.8', dev: DEV, metric: 50 },
        { prefix: '10.245.0.0/24', type: 'unicast', via: '172.16.30.8', dev: DEV },
        { prefix: '10.245.1.0/26', type: 'unicast', via: '172.16.30.8', dev: DEV, onlink: true },
        { prefix: '10.245.2.0/26', type: 'blackhole' },
        { prefix: '10.245.3.0/24', type: 'unicast', via: '172.16.30.8', dev: DEV, metric: 7 },
        { prefix: '10.245.3.0/24', type: 'unicast', via: '172.16.30.8', dev: DEV, metric: 9 },
        { prefix: '10.245.4.5/32', type: 'unicast', dev: DEV },
        { prefix: 'fd00:245:1::/64', type: 'unicast', via: 'fd00:30::8', dev: DEV, metric: 5 },
        { prefix: 'fd00:245:2::/122', type: 'blackhole' },
        { prefix: 'fd00:245:3::1/128', type: 'unicast', dev: DEV },
        { prefix: 'fd00:245::/64', type: 'unicast', via: 'fd00:30::8', dev: DEV },
      ];
      expect(viaHelper).toEqual(expected.sort(byPrefix));
      // A sink that is to program the table keeps its helper.
      const kept = sinkOn('netlink');
      kept.warm();
      expect(await kept.dump()).toHaveLength(viaHelper.length);
      expect(kept.helperRunning).toBe(true);
      expect(kept.helpersStarted).toBe(1);
      kept.close();
      // The other table, asked for.
      expect(await sinkOn('netlink', { table: 100 }).dump()).toEqual(await sinkOn('ip', { table: 100 }).dump());
      expect((await sinkOn('netlink', { table: 100 }).dump()).map((r) => r.prefix)).toEqual(['10.245.8.0/24']);
      helper.close();
    } finally {
      await nsExec(ns, 'ip', ['route', 'del', '10.245.9.0/24', 'proto', 'static']);
      await nsExec(ns, 'ip', ['route', 'flush', 'proto', 'bird', 'table', '100']);
      await nsExec(ns, 'ip', ['route', 'del', '0.0.0.0/0', 'proto', 'bird', 'metric', '50']);
      await nsExec(ns, 'ip', ['-6', 'route', 'flush', 'proto', 'bird']);
      await flushBird();
    }
  });

  it('reads through ip when the helper cannot start', async () => {
    await flushBird();
    await nsExec(ns, 'ip', ['route', 'add', '10.246.0.0/24', 'via', '172.16.30.8', 'proto', 'bird']);
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], impl: 'auto', helperPath: '/nonexistent/petrel-netlink' });
    expect(sink.usesNetlink).toBe(true);
    expect(await sink.dump()).toEqual([{ prefix: '10.246.0.0/24', type: 'unicast', via: '172.16.30.8', dev: DEV }]);
    expect(sink.usesNetlink).toBe(false);
    await flushBird();
  });
});

describe('the netlink helper, when it cannot be used', () => {
  it('auto: a helper that cannot start hands the routes to ip -batch', async () => {
    await flushBird();
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], impl: 'auto', helperPath: '/nonexistent/petrel-netlink' });
    expect(sink.usesNetlink).toBe(true);
    const r: SinkRoute = { prefix: '10.241.0.0/24', type: 'unicast', via: '172.16.30.8' };
    expect(await sink.apply({ add: [r], remove: [] })).toEqual({ applied: 1, failures: [] });
    expect(sink.usesNetlink).toBe(false);
    expect(sink.processesStarted).toBe(1);
    expect(await sink.apply({ add: [{ ...r, prefix: '10.241.1.0/24' }], remove: [] })).toEqual({ applied: 1, failures: [] });
    expect(sink.helpersStarted).toBe(1);
    expect(await birdRoutes()).toMatch(/10\.241\.0\.0\/24[\s\S]*10\.241\.1\.0\/24/);
    sink.close();
  });

  it('netlink asked for: a helper that cannot start fails every route, without throwing', async () => {
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], impl: 'netlink', helperPath: '/nonexistent/petrel-netlink' });
    const r: SinkRoute = { prefix: '10.242.0.0/24', type: 'blackhole' };
    const res = await sink.apply({ add: [r], remove: [] });
    expect(res.applied).toBe(0);
    expect(res.failures).toEqual([{ route: r, reason: expect.stringMatching(/netlink helper aborted/) }]);
    // A device name it cannot resolve is not sent without its ifindex.
    const viaDev: SinkRoute = { prefix: '10.242.1.0/24', type: 'unicast', via: '172.16.30.8', dev: DEV };
    const again = await sink.apply({ add: [viaDev], remove: [] });
    expect(again).toEqual({ applied: 0, failures: [{ route: viaDev, reason: expect.stringMatching(/netlink helper failed looking up device "eth0"/) }] });
  });

  it('dies with its parent, so changes still queued in its input never reach the kernel after the daemon', async () => {
    // sh starts the helper (naming itself as the parent) reading a FIFO that this test holds open,
    // then becomes `sleep`. Killed, it must take the helper along, although its input never ends
    // (as a daemon's pipe full of queued removals does not, until the helper has read them).
    const fifo = join(tmpdir(), `petrel-netlink-fifo-${process.pid}`);
    rmSync(fifo, { force: true });
    execFileSync('mkfifo', [fifo]);
    const sh = spawn('sh', ['-c', '"$0" $$ < "$1" > /dev/null & echo $!; exec sleep 600', helperPath, fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const helperPid = await new Promise<number>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const writer = openSync(fifo, 'w');
    const state = () => {
      try {
        return readFileSync(`/proc/${helperPid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      } catch {
        return 'gone';
      }
    };
    const alive = () => state() !== 'Z' && state() !== 'gone';
    try {
      expect(alive()).toBe(true);
      sh.kill('SIGKILL');
      for (let i = 0; i < 500 && alive(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(alive()).toBe(false);
    } finally {
      if (alive()) process.kill(helperPid, 'SIGKILL');
      closeSync(writer);
      rmSync(fifo, { force: true });
    }
  });

  it('uses ip for names only iproute2 knows, or when asked', () => {
    expect(new KernelSink({ helperPath, protocol: 'mine' }).netlinkOff).toMatch(/protocol 'mine'/);
    expect(new KernelSink({ helperPath, table: 'mytable' }).netlinkOff).toMatch(/table 'mytable'/);
    expect(new KernelSink({ helperPath, impl: 'ip' }).usesNetlink).toBe(false);
    expect(new KernelSink({ helperPath }).usesNetlink).toBe(true);
  });

  it('a helper that dies mid-run aborts its chunk, and a fresh one takes the next', async () => {
    await flushBird();
    // A copy of its own, so that its process is the only one of that name.
    const own = `${helperPath}-kill`;
    copyFileSync(helperPath, own);
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], impl: 'netlink', helperPath: own });
    sink.warm();
    expect(await sink.apply({ add: [{ prefix: '10.243.0.0/24', type: 'blackhole' }], remove: [] })).toEqual({ applied: 1, failures: [] });
    const pids = (await nsExec(ns, 'pgrep', ['-f', own])).trim().split('\n').filter((l) => l !== '');
    expect(pids).toHaveLength(1);
    process.kill(Number(pids[0]), 'SIGKILL');
    // Until the exit is seen the dead helper may still be asked; either way nothing throws and a
    // later apply gets a fresh helper.
    for (let i = 1; i < 100; i++) {
      const res = await sink.apply({ add: [{ prefix: `10.243.${i}.0/24`, type: 'blackhole' }], remove: [] });
      if (res.failures.length > 0) {
        expect(res.failures[0]?.reason).toMatch(/netlink helper aborted/);
        continue;
      }
      if (sink.helpersStarted === 2) break;
    }
    expect(sink.helpersStarted).toBe(2);
    sink.close();
    rmSync(own, { force: true });
  });
});

describe('one long-lived ip -batch process', () => {
  it('keeps concurrent submissions apart', async () => {
    await flushBird();
    const batch = new IpBatchProcess({ commandPrefix: ['ip', 'netns', 'exec', ns] });
    const lines = (tag: number, bad: number) =>
      Array.from({ length: 200 }, (_, i) => (i === bad ? `route replace 10.252.${tag}.0/24 via 10.99.99.99 proto bird` : `route replace 10.${tag}.${i}.0/24 via 172.16.30.8 proto bird`));
    const [a, b] = await Promise.all([batch.run(lines(60, 17)), batch.run(lines(61, 150))]);
    expect([...a.errors.keys()]).toEqual([18]);
    expect([...b.errors.keys()]).toEqual([151]);
    expect(a.aborted ?? b.aborted).toBeUndefined();
    expect(batch.spawned).toBe(1);
    expect((await routes(ns, ['proto', 'bird'])).length).toBe(398);
    batch.close();
  });

  it('reports an ip that stops as an aborted batch, and starts a fresh one for the next', async () => {
    await flushBird();
    const batch = new IpBatchProcess({ commandPrefix: ['ip', 'netns', 'exec', ns] });
    // A line ip cannot parse ends the process even under -force; the sink never writes one.
    const dead = await batch.run(['route replace 10.253.1.0/24 via 172.16.30.8 proto bird', 'route replace 10.253.2.0/33 via 172.16.30.8 proto bird', 'route replace 10.253.3.0/24 via 172.16.30.8 proto bird']);
    expect(dead.aborted).toMatch(/ip -batch aborted.*10\.253\.2\.0\/33/);
    const next = await batch.run(['route replace 10.253.4.0/24 via 172.16.30.8 proto bird']);
    expect(next).toEqual({ errors: new Map() });
    expect(batch.spawned).toBe(2);
    expect(await birdRoutes()).toContain('10.253.4.0/24');
    batch.close();
  });

  it('a KernelSink whose ip cannot run reports every route as failed, without throwing', async () => {
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], ipCommand: '/nonexistent/ip', impl: 'ip' });
    const r: SinkRoute = { prefix: '10.254.0.0/24', type: 'blackhole' };
    const res = await sink.apply({ add: [r], remove: [] });
    expect(res.applied).toBe(0);
    expect(res.failures).toEqual([{ route: r, reason: expect.stringMatching(/ip -batch aborted/) }]);
  });
});

describe.each(IMPLS)('RouteEngine with the kernel sink (%s)', (impl) => {
  const scenario = intent({
    ipv4Address: '172.16.30.1',
    ipv4Network: '172.16.30.0/24',
    pools: [
      pool('10.244.0.0/16', { ipipMode: 'Always' }),
      pool('10.245.0.0/16', { ipipMode: 'CrossSubnet' }),
      pool('10.246.0.0/16', { ipipMode: 'Never' }),
      pool('10.247.0.0/16', { ipipMode: 'Never', vxlanMode: 'Always' }),
    ],
    ownBlocks: ['10.244.1.0/26', '10.244.1.64/32'],
    borrowed: ['10.244.151.9/32'],
    rejectCidrs: ['10.96.0.0/12'],
  });

  async function drive(engine: RouteEngine): Promise<void> {
    const enc = new RecordingEncoder();
    await engine.peerUp(peer('Mesh_172_16_30_8', { peerIp: '172.16.30.8', neighborId: '172.16.30.8' }), new Capture(enc));
    await engine.peerUpdate('Mesh_172_16_30_8', announce(['10.244.151.0/26', '10.245.7.0/26', '10.246.7.0/26', '10.247.7.0/26', '10.96.0.0/24'], attrs({ nextHop: '172.16.30.8' })));
    await engine.peerUpdate('Mesh_172_16_30_8', announce(['10.245.8.0/26'], attrs({ nextHop: '172.16.31.8' })));
    await engine.settled();
  }

  it('programs the same table as the mock sink for the same scenario', async () => {
    await flushBird();
    const kernel = sinkOn(impl);
    const mock = new MockSink();
    const ke = new RouteEngine({ intent: scenario, sink: kernel, encoder: new RecordingEncoder(), ipipDevice: DEV });
    const me = new RouteEngine({ intent: scenario, sink: mock, encoder: new RecordingEncoder(), ipipDevice: DEV });
    await drive(ke);
    await drive(me);
    expect(ke.sinkFailures).toEqual([]);
    const want = mock.snapshot();
    expect(want.map((r) => r.prefix)).toEqual(['10.244.1.0/26', '10.244.151.0/26', '10.245.7.0/26', '10.245.8.0/26', '10.246.7.0/26']);
    const got = await kernel.dump();
    expect(got).toHaveLength(want.length);
    for (const w of want) {
      const g = got.find((r) => r.prefix === w.prefix);
      expect(g && sinkRouteSatisfies(w, g), `${w.prefix}: ${JSON.stringify(g)} vs ${JSON.stringify(w)}`).toBe(true);
    }
    const text = await birdRoutes();
    expect(text).toContain('blackhole 10.244.1.0/26');
    expect(text).toMatch(/10\.244\.151\.0\/26 via 172\.16\.30\.8 dev eth0 onlink/);
    expect(text).toMatch(/10\.245\.8\.0\/26 via 172\.16\.31\.8 dev eth0 onlink/);
    expect(text).toMatch(/10\.245\.7\.0\/26 via 172\.16\.30\.8 dev eth0 \n|10\.245\.7\.0\/26 via 172\.16\.30\.8 dev eth0\s*$/m);

    // The peer goes away: its routes leave the kernel, the own blackhole stays.
    await ke.peerDown('Mesh_172_16_30_8');
    await ke.settled();
    expect(await kernel.dump()).toEqual([{ prefix: '10.244.1.0/26', type: 'blackhole' }]);
  });

  it('startup reconcile removes stale proto-bird routes and leaves other routes alone', async () => {
    await flushBird();
    await nsExec(ns, 'ip', ['route', 'replace', '10.244.50.0/26', 'via', '172.16.30.8', 'proto', 'bird']);
    await nsExec(ns, 'ip', ['route', 'replace', 'blackhole', '10.244.1.0/26', 'proto', 'bird']);
    await nsExec(ns, 'ip', ['route', 'replace', '10.7.0.0/24', 'via', '172.16.30.8']);
    await nsExec(ns, 'ip', ['route', 'replace', '10.8.0.0/24', 'via', '172.16.30.8', 'proto', 'static']);
    const sink = sinkOn(impl);
    const engine = new RouteEngine({ intent: intent({ ownBlocks: ['10.244.1.0/26', '10.244.2.0/26'] }), sink, encoder: new RecordingEncoder(), ipipDevice: DEV });
    await engine.settled();
    // Before the reconcile, the stale route is still there (graceful restart keeps it).
    expect(await birdRoutes()).toContain('10.244.50.0/26');
    const res = await engine.reconcileSink();
    expect(res.failures).toEqual([]);
    const bird = await birdRoutes();
    expect(bird).not.toContain('10.244.50.0/26');
    expect(bird).toContain('blackhole 10.244.1.0/26');
    expect(bird).toContain('blackhole 10.244.2.0/26');
    const all = await nsExec(ns, 'ip', ['route', 'show']);
    expect(all).toContain('10.7.0.0/24 via 172.16.30.8');
    expect(all).toContain('10.8.0.0/24 via 172.16.30.8');
  });
});
