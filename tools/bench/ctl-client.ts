/**
 * A BIRD control-socket client for benchmarks (BIRD and Petrel speak the same protocol): one
 * persistent connection, pipelined requests answered in order, replies complete at the first
 * `DDDD ` line. Also the parsers for the counters the cells poll.
 */
import { createConnection, type Socket } from 'node:net';
import { monoMs } from './clock.js';

export class CtlError extends Error {
  override readonly name = 'CtlError';
}

export interface CtlReply {
  readonly lines: string[];
  /** Code of the final line (0 for `0000`). */
  readonly code: number;
  readonly ms: number;
}

export class CtlClient {
  private buffer = '';
  private greeted = false;
  private readonly queue: Array<{ lines: string[]; started: number; resolve: (r: CtlReply) => void; reject: (e: Error) => void }> = [];
  private onGreeting?: () => void;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    const fail = (e: Error) => {
      for (const q of this.queue.splice(0)) q.reject(e);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new CtlError('control socket closed')));
  }

  static connect(path: string, timeoutMs = 5000): Promise<CtlClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new CtlError(`no greeting on ${path} after ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      const client = new CtlClient(sock);
      client.onGreeting = () => {
        clearTimeout(timer);
        resolve(client);
      };
    });
  }

  command(line: string): Promise<CtlReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ lines: [], started: monoMs(), resolve, reject });
      this.sock.write(`${line}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buffer += d;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!this.greeted) {
        if (line.startsWith('0001 ')) {
          this.greeted = true;
          this.onGreeting?.();
        }
        continue;
      }
      if (line.startsWith('+')) continue;
      const q = this.queue[0];
      if (!q) continue;
      q.lines.push(line);
      if (/^\d{4} /.test(line)) {
        this.queue.shift();
        q.resolve({ lines: q.lines, code: Number(line.slice(0, 4)), ms: monoMs() - q.started });
      }
    }
  }
}

/** Strips the `DDDD-`/`DDDD `/` ` prefix of a reply line. */
export function lineText(line: string): string {
  return /^\d{4}[- ]/.test(line) ? line.slice(5) : line.startsWith(' ') ? line.slice(1) : line;
}

/** `Routes: N imported, M exported` of a `show protocols all <name>` reply (first channel). */
export function parseImportedExported(lines: readonly string[]): { imported: number; exported: number } | undefined {
  for (const l of lines) {
    const m = /Routes:\s+(\d+) imported,(?: \d+ filtered,)? (\d+) exported/.exec(l);
    if (m) return { imported: Number(m[1]), exported: Number(m[2]) };
  }
  return undefined;
}

/** The first `N of M routes` (or `Total: N of M routes`) of a `show route count` reply. */
export function parseRouteCount(lines: readonly string[]): number | undefined {
  for (const l of lines) {
    const m = /(?:Total: )?(\d+) of (\d+) routes/.exec(l);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** `BGP state:` of a `show protocols all <name>` reply. */
export function parseBgpState(lines: readonly string[]): string | undefined {
  for (const l of lines) {
    const m = /BGP state:\s+(\S+)/.exec(l);
    if (m) return m[1];
  }
  return undefined;
}
