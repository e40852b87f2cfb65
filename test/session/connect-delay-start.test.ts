/**
 * BIRD's connect delay runs from protocol start, which is process start. The peers a daemon starts
 * with count their first connect delay from the daemon's start, so Node's start-up is not waited
 * for on top of it; a peer added later waits the whole delay.
 */
import type * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { PeerManager } from '../../daemon/peers.js';
import { peerIntent, RecordingEngine } from './helpers.js';

describe('first connect delay counted from daemon start', () => {
  const dialled: string[] = [];
  let peers: PeerManager | undefined;
  // A dial that never completes: the test only watches when the connection is attempted.
  const connect = (opts: net.NetConnectOpts) => {
    dialled.push(String((opts as net.TcpNetConnectOpts).host));
    return { on: () => undefined, once: () => undefined, setNoDelay: () => undefined, destroy: () => undefined, end: () => undefined, removeAllListeners: () => undefined } as unknown as net.Socket;
  };
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    dialled.length = 0;
  });
  afterEach(async () => {
    vi.useRealTimers();
    peers?.abandonAll();
  });

  it('a start-up peer dials after the delay less the start-up time; a later peer waits all of it', async () => {
    // random 0: jitter shortens no timer.
    peers = new PeerManager({ local: { routerId: '10.0.0.1', hostname: 'h' }, engine: new RecordingEngine(), log: silentLogger(), connect, random: () => 0, uptimeSeconds: () => 1.5 });
    await peers.apply([peerIntent('10.0.0.2', { connectDelayTime: 2, connectRetryTime: 120 })]);
    vi.advanceTimersByTime(400);
    expect(dialled).toEqual([]);
    vi.advanceTimersByTime(200); // 0.6 s after start: the 2 s delay less 1.5 s of start-up is over
    expect(dialled).toEqual(['10.0.0.2']);

    await peers.apply([peerIntent('10.0.0.2', { connectDelayTime: 2, connectRetryTime: 120 }), peerIntent('10.0.0.3', { connectDelayTime: 2, connectRetryTime: 120 })]);
    vi.advanceTimersByTime(1500);
    expect(dialled).toEqual(['10.0.0.2']);
    vi.advanceTimersByTime(600);
    expect(dialled).toEqual(['10.0.0.2', '10.0.0.3']);
  });
});
