/**
 * A minimal BGP peer for benchmarks: it opens (or accepts) one TCP session, does the OPEN/KEEPALIVE
 * handshake, keeps the session alive, can write a pre-encoded table, and counts the distinct IPv4
 * prefixes the other side has announced (announce/withdraw tracked, so re-sends are not recounted).
 */
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { ChunkFramer, MsgType, benchOpen, encodeKeepalive, walkUpdate, type OpenParams } from './wire.js';
import { TABLE_BASE } from './table.js';
import { monoMs } from './clock.js';

export class BenchPeerError extends Error {
  override readonly name = 'BenchPeerError';
}

/** Distinct-prefix counter: a bitmap over the synthetic /24 space, a Set for anything else. */
export class PrefixCounter {
  private readonly bits = new Uint8Array((1 << 20) / 8);
  private readonly others = new Set<number>();
  count = 0;

  apply(addr: number, len: number, announce: boolean): void {
    const idx = (addr - TABLE_BASE) / 256;
    if (len === 24 && idx >= 0 && idx < 1 << 20) {
      const byte = idx >>> 3;
      const bit = 1 << (idx & 7);
      const had = (this.bits[byte]! & bit) !== 0;
      if (announce && !had) {
        this.bits[byte]! |= bit;
        this.count++;
      } else if (!announce && had) {
        this.bits[byte]! &= ~bit;
        this.count--;
      }
      return;
    }
    const key = addr * 64 + len;
    if (announce && !this.others.has(key)) {
      this.others.add(key);
      this.count++;
    } else if (!announce && this.others.delete(key)) {
      this.count--;
    }
  }

  /** Prefixes outside the synthetic table (e.g. mesh blocks), as "a.b.c.d/len". */
  otherPrefixes(): number[] {
    return [...this.others];
  }
}

export interface BenchPeerOptions extends OpenParams {
  readonly host: string;
  readonly port?: number;
  readonly localAddress?: string;
  /** Give up connecting after this long (ms). */
  readonly connectTimeoutMs?: number;
}

export interface BenchPeerEvents {
  established: [atMs: number];
  /** Emitted after each UPDATE that changed the count. */
  count: [count: number, atMs: number];
  endOfRib: [atMs: number];
  closed: [reason: string];
}

/**
 * One session. Emits 'established', 'count', 'endOfRib', 'closed'. The counter tracks what the
 * remote speaker announces; `lastChangeMs` is when the count last moved.
 */
export class BenchPeer extends EventEmitter<BenchPeerEvents> {
  readonly counter = new PrefixCounter();
  establishedMs = 0;
  lastChangeMs = 0;
  updatesReceived = 0;
  endOfRibMs = 0;
  private socket?: Socket;
  private keepalive?: NodeJS.Timeout;
  private state: 'idle' | 'opensent' | 'openconfirm' | 'established' | 'closed' = 'idle';
  private readonly framer = new ChunkFramer();
  private sawEndOfRib = false;
  private readonly onPrefix = (addr: number, len: number, announce: boolean) => this.counter.apply(addr, len, announce);

  constructor(private readonly opts: BenchPeerOptions) {
    super();
  }

  /** Connects (retrying refused connections until connectTimeoutMs) and resolves once Established. */
  async start(): Promise<number> {
    const deadline = Date.now() + (this.opts.connectTimeoutMs ?? 30_000);
    for (;;) {
      try {
        const sock = await this.dial();
        return await this.handshake(sock);
      } catch (e) {
        if (Date.now() > deadline) throw new BenchPeerError(`session to ${this.opts.host} not established: ${(e as Error).message}`);
        this.state = 'idle';
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Runs the handshake on an accepted socket (null-receiver side). */
  accept(sock: Socket): Promise<number> {
    return this.handshake(sock);
  }

  private dial(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: this.opts.host, port: this.opts.port ?? 179, ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}) });
      const fail = (e: Error) => {
        sock.destroy();
        reject(e);
      };
      sock.once('error', fail);
      sock.once('connect', () => {
        sock.off('error', fail);
        resolve(sock);
      });
    });
  }

  private handshake(sock: Socket): Promise<number> {
    this.socket = sock;
    sock.setNoDelay(true);
    return new Promise((resolve, reject) => {
      const onClose = (why: string) => {
        const wasUp = this.state === 'established';
        this.state = 'closed';
        clearInterval(this.keepalive);
        if (!wasUp) reject(new BenchPeerError(why));
        this.emit('closed', why);
      };
      sock.on('error', (e) => onClose(e.message));
      sock.on('close', () => onClose('connection closed'));
      sock.on('data', (chunk: Buffer) => {
        const before = this.counter.count;
        try {
          this.framer.push(chunk, (type, msg, end) => this.onMessage(type, msg, end, resolve));
        } catch (e) {
          sock.destroy();
          onClose((e as Error).message);
          return;
        }
        // One timestamp and one event per TCP chunk, not per UPDATE: the receiver must stay cheap.
        if (this.counter.count !== before || this.sawEndOfRib) {
          const now = monoMs();
          if (this.counter.count !== before) {
            this.lastChangeMs = now;
            this.emit('count', this.counter.count, now);
          }
          if (this.sawEndOfRib && this.endOfRibMs === 0) {
            this.endOfRibMs = now;
            this.emit('endOfRib', now);
          }
        }
      });
      sock.write(benchOpen(this.opts));
      this.state = 'opensent';
    });
  }

  private onMessage(type: number, msg: Uint8Array, end: number, resolve: (ms: number) => void): void {
    switch (type) {
      case MsgType.OPEN: {
        const hold = (msg[22]! << 8) | msg[23]!;
        const negotiated = Math.min(hold, this.opts.holdTime);
        this.socket!.write(encodeKeepalive());
        if (negotiated > 0) this.keepalive = setInterval(() => this.socket?.write(encodeKeepalive()), (negotiated * 1000) / 3);
        this.state = 'openconfirm';
        return;
      }
      case MsgType.KEEPALIVE:
        if (this.state === 'openconfirm') {
          this.state = 'established';
          this.establishedMs = monoMs();
          this.emit('established', this.establishedMs);
          resolve(this.establishedMs);
        }
        return;
      case MsgType.UPDATE: {
        this.updatesReceived++;
        if (walkUpdate(msg, 19, end, this.onPrefix)) this.sawEndOfRib = true;
        return;
      }
      case MsgType.NOTIFICATION:
        this.socket?.destroy(new BenchPeerError(`NOTIFICATION ${msg[19]}/${msg[20]}`));
        return;
      default:
        return;
    }
  }

  /** Writes pre-encoded bytes, honouring backpressure; resolves when the kernel took the last one. */
  async write(chunks: readonly Uint8Array[]): Promise<void> {
    const sock = this.socket;
    if (!sock || this.state !== 'established') throw new BenchPeerError('session not established');
    for (const c of chunks) {
      if (!sock.write(c)) await new Promise<void>((r, j) => {
        const onErr = (e: Error) => j(e);
        sock.once('error', onErr);
        sock.once('drain', () => {
          sock.off('error', onErr);
          r();
        });
      });
    }
  }

  /** Resolves when the count reaches `n` (or rejects after timeoutMs / on close). */
  waitForCount(n: number, timeoutMs: number): Promise<number> {
    if (this.counter.count >= n) return Promise.resolve(this.lastChangeMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new BenchPeerError(`count ${this.counter.count} < ${n} after ${timeoutMs} ms`)), timeoutMs);
      const onCount = (c: number, at: number) => {
        if (c >= n) done(undefined, at);
      };
      const onClosed = (why: string) => done(new BenchPeerError(`closed before count ${n}: ${why}`));
      const done = (err?: Error, at?: number) => {
        clearTimeout(timer);
        this.off('count', onCount);
        this.off('closed', onClosed);
        if (err) reject(err);
        else resolve(at!);
      };
      this.on('count', onCount);
      this.on('closed', onClosed);
    });
  }

  close(): void {
    clearInterval(this.keepalive);
    this.state = 'closed';
    this.socket?.destroy();
  }
}
