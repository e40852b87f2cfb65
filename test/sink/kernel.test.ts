/**
 * The kernel sink against a real network namespace: a node namespace with a veth toward a
 * neighbour namespace for next hops. tunl0 does not exist in this kernel, so the veth plays the
 * IPIP device (the route shape `via X dev D onlink` is what matters).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNamespace, addVethPair, deleteNamespace, nsExec, routes } from '../../tools/lab/netns.js';
import { KernelSink } from '../../daemon/sink/kernel.js';
import { IpBatchProcess } from '../../daemon/sink/batch-process.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { sinkRouteSatisfies } from '../../daemon/policy/kernel.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import type { SinkRoute } from '../../daemon/model.js';
import { announce, attrs, Capture, intent, peer, pool, RecordingEncoder } from '../rib/helpers.js';

const ns = `pt-rib-${process.pid}`;
const nbr = `pt-rib-${process.pid}n`;
const DEV = 'eth0';
const sinkFor = () => new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns] });

async function birdRoutes(): Promise<string> {
  return nsExec(ns, 'ip', ['route', 'show', 'proto', 'bird']);
}

async function flushBird(): Promise<void> {
  await nsExec(ns, 'ip', ['route', 'flush', 'proto', 'bird']);
}

beforeAll(async () => {
  await addNamespace(ns);
  await addNamespace(nbr);
  await addVethPair([ns, DEV, '172.16.30.1/24'], [nbr, DEV, '172.16.30.8/24']);
});

afterAll(async () => {
  await deleteNamespace(ns);
  await deleteNamespace(nbr);
});

describe('KernelSink in a namespace', () => {
  it('installs a blackhole, an onlink tunnel-style route and a plain via route, all proto bird', async () => {
    await flushBird();
    const sink = sinkFor();
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
    const sink = sinkFor();
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
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], table: 100 });
    await sink.apply({ add: [{ prefix: '10.244.5.0/26', type: 'unicast', via: '172.16.30.8', metric: 7 }], remove: [] });
    expect(await sink.dump()).toEqual([{ prefix: '10.244.5.0/26', type: 'unicast', via: '172.16.30.8', dev: DEV, metric: 7 }]);
    expect(await birdRoutes()).toBe(''); // not in the main table
    await sink.apply({ add: [{ prefix: '10.244.5.0/26', type: 'blackhole', metric: 7 }], remove: [] });
    expect(await sink.dump()).toEqual([{ prefix: '10.244.5.0/26', type: 'blackhole', metric: 7 }]);
    await sink.apply({ add: [], remove: [{ prefix: '10.244.5.0/26', type: 'blackhole', metric: 7 }] });
    expect(await sink.dump()).toEqual([]);
  });
});

describe('one long-lived ip -batch process', () => {
  it('runs batch after batch in one process, mapping failures to the right batch and line', async () => {
    await flushBird();
    const sink = sinkFor();
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
    expect(sink.processesStarted).toBe(1);
    expect((await sink.dump()).map((r) => r.prefix).sort()).toEqual(['10.250.2.0/24', '10.250.3.0/24', '10.250.4.0/24']);
    sink.close();
  });

  it('splits a batch over side-by-side processes in chunks, keeping each prefix\'s changes in order', async () => {
    await flushBird();
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], processes: 2, chunkLines: 50 });
    const via = (i: number, metric?: number): SinkRoute => ({ prefix: `10.${200 + (i >> 8)}.${i & 255}.0/24`, type: 'unicast', via: '172.16.30.8', ...(metric !== undefined ? { metric } : {}) });
    const first = await sink.apply({ add: Array.from({ length: 300 }, (_, i) => via(i, 5)), remove: [] });
    expect(first).toEqual({ applied: 300, failures: [] });
    // The reconcile shape: every prefix removed (old metric) and added again (new metric) in one apply.
    const bad: SinkRoute = { prefix: '10.209.0.0/24', type: 'unicast', via: '10.99.99.99' };
    const second = await sink.apply({ add: [...Array.from({ length: 300 }, (_, i) => via(i)), bad], remove: Array.from({ length: 300 }, (_, i) => via(i, 5)) });
    expect(second.applied).toBe(600);
    expect(second.failures.map((f) => f.route)).toEqual([bad]);
    expect(sink.processesStarted).toBe(2);
    const now = await sink.dump();
    expect(now).toHaveLength(300);
    expect(now.every((r) => r.metric === undefined)).toBe(true);
    sink.close();
  });

  it('warm() starts the process ahead of the first batch, which then uses it', async () => {
    await flushBird();
    const sink = sinkFor();
    sink.warm();
    expect(sink.processesStarted).toBe(1);
    expect(await sink.apply({ add: [{ prefix: '10.250.9.0/24', type: 'blackhole' }], remove: [] })).toEqual({ applied: 1, failures: [] });
    sink.warm();
    expect(sink.processesStarted).toBe(1);
    sink.close();
  });

  it('runs applies called without waiting in call order, each with its own result', async () => {
    await flushBird();
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], processes: 2, chunkLines: 7 });
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
    const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], ipCommand: '/nonexistent/ip' });
    const r: SinkRoute = { prefix: '10.254.0.0/24', type: 'blackhole' };
    const res = await sink.apply({ add: [r], remove: [] });
    expect(res.applied).toBe(0);
    expect(res.failures).toEqual([{ route: r, reason: expect.stringMatching(/ip -batch aborted/) }]);
  });
});

describe('RouteEngine with the kernel sink', () => {
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
    const kernel = sinkFor();
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
    const sink = sinkFor();
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
