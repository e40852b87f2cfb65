/** Shared builders for session tests: peer intents with short timers, speakers on 127.0.0.x. */
import * as net from 'node:net';
import { BgpListener } from '../../daemon/listener.js';
import { silentLogger, type Logger } from '../../daemon/log.js';
import type { PeerIntent, PeerStatus } from '../../daemon/model.js';
import { PeerManager } from '../../daemon/peers.js';
import type { RouteEngine, SessionUp } from '../../daemon/session/engine.js';

export function peerIntent(peerIp: string, o: Partial<PeerIntent> = {}): PeerIntent {
  return {
    name: `Mesh_${peerIp.replace(/[.:]/g, '_')}`,
    kind: 'mesh',
    family: 4,
    peerIp,
    peerPort: 179,
    peerAs: 64512,
    localAs: 64512,
    passive: false,
    holdTime: 240,
    connectDelayTime: 0.05,
    connectRetryTime: 1,
    errorWaitTime: [0.2, 1],
    gracefulRestartTime: 120,
    keepOriginalNextHop: false,
    maxPrefixesAction: 'reset',
    rrClient: false,
    families: [4],
    ...o,
  };
}

/** A free TCP port on 127.0.0.1 (the same number is then used on other 127/8 addresses). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RecordingEngine implements RouteEngine {
  readonly ups: SessionUp[] = [];
  readonly downs: { peer: string; reason: string }[] = [];
  readonly updates: Uint8Array[] = [];
  peerUp(up: SessionUp): void {
    this.ups.push(up);
  }
  update(_peer: string, message: Uint8Array): void {
    this.updates.push(message);
  }
  peerDown(peer: string, reason: string): void {
    this.downs.push({ peer, reason });
  }
}

/** One in-process speaker: a listener on `addr:port` and a peer manager. */
export class Speaker {
  readonly engine = new RecordingEngine();
  readonly peers: PeerManager;
  readonly listener: BgpListener;

  constructor(readonly addr: string, readonly port: number, routerId = addr, log: Logger = silentLogger()) {
    this.peers = new PeerManager({ local: { routerId, hostname: `host-${addr}` }, engine: this.engine, log });
    this.listener = new BgpListener({ host: addr, port }, (s, src) => this.peers.route(s, src), log);
  }

  async start(peers: PeerIntent[]): Promise<void> {
    await this.listener.listen();
    await this.peers.apply(peers);
  }

  status(name: string): PeerStatus | undefined {
    return this.peers.statuses().find((s) => s.name === name);
  }

  async close(): Promise<void> {
    await this.peers.stopAll();
    await this.listener.close();
  }
}
