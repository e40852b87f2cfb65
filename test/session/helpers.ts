/** Shared builders for session tests: peer intents with short timers, speakers on 127.0.0.x. */
import * as net from 'node:net';
import { MessageFramer } from '../../proto/framer.js';
import { encodeOpen } from '../../proto/open.js';
import type { Capability } from '../../proto/capabilities.js';
import { keepaliveBytes } from '../../daemon/session/wire.js';
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

  constructor(readonly addr: string, readonly port: number, routerId = addr, log: Logger = silentLogger(), engine?: RouteEngine) {
    this.peers = new PeerManager({ local: { routerId, hostname: `host-${addr}` }, engine: engine ?? this.engine, log });
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

/** Lets real socket I/O run while setTimeout is faked. */
export async function until(what: string, cond: () => boolean, rounds = 2000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`not reached: ${what}`);
}

/** A hand-driven peer: connects from `from` and records every message it receives. */
export class ScriptedPeer {
  readonly received: Uint8Array[] = [];
  private readonly framer = new MessageFramer();
  closed = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (c) => {
      this.framer.push(c);
      for (let m = this.framer.next(); m; m = this.framer.next()) this.received.push(m);
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }
  static connect(to: string, port: number, from: string): Promise<ScriptedPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: to, port, localAddress: from }, () => resolve(new ScriptedPeer(s)));
      s.once('error', reject);
    });
  }
  types(): number[] {
    return this.received.map((m) => m[18] ?? 0);
  }
  sendOpen(holdTime: number, asn = 64512, bgpId = '10.9.9.9', extra: Capability[] = []): void {
    this.socket.write(encodeOpen({ version: 4, myAs: asn, holdTime, bgpId, capabilities: [{ kind: 'as4', asn }, ...extra] }));
  }
  sendKeepalive(): void {
    this.socket.write(keepaliveBytes());
  }
}


/** Accepts connections on addr:port and wraps each as a ScriptedPeer. */
export async function scriptedServer(addr: string, port: number): Promise<{ peers: ScriptedPeer[]; close: () => Promise<void> }> {
  const peers: ScriptedPeer[] = [];
  const server = net.createServer((s) => peers.push(new ScriptedPeer(s)));
  await new Promise<void>((r) => server.listen(port, addr, r));
  return {
    peers,
    close: () =>
      new Promise<void>((r) => {
        for (const p of peers) p.socket.destroy();
        server.close(() => r());
      }),
  };
}
