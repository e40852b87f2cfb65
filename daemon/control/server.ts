/**
 * ControlServer: BIRD's control socket over a unix stream socket.
 *  - Never steals a live socket: an existing path is probed by connecting; a refused connection
 *    means a stale file from a crash (replaced), an accepted one means another daemon (refused).
 *  - Each connection is a ClientSession with its own request queue and output bound: replies
 *    are generated lazily and only while the client's kernel/user-space buffer is below the
 *    high-water mark, so a client that stops reading stalls only itself.
 */
import { EventEmitter } from 'node:events';
import * as fs from '../../config/fs-async.js';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Family } from '../model.js';
import type { ControlBackend } from './backend.js';
import { execute, type CommandContext, type SessionState } from './commands.js';
import { greeting } from './format-misc.js';
import { finalLine, LineFramer, type Dialect, type ReplyLine } from './framing.js';

export interface ControlServerOptions {
  /** Socket path; default /var/run/calico/bird.ctl. */
  readonly path?: string;
  readonly backend: ControlBackend;
  /** 'bird1' (Calico's BIRD 1.6 fork layout, what calicoctl parses; default) or 'bird2'. */
  readonly dialect?: Dialect;
  /** Address families this socket shows; default bird1: [4], bird2: [4, 6]. */
  readonly families?: readonly Family[];
  /** File mode of the socket; default 0o660. */
  readonly mode?: number;
  /** Group owning the socket (name or gid); default: unchanged. */
  readonly group?: string | number;
  /** Concurrent connections; further ones are told so and closed. Default 64. */
  readonly maxClients?: number;
  /** Longest request line in bytes (BIRD: 4094); longer lines get `9000 Command too long`. */
  readonly maxLineLength?: number;
  /** Requests queued per client before the server stops reading from it. Default 32. */
  readonly maxPendingCommands?: number;
  /** Bytes buffered per client before reply generation waits for the client. Default 64 KiB. */
  readonly highWaterMark?: number;
  /** Version text in the greeting and `show status`; default per dialect. */
  readonly version?: string;
  /** Clock for `since` and status times (tests pin it). */
  readonly now?: () => Date;
}

export type ControlSocketErrorKind = 'in-use' | 'not-a-socket' | 'listen-failed';

export class ControlSocketError extends Error {
  constructor(readonly kind: ControlSocketErrorKind, message: string) {
    super(message);
    this.name = 'ControlSocketError';
  }
}

/** Lines framed per socket write, and per turn of the event loop. */
const LINES_PER_WRITE = 256;
const WRITES_PER_TURN = 8;

/** True when something accepts connections on the unix socket at `p`. */
export function probeSocket(p: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(p);
    const done = (alive: boolean) => { clearTimeout(timer); s.destroy(); resolve(alive); };
    const timer = setTimeout(() => done(true), timeoutMs); // a hung listener is still a listener
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function resolveGid(group: string | number): Promise<number> {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  const text = await fs.readFile('/etc/group', 'utf8');
  for (const l of text.split('\n')) {
    const [name, , gid] = l.split(':');
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new ControlSocketError('listen-failed', `unknown group '${group}' for the control socket`);
}

/** Removes a stale socket file, refusing live sockets and non-sockets. */
async function clearPath(p: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new ControlSocketError('not-a-socket', `refusing to replace ${p}: it exists and is not a socket`);
  if (await probeSocket(p)) throw new ControlSocketError('in-use', `another daemon is listening on ${p}`);
  await fs.unlink(p).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
}

export class ControlServer extends EventEmitter {
  readonly path: string;
  readonly dialect: Dialect;
  private readonly server: Server;
  private readonly sessions = new Set<ClientSession>();
  private readonly ctx: CommandContext;
  private inode: number | undefined;
  private closed = false;

  private constructor(private readonly opts: ControlServerOptions) {
    super();
    this.path = opts.path ?? '/var/run/calico/bird.ctl';
    this.dialect = opts.dialect ?? 'bird1';
    this.ctx = {
      backend: opts.backend,
      dialect: this.dialect,
      families: opts.families ?? (this.dialect === 'bird1' ? [4] : [4, 6]),
      now: opts.now ?? (() => new Date()),
      ...(opts.version !== undefined ? { version: opts.version } : {}),
    };
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Creates the socket (replacing a stale one) and starts serving. */
  static async start(opts: ControlServerOptions): Promise<ControlServer> {
    const s = new ControlServer(opts);
    await s.listen();
    return s;
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  private async listen(): Promise<void> {
    await fs.mkdir(dirname(this.path), { recursive: true });
    await clearPath(this.path);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(err.code === 'EADDRINUSE'
          ? new ControlSocketError('in-use', `another daemon is listening on ${this.path}`)
          : new ControlSocketError('listen-failed', `cannot listen on ${this.path}: ${err.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.path, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    // Only report errors someone listens for: an unhandled 'error' event would crash the daemon.
    this.server.on('error', (err) => { if (this.listenerCount('error') > 0) this.emit('error', err); });
    await fs.chmod(this.path, this.opts.mode ?? 0o660);
    if (this.opts.group !== undefined) await fs.chown(this.path, -1, await resolveGid(this.opts.group));
    this.inode = (await fs.lstat(this.path)).ino;
  }

  private accept(socket: Socket): void {
    if (this.closed || this.sessions.size >= (this.opts.maxClients ?? 64)) {
      socket.end('8000 Too many control connections\n');
      socket.on('error', () => socket.destroy());
      return;
    }
    const session = new ClientSession(socket, this.ctx, {
      maxLineLength: this.opts.maxLineLength ?? 4094,
      maxPending: this.opts.maxPendingCommands ?? 32,
      highWaterMark: this.opts.highWaterMark ?? 64 * 1024,
    });
    this.sessions.add(session);
    socket.once('close', () => this.sessions.delete(session));
    session.start(greeting(this.dialect, this.opts.version));
  }

  /** Stops listening, drops every client and removes the socket file (if it is still ours). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.destroy();
    await stopped;
    try {
      const st = await fs.lstat(this.path);
      if (st.isSocket() && st.ino === this.inode) await fs.unlink(this.path);
    } catch {
      // already gone
    }
  }
}

interface SessionLimits {
  readonly maxLineLength: number;
  readonly maxPending: number;
  readonly highWaterMark: number;
}

const TOO_LONG = Symbol('too-long');

function internalError(err: unknown): ReplyLine {
  return finalLine(8000, `Internal error: ${err instanceof Error ? err.message : String(err)}`);
}

/** One connection: reads request lines, answers them strictly in order. */
class ClientSession {
  private readonly framer: LineFramer;
  private readonly state: SessionState = { restricted: false };
  private readonly queue: (string | typeof TOO_LONG)[] = [];
  private partial = '';
  private discarding = false;
  private busy = false;
  private ended = false;

  constructor(private readonly socket: Socket, private readonly ctx: CommandContext, private readonly limits: SessionLimits) {
    this.framer = new LineFramer(ctx.dialect);
  }

  start(greetingText: string): void {
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => this.onData(chunk));
    this.socket.on('error', () => this.destroy());
    this.socket.on('close', () => { this.ended = true; });
    this.socket.write(greetingText);
  }

  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = chunk.slice(start, nl < 0 ? undefined : nl);
      if (!this.discarding) {
        this.partial += piece;
        if (this.partial.replace(/\r/g, '').length > this.limits.maxLineLength) {
          this.partial = '';
          this.discarding = true;
        }
      }
      if (nl < 0) break;
      this.queue.push(this.discarding ? TOO_LONG : this.partial.replace(/\r/g, ''));
      this.partial = '';
      this.discarding = false;
      start = nl + 1;
    }
    if (this.queue.length >= this.limits.maxPending) this.socket.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.ended) {
        const request = this.queue.shift()!;
        if (this.queue.length < this.limits.maxPending && this.socket.isPaused()) this.socket.resume();
        if (request === TOO_LONG) {
          await this.send([finalLine(9000, 'Command too long')]);
          continue;
        }
        const reply = execute(request, this.ctx, this.state);
        let lines: Iterable<ReplyLine>;
        try {
          lines = await reply.lines;
        } catch (err) {
          lines = [internalError(err)];
        }
        await this.send(lines);
        if (reply.closeAfter) {
          this.ended = true;
          this.socket.end(() => reply.after?.());
          return;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Frames and writes lines in batches, waiting whenever the client is behind. */
  private async send(lines: Iterable<ReplyLine>): Promise<void> {
    let batch = '';
    let count = 0;
    let writes = 0;
    try {
      for (const l of lines) {
        if (this.ended) return;
        batch += this.framer.frame(l);
        if (++count < LINES_PER_WRITE) continue;
        this.socket.write(batch);
        batch = '';
        count = 0;
        if (this.socket.writableLength > this.limits.highWaterMark) await this.drained();
        else if (++writes % WRITES_PER_TURN === 0) await new Promise<void>((r) => setImmediate(r));
      }
    } catch (err) {
      // The backend failed mid-reply: lines already sent cannot be taken back, so end the reply
      // with an error line and keep the connection usable.
      batch += this.framer.frame(internalError(err));
    }
    if (batch && !this.ended) this.socket.write(batch);
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
