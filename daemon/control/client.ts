/**
 * A minimal client of a BIRD control socket (Petrel's or a real BIRD's): connect, wait for the
 * greeting, send commands, collect each reply up to its final line. Raw bytes are kept so tests
 * can compare replies byte for byte.
 */
import net from 'node:net';
import { LineReader, type ParsedLine } from './framing.js';

export interface BirdReply {
  readonly lines: readonly ParsedLine[];
  /** Exactly the bytes of the reply (no greeting), LF line ends. */
  readonly raw: string;
}

export class BirdClientError extends Error {
  override readonly name = 'BirdClientError';
}

export class BirdClient {
  private readonly pending: ParsedLine[];
  private waiters: (() => void)[] = [];
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket, private readonly reader: LineReader, readonly greeting: ParsedLine, early: ParsedLine[]) {
    this.pending = early;
    socket.on('data', (chunk: string) => {
      try {
        this.pending.push(...this.reader.push(chunk));
      } catch (err) {
        this.closedError = err as Error;
      }
      this.wake();
    });
    const onEnd = (err?: Error) => {
      this.closedError ??= err ?? new BirdClientError('control socket closed');
      this.wake();
    };
    socket.on('error', onEnd);
    socket.on('close', () => onEnd());
  }

  static async connect(path: string, timeoutMs = 5000): Promise<BirdClient> {
    const socket = net.connect(path);
    socket.setEncoding('latin1');
    const reader = new LineReader();
    const early: ParsedLine[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { socket.destroy(); reject(new BirdClientError(`no greeting from ${path}`)); }, timeoutMs);
      const onData = (chunk: string) => {
        early.push(...reader.push(chunk));
        if (early.length > 0) { clearTimeout(timer); socket.off('data', onData); socket.off('error', onError); resolve(); }
      };
      const onError = (err: Error) => { clearTimeout(timer); reject(err); };
      socket.on('data', onData);
      socket.once('error', onError);
    });
    const greeting = early.shift()!;
    return new BirdClient(socket, reader, greeting, early);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Sends raw bytes (one or several command lines, or a partial line). */
  write(text: string): void {
    this.socket.write(text);
  }

  /** Reads the next complete reply. */
  async readReply(timeoutMs = 10_000): Promise<BirdReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.pending.findIndex((l) => l.final);
      if (end >= 0) {
        const lines = this.pending.splice(0, end + 1);
        return { lines, raw: lines.map((l) => l.raw + '\n').join('') };
      }
      if (this.closedError) throw this.closedError;
      const left = deadline - Date.now();
      if (left <= 0) throw new BirdClientError('timed out waiting for a reply');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Sends one command and returns its reply. */
  async command(cmd: string, timeoutMs?: number): Promise<BirdReply> {
    this.write(cmd + '\n');
    return this.readReply(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}
