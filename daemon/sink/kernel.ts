/**
 * The kernel RouteSink: programs the routing table of the network namespace it runs in. Routes
 * carry `proto bird` like Calico's BIRD, so `ip route` output, Felix and people see what they
 * expect. Failures come back per route with the kernel's reason; nothing throws.
 *
 * Two ways to the kernel, the same routes and the same failure wording:
 * - netlink (the default when the build produced it): routes encoded here as rtnetlink messages
 *   (rtnetlink.ts) and written by a small C helper (native/petrel-netlink.c, netlink-process.ts),
 *   hundreds per sendmsg with one ACK each. Node cannot open netlink sockets itself.
 * - iproute2: one long-lived `ip -force -batch -` (batch-process.ts) fed text lines. Used when the
 *   helper is missing or cannot start, for protocol or table names only iproute2 knows, or when
 *   asked (`impl: 'ip'`, or PETREL_KERNEL_SINK=ip).
 * The start-up dump reads through the helper too (an RTM_GETROUTE dump decoded here, one process
 * fork less per family than `ip -json route show`), and through `ip -json` when it cannot.
 *
 * The command prefix is injectable: tests run the sink against a namespace with
 * `commandPrefix: ['ip', 'netns', 'exec', ns]`.
 */
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { RouteSink, SinkResult, SinkRoute } from '../model.js';
import { constants as osConstants } from 'node:os';
import { IpBatchProcess, type BatchAnswer } from './batch-process.js';
import { deleteLine, isAlreadyGone, optionsInvalidReason, parseRouteDump, replaceLine, routeInvalidReason, type LineOptions } from './iproute.js';
import { findNetlinkHelper, NetlinkProcess, type ChunkAnswer } from './netlink-process.js';
import { plainSinkRoute } from './route.js';
import { decodeRouteMessage, MAX_MESSAGE_BYTES, MessageWriter, protocolNumber, routeDumpRequest, tableNumber, type RouteTarget } from './rtnetlink.js';

/** How routes reach the kernel: the netlink helper, iproute2, or the helper when it can (auto). */
export type KernelSinkImpl = 'auto' | 'netlink' | 'ip';

const { ESRCH, ENOENT, ENODEV } = osConstants.errno;

export interface KernelSinkOptions {
  /** Prepended to every command (e.g. ['ip', 'netns', 'exec', 'ns1']). */
  readonly commandPrefix?: readonly string[];
  /** The iproute2 binary; 'ip'. */
  readonly ipCommand?: string;
  /** Protocol tag of our routes; Calico's 'bird' (12). */
  readonly protocol?: string;
  /** Routing table; the main table when unset. */
  readonly table?: number | string;
  readonly log?: Logger;
  /** Per `ip` run, and per batch. */
  readonly timeoutMs?: number;
  /** Close the batch process after this long without work; 120 s. */
  readonly idleMs?: number;
  /** Routes per submission to ip or to the netlink helper: the first goes out while the next is being written; 2000. */
  readonly chunkLines?: number;
  /**
   * ip -batch processes fed side by side (the iproute2 path only); 1. Each prefix always goes to the same one, so the changes
   * of one prefix stay in order (a removal before the replacement that follows it).
   */
  readonly processes?: number;
  /** Which way to the kernel; $PETREL_KERNEL_SINK, else 'auto'. */
  readonly impl?: KernelSinkImpl;
  /** The netlink helper binary; found next to the build when unset (netlink-process.ts). */
  readonly helperPath?: string;
}

/** The implementation asked for by options or environment. */
function implOf(opts: KernelSinkOptions): KernelSinkImpl {
  const v = opts.impl ?? process.env['PETREL_KERNEL_SINK'];
  return v === 'netlink' || v === 'ip' ? v : 'auto';
}

/** Lines on their way to one batch process. */
interface Lane {
  readonly batch: IpBatchProcess;
  lines: string[];
  routes: SinkRoute[];
  /** The first `removes` lines are deletions. */
  removes: number;
}

/** A cheap, stable spread of prefixes over lanes. */
function laneOf(prefix: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0;
  for (let i = 0; i < prefix.length; i++) h = (h * 31 + prefix.charCodeAt(i)) | 0;
  return (h >>> 0) % lanes;
}

/**
 * Routes per call of an encode loop. In short runs V8 optimises the loop once, as a function; a
 * run through a whole first batch (1,000 routes) had it compiled on the stack (OSR) and then
 * again for the next call.
 */
const ENCODE_RUN = 256;

type Changes = { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] };

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly spawnError?: string;
}

export class KernelSink implements RouteSink {
  private readonly prefix: readonly string[];
  private readonly ip: string;
  private readonly lineOpts: LineOptions;
  private readonly log: Logger | undefined;
  private readonly timeoutMs: number;
  private readonly lanes: Lane[];
  private readonly chunkLines: number;
  /** Number of batches applied (for tests of batching). */
  batches = 0;
  /** The netlink helper, when routes go that way (undefined: iproute2 only). */
  private readonly netlink: NetlinkProcess | undefined;
  /** Why netlink is not used (asked for ip, no helper, a name only ip knows), for logs and tests. */
  readonly netlinkOff: string | undefined;
  private readonly forced: boolean;
  private readonly target: RouteTarget | undefined;
  private readonly writer: MessageWriter;
  private seq = 0;
  /** The routes of the chunk being written (netlink), its first sequence number and how many of it are removals (they come first). */
  private readonly chunk: SinkRoute[] = [];
  private chunkFirstSeq = 0;
  private chunkRemoves = 0;
  /** What is wrong with the protocol or table every route is written with (they never change). */
  private readonly badOptions: string | undefined;
  /** Interface name → ifindex, in the sink's namespace (names that exist; refreshed on ENODEV). */
  private readonly ifindex = new Map<string, number>();
  /** warm() was called: the helper is meant to stay. */
  private warmed = false;
  /** Set while an apply waits for interface names: later applies queue behind it, keeping call order. */
  private gate: Promise<void> | undefined;

  constructor(opts: KernelSinkOptions = {}) {
    this.prefix = opts.commandPrefix ?? [];
    this.ip = opts.ipCommand ?? 'ip';
    this.lineOpts = { protocol: opts.protocol ?? 'bird', ...(opts.table !== undefined ? { table: opts.table } : {}) };
    this.badOptions = optionsInvalidReason(this.lineOpts);
    this.log = opts.log;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.chunkLines = Math.max(1, opts.chunkLines ?? 2000);
    // Room for a full chunk of the largest messages: growing the buffer mid-chunk is a copy, and
    // a branch first taken after the encoder was optimised (a deopt).
    this.writer = new MessageWriter(Math.max(1 << 16, this.chunkLines * MAX_MESSAGE_BYTES));
    const batchOpts = { commandPrefix: this.prefix, ipCommand: this.ip, timeoutMs: this.timeoutMs, ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}) };
    this.lanes = Array.from({ length: Math.max(1, opts.processes ?? 1) }, () => ({ batch: new IpBatchProcess(batchOpts), lines: [], routes: [], removes: 0 }));
    const impl = implOf(opts);
    this.forced = impl === 'netlink';
    const protocol = protocolNumber(this.lineOpts.protocol);
    const table = tableNumber(this.lineOpts.table);
    const helperPath = opts.helperPath ?? findNetlinkHelper();
    let off: string | undefined;
    if (impl === 'ip') off = 'iproute2 asked for';
    else if (helperPath === undefined) off = 'no netlink helper (petrel-netlink) was built';
    else if (protocol === undefined) off = `protocol '${this.lineOpts.protocol}' is known only to iproute2`;
    else if (table === undefined) off = `table '${String(this.lineOpts.table)}' is known only to iproute2`;
    this.netlinkOff = off;
    if (off === undefined && helperPath !== undefined && protocol !== undefined && table !== undefined) {
      this.target = { protocol, table };
      this.netlink = new NetlinkProcess({ helperPath, commandPrefix: this.prefix, timeoutMs: this.timeoutMs, ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}) });
    } else if (this.forced) this.log?.warn({ reason: off }, 'netlink kernel sink unavailable: using ip -batch');
    else this.log?.info({ reason: off }, 'kernel routes go through ip -batch');
  }

  /** `ip` processes started for batches so far. */
  get processesStarted(): number {
    return this.lanes.reduce((n, l) => n + l.batch.spawned, 0);
  }

  /** Netlink helpers started so far. */
  get helpersStarted(): number {
    return this.netlink?.spawned ?? 0;
  }

  /** Whether a netlink helper is running now. */
  get helperRunning(): boolean {
    return this.netlink?.running ?? false;
  }

  /** Whether the next apply goes through the netlink helper. */
  get usesNetlink(): boolean {
    return this.netlink !== undefined && (this.forced || this.netlink.unusable === undefined);
  }

  /**
   * Starts the batch processes now (the daemon calls this at start-up), so the first routes learned
   * do not wait for a spawn: a fork of the whole Node process plus ip's start, tens of ms under load.
   */
  warm(): void {
    this.warmed = true;
    if (this.usesNetlink) this.netlink!.warm();
    else for (const l of this.lanes) l.batch.warm();
  }

  /** Lets the helper or batch processes go (they also go by themselves when idle, and never keep Node alive while idle). */
  close(): void {
    this.netlink?.close();
    for (const l of this.lanes) l.batch.close();
  }

  /**
   * Writes the changes to the kernel and resolves with its answer. Calls made without waiting for
   * the previous one run in call order (each apply has queued all its messages or lines before it
   * returns, or, while interface names are being looked up, queues behind the apply that waits),
   * so a caller may keep a second batch in flight while the first is being programmed.
   */
  apply(changes: Changes): Promise<SinkResult> {
    if (!this.usesNetlink) return this.applyIp(changes);
    const missing = this.unknownDevices(changes);
    if (missing.size === 0 && this.gate === undefined) return this.applyNetlink(changes, new Map());
    // Interface names to look up first: this apply, and any made meanwhile, wait their turn.
    const prior = this.gate ?? Promise.resolve();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    this.gate = gate;
    return prior
      .then(() => this.lookUp(this.unknownDevices(changes)))
      .then((absent) => {
        // Queued synchronously here, before the next apply's turn.
        const result = this.usesNetlink ? this.applyNetlink(changes, absent) : this.applyIp(changes);
        if (this.gate === gate) this.gate = undefined;
        open();
        return result;
      });
  }

  /** Device names of `changes` whose ifindex is not known yet. */
  private unknownDevices(changes: Changes): Set<string> {
    const out = new Set<string>();
    for (const r of changes.add) if (r.dev !== undefined && !this.ifindex.has(r.dev)) out.add(r.dev);
    return out;
  }

  /** Asks the helper for the ifindex of each name; resolves with why each name it could not resolve failed. */
  private async lookUp(names: ReadonlySet<string>): Promise<Map<string, string>> {
    const absent = new Map<string, string>();
    const answers = await Promise.all([...names].map(async (n) => [n, await this.netlink!.lookup(n)] as const));
    for (const [name, index] of answers) {
      if (index) this.ifindex.set(name, index);
      else if (index === 0) absent.set(name, `Cannot find device "${name}"`);
      else absent.set(name, `netlink helper failed looking up device "${name}": ${this.netlink!.unusable ?? 'it stopped'}`);
    }
    return absent;
  }

  /**
   * The netlink path: encodes the changes in chunks, each sent to the helper as soon as it is
   * written; resolves with the kernel's answers. `absent`: device names without an ifindex, and why.
   *
   * Removals go first (a prefix moving to another metric must not lose its new route). The
   * per-route loops are small functions of their own that write a short run of routes and stop at
   * a full chunk, which is sent from here: V8 compiles them while a table's first batch is being
   * written, and that compile time, not the loop's, was most of this path's cost when everything
   * was one async function with the chunk hand-over inside the loop (compiled five times a table).
   */
  private applyNetlink(changes: Changes, absent: ReadonlyMap<string, string>): Promise<SinkResult> {
    const failures: { route: SinkRoute; reason: string }[] = [];
    const sent: Promise<number>[] = [];
    for (let i = 0; i < changes.remove.length; ) {
      i = this.encodeRemovals(changes.remove, i, failures);
      if (this.chunk.length >= this.chunkLines) this.sendChunk(sent, failures);
    }
    for (let i = 0; i < changes.add.length; ) {
      i = this.encodeAdds(changes.add, i, absent, failures);
      if (this.chunk.length >= this.chunkLines) this.sendChunk(sent, failures);
    }
    if (this.chunk.length > 0) this.sendChunk(sent, failures);
    return this.answer(sent, failures);
  }

  /**
   * The sequence number of the next message of the chunk. They run on (from 1), restarting only
   * between chunks: an answer's seq - chunkFirstSeq is the route's place in its chunk.
   */
  private nextSeq(): number {
    if (this.chunk.length === 0) {
      if (this.seq > 0xf0000000) this.seq = 0;
      this.chunkFirstSeq = this.seq + 1;
    }
    return ++this.seq;
  }

  /** Writes up to ENCODE_RUN removals from `list[from]` on into the chunk, stopping at a full one; returns where it stopped. */
  private encodeRemovals(list: readonly SinkRoute[], from: number, failures: { route: SinkRoute; reason: string }[]): number {
    const w = this.writer;
    const target = this.target!;
    // The loop ends at a full chunk by its condition: a `return i + 1` inside would be code first
    // run after the loop was optimised (a deopt once per table).
    let i = from;
    const end = Math.min(list.length, from + ENCODE_RUN);
    while (i < end && this.chunk.length < this.chunkLines) {
      const route = list[i++]!;
      const reason = routeInvalidReason(route) ?? this.badOptions;
      if (reason !== undefined) {
        failures.push({ route: plainSinkRoute(route), reason });
        continue;
      }
      w.remove(route, target, this.nextSeq());
      this.chunk.push(route);
      this.chunkRemoves++;
    }
    return i;
  }

  /** Writes up to ENCODE_RUN replacements from `list[from]` on into the chunk, stopping at a full one; returns where it stopped. */
  private encodeAdds(list: readonly SinkRoute[], from: number, absent: ReadonlyMap<string, string>, failures: { route: SinkRoute; reason: string }[]): number {
    const w = this.writer;
    const target = this.target!;
    let i = from;
    const end = Math.min(list.length, from + ENCODE_RUN);
    while (i < end && this.chunk.length < this.chunkLines) {
      const route = list[i++]!;
      const dev = route.type === 'unicast' ? route.dev : undefined;
      const reason = routeInvalidReason(route) ?? this.badOptions ?? (dev !== undefined ? absent.get(dev) : undefined);
      if (reason !== undefined) {
        failures.push({ route: plainSinkRoute(route), reason });
        continue;
      }
      w.replace(route, target, this.nextSeq(), dev !== undefined ? this.ifindex.get(dev) : undefined);
      this.chunk.push(route);
    }
    return i;
  }

  /** Hands the chunk written so far to the helper; its answer joins `sent`. */
  private sendChunk(sent: Promise<number>[], failures: { route: SinkRoute; reason: string }[]): void {
    // The chunk's routes move to a new array: `chunk` stays the one array, whose element kind the
    // optimised loops were specialised on (a fresh `[]` starts out as another: a deopt per chunk).
    const routes = this.chunk.splice(0);
    sent.push(this.settleNetlink(this.netlink!.run(this.writer.take()), this.chunkFirstSeq, routes, this.chunkRemoves, failures));
    this.chunkRemoves = 0;
  }

  /** The helper's answer to one chunk, like settle() for ip. A helper that never started hands the chunk to ip (auto). */
  private async settleNetlink(answer: Promise<ChunkAnswer>, firstSeq: number, routes: SinkRoute[], removes: number, failures: { route: SinkRoute; reason: string }[]): Promise<number> {
    const { errors, aborted, unstarted } = await answer;
    if (unstarted && !this.forced) {
      this.log?.warn({ reason: aborted }, 'netlink helper unavailable: kernel routes go through ip -batch');
      const res = await this.applyIp({ remove: routes.slice(0, removes), add: routes.slice(removes) });
      failures.push(...res.failures);
      return res.applied;
    }
    if (errors.size === 0 && aborted === undefined) return routes.length;
    let applied = 0;
    routes.forEach((route, i) => {
      const failure = errors.get(firstSeq + i);
      if (failure === undefined) {
        if (aborted !== undefined) failures.push({ route: plainSinkRoute(route), reason: aborted });
        else applied++;
      } else if (i < removes && (failure.errno === ESRCH || failure.errno === ENOENT)) applied++;
      else {
        // The device went away (or was made again): look its index up afresh next time.
        if (failure.errno === ENODEV) this.ifindex.clear();
        failures.push({ route: plainSinkRoute(route), reason: failure.reason });
      }
    });
    return applied;
  }

  /** The iproute2 path: the changes as `ip -batch` lines. */
  private async applyIp(changes: Changes): Promise<SinkResult> {
    const failures: { route: SinkRoute; reason: string }[] = [];
    const sent: Promise<number>[] = [];
    const badOptions = optionsInvalidReason(this.lineOpts);
    // Each chunk goes to ip as soon as it is written, so ip works while the next one is built.
    const send = (lane: Lane) => {
      if (lane.lines.length === 0) return;
      sent.push(this.settle(lane.batch.run(lane.lines), lane.routes, lane.removes, failures));
      lane.lines = [];
      lane.routes = [];
      lane.removes = 0;
    };
    const push = (route: SinkRoute, remove: boolean) => {
      const bad = routeInvalidReason(route) ?? badOptions;
      if (bad !== undefined) {
        failures.push({ route: plainSinkRoute(route), reason: bad });
        return;
      }
      const lane = this.lanes[laneOf(route.prefix, this.lanes.length)]!;
      if (remove) {
        lane.lines.push(deleteLine(route, this.lineOpts));
        lane.removes++;
      } else lane.lines.push(replaceLine(route, this.lineOpts));
      lane.routes.push(route);
      if (lane.lines.length >= this.chunkLines) send(lane);
    };
    // Removals first: a prefix moving to another metric must not lose its new route.
    for (const r of changes.remove) push(r, true);
    for (const r of changes.add) push(r, false);
    for (const lane of this.lanes) send(lane);
    return this.answer(sent, failures);
  }

  /** One apply's answer: the routes its chunks applied, plus the failures met on the way (either path). */
  private async answer(sent: readonly Promise<number>[], failures: { route: SinkRoute; reason: string }[]): Promise<SinkResult> {
    if (sent.length === 0) return { applied: 0, failures };
    this.batches++;
    let applied = 0;
    for (const n of await Promise.all(sent)) applied += n;
    if (failures.length > 0) this.log?.warn({ failures: failures.length, applied }, 'some kernel routes failed');
    return { applied, failures };
  }

  /**
   * ip's answer to one chunk as failures (pushed to `failures`) and the number applied. The first
   * `removes` lines of the chunk are deletions, where "already gone" is success.
   */
  private async settle(answer: Promise<BatchAnswer>, routes: readonly SinkRoute[], removes: number, failures: { route: SinkRoute; reason: string }[]): Promise<number> {
    const { errors, aborted } = await answer;
    if (errors.size === 0 && aborted === undefined) return routes.length;
    let applied = 0;
    routes.forEach((route, i) => {
      const reason = errors.get(i + 1);
      // A line ip never answered (it stopped) is a failure: we cannot tell whether it took.
      if (reason === undefined) {
        if (aborted !== undefined) failures.push({ route: plainSinkRoute(route), reason: aborted });
        else applied++;
      } else if (i < removes && isAlreadyGone(reason)) applied++;
      else failures.push({ route: plainSinkRoute(route), reason });
    });
    return applied;
  }

  /** Our routes (proto bird) in the table, both families (read side by side). */
  async dump(): Promise<SinkRoute[]> {
    if (this.usesNetlink) {
      const read = await this.dumpNetlink();
      if (read !== undefined) return read;
    }
    const families = await Promise.all(([4, 6] as const).map((f) => this.dumpFamily(f)));
    return families.flat();
  }

  /**
   * The dump through the helper, as the `ip -json route show proto P [table T]` path reads it:
   * the table's routes of our protocol, cache entries left out, devices by name. Undefined when
   * the helper could not do it (`ip` is asked instead).
   */
  private async dumpNetlink(): Promise<SinkRoute[] | undefined> {
    const helper = this.netlink!;
    const target = this.target!;
    // A sink made only to read the table (the daemon's graceful-restart check) lets its helper go after.
    const dumpOnly = !helper.running && !this.warmed && this.batches === 0;
    try {
      return await this.readNetlink(helper, target);
    } finally {
      if (dumpOnly && !this.warmed && this.batches === 0 && helper.idle) helper.close();
    }
  }

  private async readNetlink(helper: NetlinkProcess, target: RouteTarget): Promise<SinkRoute[] | undefined> {
    const requests = ([4, 6] as const).map((family) => {
      if (this.seq > 0xf0000000) this.seq = 0;
      return helper.dump(routeDumpRequest(family, target.protocol, ++this.seq));
    });
    const answers = await Promise.all(requests);
    const failed = answers.find((a) => a.failed !== undefined);
    if (failed) {
      this.log?.warn({ reason: failed.failed }, 'kernel routes read through ip: the netlink dump failed');
      return undefined;
    }
    const out: SinkRoute[] = [];
    const devices = new Map<number, string>();
    const oifs: (number | undefined)[] = [];
    for (const [i, answer] of answers.entries()) {
      const family = i === 0 ? 4 : 6;
      for (const m of answer.messages) {
        const r = decodeRouteMessage(m);
        if (!r || r.family !== family || r.protocol !== target.protocol || r.table !== target.table || r.cloned) continue;
        const route: { -readonly [K in keyof SinkRoute]: SinkRoute[K] } = { prefix: r.prefix, type: r.blackhole ? 'blackhole' : 'unicast' };
        if (r.gateway !== undefined) route.via = r.gateway;
        if (r.onlink) route.onlink = true;
        if (r.metric !== undefined && r.metric !== (family === 4 ? 0 : 1024)) route.metric = r.metric;
        const oif = route.type === 'unicast' ? r.oif : undefined;
        if (oif !== undefined) devices.set(oif, '');
        out.push(route);
        oifs.push(oif);
      }
    }
    // Device names, once each (a route shows its device by name, as ip prints it).
    for (const [index, name] of await Promise.all([...devices.keys()].map(async (index) => [index, await helper.indexName(index)] as const))) {
      if (name === undefined) {
        this.log?.warn({ reason: helper.unusable ?? 'it stopped' }, 'kernel routes read through ip: the netlink helper failed');
        return undefined;
      }
      devices.set(index, name ?? `if${index}`);
    }
    // The same key order as the ip path's routes: prefix, type, via, dev, onlink, metric.
    return out.map((route, i) => {
      const oif = oifs[i];
      if (oif === undefined) return route;
      const { prefix, type, via, onlink, metric } = route;
      return { prefix, type, ...(via !== undefined ? { via } : {}), dev: devices.get(oif)!, ...(onlink ? { onlink } : {}), ...(metric !== undefined ? { metric } : {}) };
    });
  }

  private async dumpFamily(family: 4 | 6): Promise<SinkRoute[]> {
    const args = [`-${family}`, '-json', 'route', 'show', 'proto', this.lineOpts.protocol];
    if (this.lineOpts.table !== undefined) args.push('table', String(this.lineOpts.table));
    const res = await this.run(args);
    // A table that never held a route of this family does not exist yet: it is empty.
    if (res.code !== 0 && /table does not exist/i.test(res.stderr)) return [];
    if (res.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${res.spawnError ?? res.stderr.trim()}`);
    return parseRouteDump(res.stdout, family);
  }

  private run(args: readonly string[], input?: string): Promise<RunResult> {
    const argv = [...this.prefix, this.ip, ...args];
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const done = (r: RunResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ code: null, stdout, stderr, spawnError: `timed out after ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (e) => done({ code: null, stdout, stderr, spawnError: e.message }));
      child.on('close', (code) => done({ code, stdout, stderr }));
      // An `ip` that dies early closes its stdin: the close event reports it, not an EPIPE throw.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
  }
}
