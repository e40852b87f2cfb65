/**
 * GracefulRestartEngine: what it asks the RIB to do (retain, purge, release, reconcile) for the
 * receiving and the restarting speaker, with a manual timer so the restart and deferral bounds are
 * exercised without waiting.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { encodeEndOfRib } from '../../proto/index.js';
import { GracefulRestartEngine, type StartTimer } from '../../daemon/gr/index.js';
import type { SessionUp } from '../../daemon/session/engine.js';
import type { Family, NodeIntent, PeerIntent } from '../../daemon/model.js';
import { intent } from '../rib/helpers.js';

class ManualTimers {
  private next = 1;
  readonly live = new Map<number, { seconds: number; fire: () => void }>();
  readonly start: StartTimer = (seconds, fire) => {
    const id = this.next++;
    this.live.set(id, { seconds, fire });
    return () => this.live.delete(id);
  };
  /** Fires every live timer of `seconds`. */
  fire(seconds: number): number {
    const due = [...this.live].filter(([, t]) => t.seconds === seconds);
    for (const [id, t] of due) {
      this.live.delete(id);
      t.fire();
    }
    return due.length;
  }
}

function setup() {
  const calls: string[] = [];
  const rib = {
    peerDown: async (n: string, o?: { retain?: boolean }) => void calls.push(`rib.down ${n}${o?.retain ? ' retain' : ''}`),
    purgeStale: async (n: string, f?: Family) => (calls.push(`purge ${n}${f ? ` v${f}` : ''}`), 1),
    reconcileSink: async () => (calls.push('reconcile'), { applied: 0, failures: [] }),
  };
  const inner = {
    peerUp: (u: SessionUp) => void calls.push(`up ${u.peer.name}`),
    update: () => void calls.push('update'),
    readDone: (n: string) => void calls.push(`read done ${n}`),
    peerDown: (n: string) => void calls.push(`down ${n}`),
    intentChanged: () => void calls.push('intent'),
  };
  const timers = new ManualTimers();
  const gr = new GracefulRestartEngine({ inner, rib, log: pino({ level: 'silent' }), timer: timers.start, now: () => 0 });
  return { calls, timers, gr };
}

function up(name: string, grCap?: { restartTime: number; families: string[]; preserved: string[] }, families: Family[] = [4]): SessionUp {
  return {
    peer: { name } as PeerIntent,
    neighborId: '10.0.0.2',
    peerAs: 64512,
    localAddress: '10.0.0.1',
    remoteAddress: '10.0.0.2',
    internal: true,
    families,
    context: { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false },
    localCaps: { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: true, as4: true, llgr: false, extendedMessage: false },
    peerCaps: { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: true, as4: true, llgr: false, extendedMessage: false, ...(grCap ? { gracefulRestart: { ...grCap, restarting: false } } : {}) },
    holdTime: 90,
    send: () => true,
    reset: () => {},
  };
}

const GR = { restartTime: 120, families: ['ipv4'], preserved: ['ipv4'] };
const ctx = up('x').context;
const settle = () => new Promise<void>((r) => setImmediate(r));
const withPeers = (...names: string[]): NodeIntent => intent({ peers: names.map((name) => ({ name }) as PeerIntent) });

describe('GracefulRestartEngine, receiving speaker', () => {
  it('hands a session\'s end of a read to the engine it wraps (flow control)', () => {
    const { calls, gr } = setup();
    gr.peerUp(up('a'));
    gr.readDone('a');
    expect(calls).toEqual(['up a', 'read done a']);
  });

  it('a GR peer\'s TCP failure retains its routes; its End-of-RIB after it returns purges the rest', () => {
    const { calls, timers, gr } = setup();
    gr.peerUp(up('Mesh_B', GR));
    gr.peerDown('Mesh_B', 'TcpConnectionFails');
    expect(calls).toEqual(['up Mesh_B', 'rib.down Mesh_B retain']);
    expect(gr.retainedPeers()).toEqual(['Mesh_B']);
    gr.peerUp(up('Mesh_B', GR));
    gr.update('Mesh_B', encodeEndOfRib(1, 1), ctx);
    expect(calls.slice(2)).toEqual(['up Mesh_B', 'update', 'purge Mesh_B v4']);
    expect(gr.retainedPeers()).toEqual([]);
    expect(timers.live.size).toBe(0);
  });

  it('a peer that never returns is purged at its restart time, and does not hold up another peer', () => {
    const { calls, timers, gr } = setup();
    gr.peerUp(up('Mesh_B', { ...GR, restartTime: 30 }));
    gr.peerUp(up('Mesh_C', GR));
    gr.peerDown('Mesh_B', 'TcpConnectionFails');
    gr.peerDown('Mesh_C', 'TcpConnectionFails');
    gr.peerUp(up('Mesh_C', GR));
    gr.update('Mesh_C', encodeEndOfRib(1, 1), ctx);
    expect(calls).toContain('purge Mesh_C v4');
    expect(gr.retainedPeers()).toEqual(['Mesh_B']);
    expect(timers.fire(30)).toBe(1);
    expect(calls.at(-1)).toBe('purge Mesh_B');
    expect(gr.retainedPeers()).toEqual([]);
  });

  it('a returned peer that never sends End-of-RIB loses its stale routes at the stale bound', () => {
    const { calls, timers, gr } = setup();
    gr.peerUp(up('Mesh_B', GR));
    gr.peerDown('Mesh_B', 'TcpConnectionFails');
    gr.peerUp(up('Mesh_B', GR));
    expect(timers.fire(120)).toBe(1);
    expect(calls.at(-1)).toBe('purge Mesh_B');
  });

  it('a returned peer that did not preserve forwarding loses its stale routes at once', () => {
    const { calls, gr } = setup();
    gr.peerUp(up('Mesh_B', GR));
    gr.peerDown('Mesh_B', 'TcpConnectionFails');
    gr.peerUp(up('Mesh_B', { ...GR, preserved: [] }));
    expect(calls.at(-1)).toBe('purge Mesh_B v4');
    expect(gr.retainedPeers()).toEqual([]);
  });

  it('a NOTIFICATION or a peer without GR withdraws at once', () => {
    const { calls, gr } = setup();
    gr.peerUp(up('Mesh_B', GR));
    gr.peerDown('Mesh_B', 'NotifMsg');
    gr.peerUp(up('Mesh_C'));
    gr.peerDown('Mesh_C', 'TcpConnectionFails');
    expect(calls).toEqual(['up Mesh_B', 'down Mesh_B', 'up Mesh_C', 'down Mesh_C']);
  });

  it('a retained peer deleted from the configuration is released at once', async () => {
    const { calls, timers, gr } = setup();
    gr.peerUp(up('Mesh_B', GR));
    gr.peerDown('Mesh_B', 'TcpConnectionFails');
    await gr.intentChanged(withPeers('Mesh_C'));
    expect(calls.slice(-2)).toEqual(['rib.down Mesh_B', 'intent']);
    expect(gr.retainedPeers()).toEqual([]);
    expect(timers.live.size).toBe(0);
  });
});

describe('GracefulRestartEngine, restarting speaker', () => {
  it('keeps the Restart State until every peer sent End-of-RIB, then reconciles once', async () => {
    const { calls, gr } = setup();
    const done: string[] = [];
    gr.startRecovery({ peers: ['Mesh_B', 'Mesh_C'], deferral: 120, onRecovered: (why) => void done.push(why) });
    expect(gr.localRestartState()).toEqual({ restarting: true });
    gr.peerUp(up('Mesh_B', GR, [4, 6]));
    gr.update('Mesh_B', encodeEndOfRib(1, 1), ctx);
    gr.peerUp(up('Mesh_C', GR));
    gr.update('Mesh_C', encodeEndOfRib(1, 1), ctx);
    expect(gr.recovering).toBe(true); // Mesh_B still owes IPv6
    gr.update('Mesh_B', encodeEndOfRib(2, 1), ctx);
    await settle();
    expect(done).toEqual(['end-of-rib']);
    expect(gr.localRestartState()).toEqual({ restarting: false });
    expect(calls.filter((c) => c.startsWith('purge'))).toEqual([]);
  });

  it('a peer that never comes up ends recovery at the deferral time; a de-configured one at once', async () => {
    const a = setup();
    const doneA: string[] = [];
    a.gr.startRecovery({ peers: ['Mesh_B'], deferral: 120, onRecovered: (why) => void doneA.push(why) });
    expect(a.timers.fire(120)).toBe(1);
    await settle();
    expect(doneA).toEqual(['deferral-timeout']);

    const b = setup();
    const doneB: string[] = [];
    b.gr.startRecovery({ peers: ['Mesh_B'], deferral: 120, onRecovered: (why) => void doneB.push(why) });
    await b.gr.intentChanged(withPeers());
    await settle();
    expect(doneB).toEqual(['end-of-rib']);
    expect(b.timers.live.size).toBe(0);
  });
});
