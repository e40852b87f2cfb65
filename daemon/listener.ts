/**
 * The one BGP listening socket all peers share. Each accepted connection is offered to a router
 * (the peer manager) by source address; connections nobody claims are refused with Cease 6/5
 * (Connection rejected) and logged with their source, without touching any session.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from './log.js';
import { notificationBytes } from './session/wire.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Offers an accepted socket to its peer; returns 'unknown' when no peer has that address. */
export type ConnectionRouter = (socket: Socket, source: string) => 'accepted' | 'refused' | 'unknown';

/** Parses `addr:port`, `[v6]:port`, `addr` or `:port` (defaults 0.0.0.0 and 179). */
export function parseListen(text: string, defaultPort = 179): ListenAddress {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) return { host: bracket[1] as string, port: bracket[2] ? Number(bracket[2]) : defaultPort };
  const colons = text.split(':').length - 1;
  if (colons > 1) return { host: text, port: defaultPort }; // bare IPv6
  const [host, port] = text.split(':');
  const p = port === undefined || port === '' ? defaultPort : Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`invalid listen port in '${text}'`);
  return { host: host || '0.0.0.0', port: p };
}

export function stripV4Mapped(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** How long a listen address may be missing (IPv6 DAD takes about a second) before start-up fails. */
const ADDRESS_WAIT_MS = 10_000;

export class BgpListener {
  private readonly server: Server;

  constructor(
    private readonly address: ListenAddress,
    private readonly route: ConnectionRouter,
    private readonly log: Logger,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  /**
   * Binds and listens; resolves with the bound address (port 0 picks a free one). An address the
   * host does not have yet (EADDRNOTAVAIL: an IPv6 node address still in duplicate address
   * detection, or added a moment after the daemon starts) is retried for `addressWaitMs` before
   * giving up.
   */
  async listen(addressWaitMs = ADDRESS_WAIT_MS): Promise<ListenAddress> {
    const deadline = Date.now() + addressWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.bindOnce();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || Date.now() >= deadline) throw e;
        if (attempt === 0) this.log.warn({ host: this.address.host, port: this.address.port, waitMs: addressWaitMs }, 'listen address not on this host yet; retrying');
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private bindOnce(): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.address.host, port: this.address.port, exclusive: true }, () => {
        this.server.off('error', reject);
        this.server.on('error', (e) => this.log.error({ err: e }, 'listener error'));
        const a = this.server.address() as AddressInfo;
        this.log.info({ host: a.address, port: a.port }, 'listening for BGP');
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting; established connections are not touched. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => {}); // a refused socket may still report ECONNRESET
    this.offer(socket, stripV4Mapped(socket.remoteAddress ?? ''));
  }

  /** Hands an accepted socket to the router; one nobody claims gets Cease 6/5. */
  offer(socket: Socket, source: string): void {
    const verdict = this.route(socket, source);
    if (verdict !== 'unknown') return;
    this.log.warn({ source, sourcePort: socket.remotePort }, 'connection from an unconfigured address refused');
    socket.end(notificationBytes(6, 5));
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

/**
 * Several listening sockets with one accept path: one per node address under bindMode NodeIP
 * (Calico's bird and bird6 each listen on the node address of their family), or one per
 * `--listen`. Every socket hands its connections to the same router.
 */
export class BgpListeners {
  private readonly listeners: BgpListener[];
  /** Connections accepted while holding, in arrival order (see `hold`). */
  private held: { socket: Socket; source: string; listener: BgpListener }[] | undefined;

  /**
   * With `hold`, connections accepted before `release()` wait (their OPEN stays unread in the
   * socket) instead of being routed: the daemon listens as soon as it can at start, before its
   * peers exist, and a peer dialling in that moment is answered once they do rather than refused
   * (a refused peer would only dial again after its connect delay or error wait).
   */
  constructor(
    readonly addresses: readonly ListenAddress[],
    route: ConnectionRouter,
    log: Logger,
    opts: { hold?: boolean } = {},
  ) {
    if (addresses.length === 0) throw new Error('no BGP listen address');
    if (opts.hold) this.held = [];
    this.listeners = addresses.map((a) => {
      const l: BgpListener = new BgpListener(a, (socket, source) => {
        if (!this.held) return route(socket, source);
        this.held.push({ socket, source, listener: l });
        return 'accepted';
      }, log);
      return l;
    });
  }

  /** Stops holding: the connections held so far are routed now, in arrival order. Idempotent. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const h of held) if (!h.socket.destroyed) h.listener.offer(h.socket, h.source);
  }

  /** Binds every address (in order); if one fails, closes those already bound and rejects. */
  async listen(): Promise<ListenAddress[]> {
    const bound: ListenAddress[] = [];
    for (const l of this.listeners) {
      try {
        bound.push(await l.listen());
      } catch (e) {
        await this.close();
        throw e;
      }
    }
    return bound;
  }

  close(): Promise<void> {
    for (const h of this.held ?? []) h.socket.destroy();
    if (this.held) this.held = [];
    return Promise.all(this.listeners.map((l) => l.close())).then(() => undefined);
  }
}

/** `--listen` values: the option may be repeated and each value may be a comma-separated list. */
export function parseListenList(texts: string | readonly string[], defaultPort = 179): ListenAddress[] {
  const all = (typeof texts === 'string' ? [texts] : texts).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  const out = all.map((t) => parseListen(t, defaultPort));
  const seen = new Set<string>();
  for (const a of out) {
    const key = `${a.host}|${a.port}`;
    if (seen.has(key)) throw new Error(`listen address ${a.host} port ${a.port} given twice`);
    seen.add(key);
  }
  return out;
}
