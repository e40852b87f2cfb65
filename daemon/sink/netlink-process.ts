/**
 * The netlink helper (native/petrel-netlink.c) as a long-lived child process: chunks of encoded
 * rtnetlink messages go in, the kernel's refusals come back per message (by nlmsg_seq), then a
 * per-chunk "done". It also resolves interface names to ifindexes and back, and runs dumps (the
 * start-up read of our routes: RTM_GETROUTE, answered with the kernel's messages), in the helper's
 * namespace.
 *
 * Like batch-process.ts: started on demand, answers matched in order, dropped when it dies (the
 * chunks it had not finished are reported as aborted), closed after an idle period, and never
 * keeping Node alive while idle. A helper that dies before it said "ready" (missing binary, no
 * netlink socket) is `unusable`; its chunks are reported `unstarted`, as nothing of them was sent.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildLease } from './child-lease.js';

/** Where the build puts the helper, seen from this module: bundled (dist/), compiled (dist/daemon/sink/), or the source tree. */
const CANDIDATES = ['petrel-netlink', '../../petrel-netlink', '../../dist/petrel-netlink'];

/**
 * The helper binary: $PETREL_NETLINK_HELPER, or the one `npm run build` compiled; undefined when
 * there is none (or this host is big-endian, which the encoder does not write).
 */
export function findNetlinkHelper(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (endianness() !== 'LE') return undefined;
  const here = dirname(fileURLToPath(import.meta.url));
  const paths = env['PETREL_NETLINK_HELPER'] ? [env['PETREL_NETLINK_HELPER']] : CANDIDATES.map((c) => join(here, c));
  for (const p of paths) {
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

export interface MessageFailure {
  readonly errno: number;
  /** Worded like iproute2 prints it: the kernel's message, or strerror(errno). */
  readonly reason: string;
}

export interface ChunkAnswer {
  /** nlmsg_seq of a refused message → why. */
  readonly errors: ReadonlyMap<number, MessageFailure>;
  /** Set when the helper could not finish the chunk: messages without an error are of unknown fate. */
  readonly aborted?: string;
  /** The helper never started: nothing of the chunk was sent. */
  readonly unstarted?: boolean;
}

export interface NetlinkProcessOptions {
  readonly helperPath: string;
  /** Prepended to the command (e.g. ['ip', 'netns', 'exec', 'ns1']). */
  readonly commandPrefix?: readonly string[];
  /** Work not answered within this long kills the helper (its chunks abort). */
  readonly timeoutMs?: number;
  /** Close the helper after this long without work; 120 s. */
  readonly idleMs?: number;
}

const IN_MESSAGES = 1;
const IN_IFNAME = 2;
const IN_DUMP = 3;
const IN_IFINDEX = 4;
const OUT_READY = 0;
const OUT_FAILED = 1;
const OUT_DONE = 2;
const OUT_IFINDEX = 3;
const OUT_FATAL = 4;
const OUT_MESSAGE = 5;
const OUT_IFNAME = 6;

export interface DumpAnswer {
  /** The netlink messages of the answer (copies). */
  readonly messages: readonly Buffer[];
  /** Set when the dump failed (the kernel's errno text, or the helper stopped): the messages are not all. */
  readonly failed?: string;
  /** The helper never started. */
  readonly unstarted?: boolean;
}

type Op =
  | { readonly kind: 'chunk'; readonly id: number; readonly errors: Map<number, MessageFailure>; readonly resolve: (a: ChunkAnswer) => void }
  | { readonly kind: 'lookup'; readonly id: number; readonly resolve: (ifindex: number | undefined) => void }
  | { readonly kind: 'name'; readonly id: number; readonly resolve: (name: string | null | undefined) => void }
  | { readonly kind: 'dump'; readonly id: number; readonly messages: Buffer[]; readonly resolve: (a: DumpAnswer) => void };

/** The reason text iproute2 would print: the extended-ACK message with a full stop, else strerror. */
function reasonOf(text: string): string {
  const nl = text.indexOf('\n');
  const strerror = nl < 0 ? text : text.slice(0, nl);
  const ext = nl < 0 ? '' : text.slice(nl + 1).trim();
  if (ext === '') return strerror;
  return ext.endsWith('.') ? ext : `${ext}.`;
}

export class NetlinkProcess {
  private readonly argv: readonly string[];
  private readonly timeoutMs: number;
  private child: ChildProcessWithoutNullStreams | undefined;
  private ready = false;
  private readonly ops: Op[] = [];
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private stderr = '';
  private readonly lease: ChildLease;
  /** Helpers started (for tests). */
  spawned = 0;
  /** Set when a helper died before it was ready: netlink cannot be used from here. */
  unusable: string | undefined;

  constructor(opts: NetlinkProcessOptions) {
    // Our pid: the helper dies with this process (and refuses to start if it is not its parent).
    this.argv = [...(opts.commandPrefix ?? []), opts.helperPath, String(process.pid)];
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.lease = new ChildLease(this.timeoutMs, opts.idleMs ?? 120_000, () => this.close());
  }

  /** Sends a chunk of encoded messages; resolves when the kernel has dealt with all of them. */
  run(messages: Buffer): Promise<ChunkAnswer> {
    const child = this.child ?? this.start();
    return new Promise<ChunkAnswer>((resolve) => {
      const id = this.nextId++ >>> 0;
      this.ops.push({ kind: 'chunk', id, errors: new Map(), resolve });
      this.send(child, IN_MESSAGES, id, messages);
    });
  }

  /** The ifindex of interface `name` in the helper's namespace: 0 when there is none, undefined when the helper failed. */
  lookup(name: string): Promise<number | undefined> {
    const child = this.child ?? this.start();
    return new Promise((resolve) => {
      const id = this.nextId++ >>> 0;
      this.ops.push({ kind: 'lookup', id, resolve });
      this.send(child, IN_IFNAME, id, Buffer.from(name));
    });
  }

  /** Whether the helper is running with nothing outstanding. */
  get idle(): boolean {
    return this.child !== undefined && this.ops.length === 0;
  }

  /** Whether a helper is running. */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** Sends one dump request (a complete netlink message); resolves with the answer's messages. */
  dump(request: Buffer): Promise<DumpAnswer> {
    const child = this.child ?? this.start();
    return new Promise((resolve) => {
      const id = this.nextId++ >>> 0;
      this.ops.push({ kind: 'dump', id, messages: [], resolve });
      this.send(child, IN_DUMP, id, request);
    });
  }

  /** The name of interface `index` in the helper's namespace: null when there is none, undefined when the helper failed. */
  indexName(index: number): Promise<string | null | undefined> {
    const child = this.child ?? this.start();
    return new Promise((resolve) => {
      const id = this.nextId++ >>> 0;
      this.ops.push({ kind: 'name', id, resolve });
      const b = Buffer.alloc(4);
      b.writeUInt32LE(index >>> 0, 0);
      this.send(child, IN_IFINDEX, id, b);
    });
  }

  /** Starts the helper now if it is not running, so the first chunk does not wait for a spawn. */
  warm(): void {
    if (this.child) return;
    this.start();
    this.busy();
  }

  /** Ends the helper (stdin EOF); chunks still running are reported as aborted when it exits. */
  close(): void {
    this.lease.stopIdle();
    this.child?.stdin.end();
  }

  private send(child: ChildProcessWithoutNullStreams, kind: number, id: number, payload: Buffer): void {
    const head = Buffer.allocUnsafe(12);
    head.writeUInt32LE(kind, 0);
    head.writeUInt32LE(id, 4);
    head.writeUInt32LE(payload.length, 8);
    this.busy();
    child.stdin.cork();
    child.stdin.write(head);
    child.stdin.write(payload);
    child.stdin.uncork();
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.argv[0]!, this.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.spawned++;
    this.child = child;
    this.ready = false;
    this.lease.started();
    this.pending = Buffer.alloc(0);
    this.stderr = '';
    child.stdout.on('data', (d: Buffer) => this.onOutput(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-2000)));
    // A helper that died closes its stdin: 'close' reports it, not an EPIPE throw.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => this.onExit(child, `cannot run ${this.argv.join(' ')}: ${e.message}`));
    child.on('close', (code, signal) => this.onExit(child, `exit ${signal ?? `code ${String(code)}`}`));
    return child;
  }

  private onOutput(data: Buffer): void {
    let buf = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let at = 0;
    while (buf.length - at >= 16) {
      const len = buf.readUInt32LE(at + 12);
      if (buf.length - at < 16 + len) break;
      const kind = buf.readUInt32LE(at);
      const id = buf.readUInt32LE(at + 4);
      const value = buf.readInt32LE(at + 8);
      if (kind === OUT_MESSAGE) {
        const op = this.ops[0];
        if (op?.kind === 'dump') op.messages.push(Buffer.from(buf.subarray(at + 16, at + 16 + len)));
        at += 16 + len;
        continue;
      }
      const text = len > 0 ? buf.toString('utf8', at + 16, at + 16 + len) : '';
      at += 16 + len;
      this.onRecord(kind, id, value, text);
    }
    buf = buf.subarray(at);
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private onRecord(kind: number, id: number, value: number, text: string): void {
    if (kind === OUT_READY) {
      this.ready = true;
      return;
    }
    if (kind === OUT_FATAL) {
      this.stderr = `${this.stderr}${text}\n`;
      return;
    }
    const op = this.ops[0];
    if (!op) return;
    if (kind === OUT_FAILED && op.kind === 'chunk') {
      op.errors.set(id, { errno: value, reason: reasonOf(text) });
      return;
    }
    if (kind === OUT_DONE && op.kind === 'chunk') {
      this.ops.shift();
      op.resolve(value === 0 ? { errors: op.errors } : { errors: op.errors, aborted: `netlink: ${text || `errno ${value}`}` });
    } else if (kind === OUT_DONE && op.kind === 'dump') {
      this.ops.shift();
      op.resolve(value === 0 ? { messages: op.messages } : { messages: op.messages, failed: `netlink dump: ${text || `errno ${value}`}` });
    } else if (kind === OUT_IFNAME && op.kind === 'name') {
      this.ops.shift();
      op.resolve(value === 0 && text !== '' ? text : null);
    } else if (kind === OUT_IFINDEX && op.kind === 'lookup') {
      this.ops.shift();
      op.resolve(value);
    }
    this.busy();
  }

  private onExit(child: ChildProcessWithoutNullStreams, how: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.lease.stop();
    const said = this.stderr.trim().split('\n').filter((l) => l !== '').join('; ');
    const reason = `netlink helper aborted (${how})${said !== '' ? `: ${said}` : ''}`;
    const unstarted = !this.ready;
    if (unstarted) this.unusable = reason;
    for (const op of this.ops.splice(0)) {
      if (op.kind === 'lookup' || op.kind === 'name') op.resolve(undefined);
      else if (op.kind === 'dump') op.resolve(unstarted ? { messages: op.messages, failed: reason, unstarted: true } : { messages: op.messages, failed: reason });
      else op.resolve(unstarted ? { errors: op.errors, aborted: reason, unstarted: true } : { errors: op.errors, aborted: reason });
    }
  }

  /** Arms the timeout while work is outstanding, the idle close otherwise; refs the process only while busy. */
  private busy(): void {
    if (this.child) this.lease.update(this.child, this.ops.length > 0, () => { this.stderr += `no answer within ${this.timeoutMs} ms\n`; });
  }

}
