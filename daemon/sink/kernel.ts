/**
 * The kernel RouteSink: programs the routing table of the network namespace it runs in through
 * iproute2, feeding one long-lived `ip -force -batch -` (batch-process.ts) so bursts pay no spawn
 * per batch. Routes carry `proto bird` like Calico's BIRD, so `ip route` output, Felix and people
 * see what they expect. Failures come back per route with the kernel's reason; nothing throws.
 *
 * The command prefix is injectable: tests run the sink against a namespace with
 * `commandPrefix: ['ip', 'netns', 'exec', ns]`.
 */
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { RouteSink, SinkResult, SinkRoute } from '../model.js';
import { IpBatchProcess, type BatchAnswer } from './batch-process.js';
import { deleteLine, invalidReason, isAlreadyGone, parseRouteDump, replaceLine, type LineOptions } from './iproute.js';

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
  /** Lines per submission to ip: the first goes out while the next is being written; 2000. */
  readonly chunkLines?: number;
  /**
   * Batch processes fed side by side; 1. Each prefix always goes to the same one, so the changes
   * of one prefix stay in order (a removal before the replacement that follows it).
   */
  readonly processes?: number;
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
  /** Number of batches sent to `ip` (for tests of batching). */
  batches = 0;

  constructor(opts: KernelSinkOptions = {}) {
    this.prefix = opts.commandPrefix ?? [];
    this.ip = opts.ipCommand ?? 'ip';
    this.lineOpts = { protocol: opts.protocol ?? 'bird', ...(opts.table !== undefined ? { table: opts.table } : {}) };
    this.log = opts.log;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.chunkLines = Math.max(1, opts.chunkLines ?? 2000);
    const batchOpts = { commandPrefix: this.prefix, ipCommand: this.ip, timeoutMs: this.timeoutMs, ...(opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {}) };
    this.lanes = Array.from({ length: Math.max(1, opts.processes ?? 1) }, () => ({ batch: new IpBatchProcess(batchOpts), lines: [], routes: [], removes: 0 }));
  }

  /** `ip` processes started for batches so far. */
  get processesStarted(): number {
    return this.lanes.reduce((n, l) => n + l.batch.spawned, 0);
  }

  /**
   * Starts the batch processes now (the daemon calls this at start-up), so the first routes learned
   * do not wait for a spawn: a fork of the whole Node process plus ip's start, tens of ms under load.
   */
  warm(): void {
    for (const l of this.lanes) l.batch.warm();
  }

  /** Lets the batch process go (it also goes by itself when idle, and never keeps Node alive while idle). */
  close(): void {
    for (const l of this.lanes) l.batch.close();
  }

  /**
   * Writes the changes to ip and resolves with ip's answer. Calls made without waiting for the
   * previous one run in call order (each apply has queued all its lines before it returns), so a
   * caller may keep a second batch in flight while the first is being programmed.
   */
  async apply(changes: { readonly add: readonly SinkRoute[]; readonly remove: readonly SinkRoute[] }): Promise<SinkResult> {
    const failures: { route: SinkRoute; reason: string }[] = [];
    const sent: Promise<number>[] = [];
    // Each chunk goes to ip as soon as it is written, so ip works while the next one is built.
    const send = (lane: Lane) => {
      if (lane.lines.length === 0) return;
      sent.push(this.settle(lane.batch.run(lane.lines), lane.routes, lane.removes, failures));
      lane.lines = [];
      lane.routes = [];
      lane.removes = 0;
    };
    const push = (route: SinkRoute, remove: boolean) => {
      const bad = invalidReason(route, this.lineOpts);
      if (bad !== undefined) {
        failures.push({ route, reason: bad });
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
        if (aborted !== undefined) failures.push({ route, reason: aborted });
        else applied++;
      } else if (i < removes && isAlreadyGone(reason)) applied++;
      else failures.push({ route, reason });
    });
    return applied;
  }

  /** Our routes (proto bird) in the table, both families (read side by side). */
  async dump(): Promise<SinkRoute[]> {
    const families = await Promise.all(([4, 6] as const).map((f) => this.dumpFamily(f)));
    return families.flat();
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
