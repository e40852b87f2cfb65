/**
 * Start-up order (issue 10, mesh): the daemon listens before its peers exist and holds what it
 * accepts meanwhile instead of refusing it; the peers start without waiting for the engine to take
 * the intent (its queue runs the start-up kernel reconcile first); the start-up kernel dump answers
 * the reconcile even when the own blocks were programmed in between.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BgpListeners } from '../../daemon/listener.js';
import { Daemon, type IntentAwareEngine } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { answeringFirstDumpWith } from '../../daemon/main.js';
import type { NodeIntent, RouteSink, SinkRoute } from '../../daemon/model.js';
import { MockSink } from '../../daemon/sink/index.js';
import { intent } from '../rib/helpers.js';
import { freePort, peerIntent, RecordingEngine, until } from '../session/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dial(port: number): Promise<{ socket: net.Socket; received: Buffer[]; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    let closed = false;
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve({ socket, received, closed: () => closed }));
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('close', () => (closed = true));
    socket.once('error', reject);
    cleanups.push(() => void socket.destroy());
  });
}

/** The first connection that `port` accepts, dialling again (one attempt at a time) until one is. */
async function dialWhenListening(port: number): Promise<Awaited<ReturnType<typeof dial>>> {
  let probe: Awaited<ReturnType<typeof dial>> | undefined;
  let dialling = false;
  await until('the daemon listens', () => {
    if (probe === undefined && !dialling) {
      dialling = true;
      void dial(port).then((p) => (probe = p), () => undefined).finally(() => (dialling = false));
    }
    return probe !== undefined;
  });
  return probe!;
}

describe('BgpListeners hold', () => {
  it('routes nothing while holding; release routes what was held in arrival order, and refuses the unknown with Cease 6/5', async () => {
    const routed: string[] = [];
    const port = await freePort();
    const listeners = new BgpListeners(
      [{ host: '127.0.0.1', port }],
      (socket) => {
        const tag = `peer-port-${socket.remotePort}`;
        routed.push(tag);
        return routed.length === 1 ? 'accepted' : 'unknown';
      },
      silentLogger(),
      { hold: true },
    );
    cleanups.push(() => listeners.close());
    await listeners.listen();
    const a = await dial(port);
    const b = await dial(port);
    // Both connections are accepted by the kernel and by the listener, and nobody has routed them.
    await new Promise((r) => setImmediate(r));
    expect(routed).toEqual([]);
    expect(a.closed() || b.closed()).toBe(false);
    listeners.release();
    expect(routed).toEqual([`peer-port-${a.socket.localPort}`, `peer-port-${b.socket.localPort}`]);
    // The second was unknown: it gets NOTIFICATION 6/5 (19-byte header + code + subcode).
    await until('the refusal arrives', () => Buffer.concat(b.received).length >= 21);
    const refusal = Buffer.concat(b.received);
    expect([refusal[18], refusal[19], refusal[20]]).toEqual([3, 6, 5]);
    // After release, connections go straight to the router.
    const c = await dial(port);
    await until('the third connection is routed', () => routed.length === 3);
    expect(routed[2]).toBe(`peer-port-${c.socket.localPort}`);
  });

  it('close drops held connections', async () => {
    const port = await freePort();
    const listeners = new BgpListeners([{ host: '127.0.0.1', port }], () => 'accepted', silentLogger(), { hold: true });
    await listeners.listen();
    const a = await dial(port);
    await new Promise((r) => setImmediate(r));
    await listeners.close();
    await until('the held connection is closed', () => a.closed());
  });
});

describe('Daemon.start order', () => {
  it('starts the peers while the engine is still taking the intent, and resolves once it has', async () => {
    const port = await freePort();
    let taken: () => void = () => undefined;
    const engine: IntentAwareEngine & RecordingEngine = Object.assign(new RecordingEngine(), {
      intentChanged: (_i: NodeIntent) => new Promise<void>((r) => (taken = r)),
    });
    // A passive peer at our own dialling address: it answers our connection with its OPEN.
    const first = intent({ listenPort: port, peers: [peerIntent('127.0.0.1', { passive: true, peerPort: port })] });
    let started: Daemon | undefined;
    const starting = Daemon.start({ source: { current: async () => first }, log: silentLogger(), engine, listen: { host: '127.0.0.1', port } }).then((d) => (started = d));
    cleanups.push(async () => {
      taken();
      await (await starting).shutdown();
    });
    const probe = await dialWhenListening(port);
    // The engine has not taken the intent, yet the peer runs and has answered: an OPEN (type 1).
    await until('the peer sends its OPEN', () => Buffer.concat(probe.received).length >= 19);
    expect(Buffer.concat(probe.received)[18]).toBe(1);
    expect(started).toBeUndefined();
    taken();
    const d = await starting;
    expect(d.statuses().map((s) => s.name)).toEqual([first.peers[0]!.name]);
  });

  it('listens before beforePeers resolves, holding connections, and starts the peers after it', async () => {
    const port = await freePort();
    let go: () => void = () => undefined;
    const beforePeers = () => new Promise<void>((r) => (go = r));
    const first = intent({ listenPort: port, peers: [peerIntent('127.0.0.1', { passive: true, peerPort: port })] });
    const starting = Daemon.start({ source: { current: async () => first }, log: silentLogger(), engine: new RecordingEngine(), listen: { host: '127.0.0.1', port }, beforePeers });
    cleanups.push(async () => {
      go();
      await (await starting).shutdown();
    });
    const probe = await dialWhenListening(port);
    // Held: no peer yet, so no OPEN and no refusal.
    await new Promise((r) => setTimeout(r, 50));
    expect(probe.received).toEqual([]);
    expect(probe.closed()).toBe(false);
    go();
    await until('the peer sends its OPEN', () => Buffer.concat(probe.received).length >= 19);
    expect(Buffer.concat(probe.received)[18]).toBe(1);
    await starting;
  });

  it('a start whose engine fails to take the intent fails and closes the listener', async () => {
    const port = await freePort();
    const engine: IntentAwareEngine = Object.assign(new RecordingEngine(), { intentChanged: async () => Promise.reject(new Error('bad intent')) });
    const first = intent({ listenPort: port, peers: [peerIntent('127.0.0.2', { passive: true, peerPort: port })] });
    await expect(Daemon.start({ source: { current: async () => first }, log: silentLogger(), engine, listen: { host: '127.0.0.1', port } })).rejects.toThrow('bad intent');
    // The port is free again: nothing is left listening.
    const again = new BgpListeners([{ host: '127.0.0.1', port }], () => 'accepted', silentLogger());
    await again.listen();
    await again.close();
  });
});

describe('start-up kernel dump reused by the reconcile', () => {
  const blackhole = (prefix: string): SinkRoute => ({ prefix, type: 'blackhole' });
  /** A sink that counts its dumps and can be told to fail some routes. */
  function countingSink(present: SinkRoute[], failing: readonly string[] = []): RouteSink & { dumps: number } {
    const inner = new MockSink();
    const s = {
      dumps: 0,
      apply: async (changes: { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] }) => {
        const bad = changes.add.filter((r) => failing.includes(r.prefix));
        await inner.apply({ add: changes.add.filter((r) => !failing.includes(r.prefix)), remove: changes.remove });
        return { applied: changes.add.length + changes.remove.length - bad.length, failures: bad.map((route) => ({ route, reason: 'refused' })) };
      },
      dump: async () => {
        s.dumps++;
        return inner.dump();
      },
    };
    void inner.apply({ add: present, remove: [] });
    return s;
  }

  it('answers the first dump with the start dump plus what was added since, without reading the kernel again', async () => {
    const kernel = countingSink([blackhole('10.0.0.0/26')], ['10.0.2.0/26']);
    const sink = answeringFirstDumpWith(kernel, Promise.resolve([blackhole('10.0.0.0/26')]));
    await sink.apply({ add: [blackhole('10.0.1.0/26'), blackhole('10.0.2.0/26'), { prefix: '10.0.0.0/26', type: 'unicast', via: '10.1.0.1' }], remove: [] });
    const first = await sink.dump();
    expect(kernel.dumps).toBe(0);
    // The replaced route shows as applied, the failed one is missing: as the kernel holds them.
    const sortByPrefix = (rs: SinkRoute[]) => [...rs].sort((a, b) => a.prefix.localeCompare(b.prefix));
    expect(sortByPrefix(first)).toEqual(sortByPrefix(await kernel.dump()));
    // Later dumps read the kernel.
    await sink.dump();
    expect(kernel.dumps).toBe(2);
  });

  it('holds applies until the start dump is in, so it never sees them, then runs them in call order', async () => {
    const kernel = countingSink([]);
    const applied: string[] = [];
    const recording: RouteSink = {
      apply: (c) => {
        applied.push(...c.add.map((r) => r.prefix));
        return kernel.apply(c);
      },
      dump: () => kernel.dump(),
    };
    let give: (rs: SinkRoute[]) => void = () => undefined;
    const sink = answeringFirstDumpWith(recording, new Promise<SinkRoute[]>((r) => (give = r)));
    const one = sink.apply({ add: [blackhole('10.0.1.0/26')], remove: [] });
    const two = sink.apply({ add: [blackhole('10.0.2.0/26')], remove: [] });
    await new Promise((r) => setTimeout(r, 10));
    expect(applied).toEqual([]);
    give([blackhole('10.0.9.0/26')]);
    await Promise.all([one, two]);
    expect(applied).toEqual(['10.0.1.0/26', '10.0.2.0/26']);
    expect((await sink.dump()).map((r) => r.prefix).sort()).toEqual(['10.0.1.0/26', '10.0.2.0/26', '10.0.9.0/26']);
    // Once the held applies are done, applies go straight through.
    void sink.apply({ add: [blackhole('10.0.3.0/26')], remove: [] });
    expect(applied).toEqual(['10.0.1.0/26', '10.0.2.0/26', '10.0.3.0/26']);
  });

  it('reads the kernel again after a removal, or when the start dump failed', async () => {
    const kernel = countingSink([blackhole('10.0.0.0/26')]);
    const sink = answeringFirstDumpWith(kernel, Promise.resolve([blackhole('10.0.0.0/26')]));
    await sink.apply({ add: [], remove: [blackhole('10.0.0.0/26')] });
    expect(await sink.dump()).toEqual([]);
    expect(kernel.dumps).toBe(1);

    const kernel2 = countingSink([blackhole('10.0.3.0/26')]);
    const failed = Promise.reject(new Error('ip failed'));
    failed.catch(() => undefined);
    const sink2 = answeringFirstDumpWith(kernel2, failed);
    await sink2.apply({ add: [blackhole('10.0.4.0/26')], remove: [] });
    expect((await sink2.dump()).map((r) => r.prefix).sort()).toEqual(['10.0.3.0/26', '10.0.4.0/26']);
    expect(kernel2.dumps).toBe(1);
  });
});
