/**
 * The RouteEngine: Adj-RIB-In per source, the Loc-RIB with its decision process, Adj-RIB-Out per
 * peer, the kernel's view through a RouteSink. One per daemon.
 *
 * Every mutating call is queued and runs alone, in call order, so a long table walk never
 * interleaves with another change; long walks yield to the event loop every few thousand
 * prefixes so timers and sockets keep running. Best paths are recomputed only for prefixes whose
 * candidates changed (and for every prefix only when the export or kernel rules changed).
 */
import type { Logger } from 'pino';
import { encodeEndOfRib, encodeUpdates, encodeUpdatesWith, encodeWithdrawals, type CodecContext } from '../../proto/index.js';
import { emptyRouteCounters, type Family, type NodeIntent, type RouteCounters, type RouteSink, type SinkResult, type SinkRoute } from '../model.js';
import { diffOrigination, originate } from '../origin.js';
import { compileExportPolicy, exportVerdict, type ExportPolicy } from '../policy/export.js';
import { importVerdict, maxPrefixOutcome, normaliseImported, type ImportContext } from '../policy/import.js';
import { compileKernelPolicy, kernelRoute, sameSinkRoute, sinkRouteSatisfies, toSinkRoute, type KernelPolicy } from '../policy/kernel.js';
import { plainSinkRoute } from '../sink/route.js';
import { AdjRibIn } from './adj-rib-in.js';
import { AdjRibOut, ExportIndex, type OutBatch } from './adj-rib-out.js';
import { AttrStore, localAttrs, type LocalKind, type RouteAttrs } from './attrs.js';
import { addressRank, routerIdNumber, selectBest, type Candidate } from './decision.js';
import { bgpMayAdvertise, exportAttrs, ExportClasses, type ExportClass, type ExportTarget, type RouteSource } from './export-attrs.js';
import { cidrToKey, familyOfKey, forEachPackedKey, keyToCidr, packKeys, words6OfKey, type PrefixKey } from './keys.js';
import { maskOf, maskWords6, prefix4Key, prefix6Key } from '../../proto/prefix.js';
import { LocRib, type BestRef } from './loc-rib.js';
import { PrefixMap } from './prefix-map.js';
import type { EnginePeer, PeerOutput, PeerUpdateResult, RibUpdate, RouteCount, RouteEntry, RouteFilter, UpdateEncoder } from './types.js';

export interface RouteEngineOptions {
  readonly intent: NodeIntent;
  /** Where kernel routes go; null keeps no kernel table at all (`--sink none`: the RIB alone, as a BIRD config without a kernel protocol). */
  readonly sink: RouteSink | null;
  /** The codec's encoders by default; tests inject a recording one. */
  readonly encoder?: UpdateEncoder;
  readonly log?: Logger;
  /** IPIP device for tunnelled routes; Calico's tunl0 by default. */
  readonly ipipDevice?: string;
  /** Kernel route metric; the kernel default when unset. */
  readonly kernelMetric?: number;
  /** Interface for IPv6 routes whose only next hop is link-local (RFC 2545); such routes are not installed without it. */
  readonly linkLocalDevice?: string;
  /** Prefixes handled between two yields to the event loop. */
  readonly yieldEvery?: number;
  /** Kernel changes per RouteSink.apply call. */
  readonly sinkBatch?: number;
  /** BIRD protocol names shown for own routes. */
  readonly staticProtocol?: string;
  readonly kernelProtocol?: string;
  /** Clock in seconds (tests). */
  readonly now?: () => number;
}

const LOCAL = 0;
const OUT_CACHE_LIMIT = 4096;
/** Prefixes announce4 handles per call (see there). */
const ANNOUNCE_RUN = 256;
/** An UPDATE of up to this many yields' work is applied at once (applyUpdate), not queued. */
const INLINE_YIELDS = 4;
/** Work units of one member's Adj-RIB-Out write, against one for a decision or a class's export verdict. */
const MEMBER_UNIT = 0.125;
/** exportResult outcomes besides an attribute-set id (> 0): the route may not go to the peer at all, */
const EXPORT_NONE = 0;
/** the export filter refused it, */
const EXPORT_FILTERED = -1;
/** there is no next hop of its family to announce. */
const EXPORT_REJECTED = -2;

interface Source {
  readonly index: number;
  readonly name: string;
  readonly peer: EnginePeer | undefined;
  readonly adjIn: AdjRibIn;
  readonly candidate: Omit<Candidate, 'attrs' | 'pathId'>;
  readonly routeSource: RouteSource;
  readonly since: Date;
  counters: RouteCounters;
  preferred: number;
  maxPrefixWarned: boolean;
  /**
   * Graceful restart (daemon/gr): routes kept from the previous session, path ids by prefix, until
   * the peer re-announces them or they are purged (End-of-RIB, restart or stale timer).
   */
  stale?: Map<PrefixKey, Set<number>>;
  /** The session is down but its routes are retained (the peer is restarting). */
  retained?: boolean;
  /** Set while the session is up: the export side. */
  out?: {
    /** Its Adj-RIB-Out: while `shared` is set, the class's one (the same object for every sharing member). */
    adjOut: AdjRibOut;
    /** Set while it shares its class's Adj-RIB-Out (it has never been the source of a best route). */
    shared: SharedOut | undefined;
    /** shared.counters when it started sharing: it counts what the shared Adj-RIB-Out counted since. */
    sharedCountersBase: ExportCounters;
    readonly output: PeerOutput;
    readonly target: ExportTarget;
    readonly ctx: CodecContext;
    /** The peers sharing its exported attribute sets and UPDATE bytes. */
    readonly cls: ExportClass;
    /** cls.shared when it joined: it counts what the class counted since. */
    readonly sharedBase: { readonly received: number; readonly filtered: number; readonly rejected: number };
  };
}

/** The members of one export class with a session up. */
interface OutGroup {
  readonly cls: ExportClass;
  readonly members: readonly Source[];
  /** Members with an Adj-RIB-Out of their own. */
  readonly own: readonly Source[];
  /** The class's shared Adj-RIB-Out, when some member uses it. */
  readonly shared: SharedOut | undefined;
}

/**
 * One Adj-RIB-Out for the members of an export class that need nothing of their own: a route is
 * recorded once for all of them, its changes are drained and encoded once, and each member's
 * share of the work is writing the same UPDATE bytes. A member leaves it for a copy of its own
 * as soon as it is the source of a best route (split horizon: it must not get that route back),
 * or for a route refresh; a peer joins it only while it is empty (before the class has been
 * told anything), else it gets its own and a full table walk.
 */
interface SharedOut {
  readonly cls: ExportClass;
  readonly adjOut: AdjRibOut;
  readonly members: Source[];
  /** The export counters of what was recorded here, as one member's would be. */
  readonly counters: RouteCounters;
}

type ExportCounters = Pick<RouteCounters, 'exportUpdates' | 'exportWithdraws'>;

function exportCountersOf(c: ExportCounters): ExportCounters {
  return { exportUpdates: { ...c.exportUpdates }, exportWithdraws: { ...c.exportWithdraws } };
}

/** Adds to `into` what `now` counted since `base`. */
function addExportDelta(into: ExportCounters, now: ExportCounters, base: ExportCounters): void {
  const u = into.exportUpdates;
  u.received += now.exportUpdates.received - base.exportUpdates.received;
  u.rejected += now.exportUpdates.rejected - base.exportUpdates.rejected;
  u.filtered += now.exportUpdates.filtered - base.exportUpdates.filtered;
  u.accepted += now.exportUpdates.accepted - base.exportUpdates.accepted;
  const w = into.exportWithdraws;
  w.received += now.exportWithdraws.received - base.exportWithdraws.received;
  w.accepted += now.exportWithdraws.accepted - base.exportWithdraws.accepted;
}

export interface SinkFailureRecord {
  readonly route: SinkRoute;
  readonly reason: string;
  readonly at: Date;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Routes in the first kernel batch of a backlog (later batches double up to sinkBatch). */
const FIRST_SINK_BATCH = 1000;
/** Kernel batches handed to the sink at once: it programs one while the next waits in its pipe. */
const SINK_IN_FLIGHT = 2;
/** Queued prefixes visited per walk of the sink queue (a batch walks it as often as it needs). */
const SINK_WALK_RUN = 256;

export class RouteEngine {
  private intent: NodeIntent;
  private readonly sink: RouteSink | null;
  private readonly encoder: UpdateEncoder;
  private readonly log: Logger | undefined;
  private readonly yieldEvery: number;
  private readonly sinkBatch: number;
  private readonly staticProtocol: string;
  private readonly kernelProtocol: string;
  private readonly kernelOptions: { ipipDevice: string; metric?: number; linkLocalDevice?: string };
  private readonly now: () => number;

  private readonly store = new AttrStore();
  private readonly loc = new LocRib();
  private readonly sources: (Source | undefined)[] = [];
  private readonly byName = new Map<string, Source>();
  private exportPolicy: ExportPolicy;
  private exportSignature: string;
  private kernelPolicy: KernelPolicy;
  private originated = new Map<PrefixKey, LocalKind>();
  private readonly localAttrIds = new Map<LocalKind, number>();
  private readonly exportClasses = new ExportClasses();
  /** outGroups(), until a session's export side comes or goes. */
  private groups: readonly OutGroup[] | undefined;
  /** Sessions with an export side, counted with `groups`. */
  private outputs = 0;
  /** The shared Adj-RIB-Out of each export class that has one. */
  private readonly sharedOuts = new Map<ExportClass, SharedOut>();
  /** Slots of the prefixes held by any Adj-RIB-Out: one lookup per exported prefix, not one per peer. */
  private readonly exportIndex = new ExportIndex();

  private chain: Promise<unknown> = Promise.resolve();
  /** Tasks queued or running; an UPDATE is applied at once only when none is (call order is kept). */
  private queued = 0;
  private workDone = 0;
  /** Work units left before the next yield to the event loop. */
  private budget = 0;
  /**
   * The time stamped on best-route changes, read once per batch of decisions (an UPDATE on the
   * import path). Not once per turn of the event loop: that needs a branch taken once per turn
   * inside the per-UPDATE code, which V8 compiles before the branch has run in a cold process and
   * then throws away (deoptimizes) the next turn: announce4 compiled twice in every table. A read
   * per UPDATE costs nothing measurable (1M prefixes at 4 per set, main-thread CPU).
   */
  private clock = 0;
  /**
   * Prefixes whose kernel route may have changed → what the kernel holds (index into sinkBefore;
   * -1: nothing), in the order they were queued; batches take them in that order.
   */
  private sinkPending = new PrefixMap();
  private sinkBefore: SinkRoute[] = [];
  /**
   * The queue batches are being taken from (nothing is added to it, so a walk resumes where the
   * last batch stopped: sinkFrom), with its sinkBefore; the new changes queue in sinkPending.
   */
  private sinkTaking = new PrefixMap();
  private sinkTakingBefore: SinkRoute[] = [];
  private sinkFrom = 0;
  /** Batches handed to the sink and not answered yet (at most SINK_IN_FLIGHT). */
  private sinkInFlight = 0;
  /** Routes in the next batch: FIRST_SINK_BATCH once the sink was idle, then doubling up to sinkBatch. */
  private sinkLimit = FIRST_SINK_BATCH;
  /** A pump is queued for the next macrotask. */
  private sinkSoon = false;
  /** Routes handed to the sink in this turn of the event loop (reset by setImmediate). */
  private sinkTurnRoutes = 0;
  /** Resolves once nothing is queued for the sink or in flight (undefined: that is so now). */
  private sinkLoop: Promise<void> | undefined;
  private sinkIdle: (() => void) | undefined;
  private readonly routesByFamily = { 4: 0, 6: 0 };
  private readonly networksByFamily = { 4: 0, 6: 0 };
  /** The most recent kernel failures (bounded), for status output. */
  readonly sinkFailures: SinkFailureRecord[] = [];
  /** Prefixes whose last kernel install failed (cleared by a later success or removal). */
  private readonly kernelRejected = new Set<string>();
  sinkFailureTotal = 0;

  constructor(opts: RouteEngineOptions) {
    this.intent = opts.intent;
    this.sink = opts.sink;
    this.encoder = opts.encoder ?? codecEncoder;
    this.log = opts.log;
    this.yieldEvery = opts.yieldEvery ?? 2048;
    this.budget = this.yieldEvery;
    this.sinkBatch = opts.sinkBatch ?? 20_000;
    this.sinkLimit = Math.min(this.sinkBatch, FIRST_SINK_BATCH);
    this.staticProtocol = opts.staticProtocol ?? 'static1';
    this.kernelProtocol = opts.kernelProtocol ?? 'kernel1';
    this.kernelOptions = {
      ipipDevice: opts.ipipDevice ?? 'tunl0',
      ...(opts.kernelMetric !== undefined ? { metric: opts.kernelMetric } : {}),
      ...optional('linkLocalDevice', opts.linkLocalDevice),
    };
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.exportPolicy = compileExportPolicy(opts.intent);
    this.exportSignature = exportSignatureOf(opts.intent);
    this.kernelPolicy = compileKernelPolicy(opts.intent, this.kernelOptions);
    const local: Source = {
      index: LOCAL,
      name: this.staticProtocol,
      peer: undefined,
      adjIn: new AdjRibIn(this.loc),
      candidate: { local: true, ebgp: false, peerRouterId: 0, peerAddressRank: '' },
      routeSource: { local: true, ibgp: false, rrClient: false, routerId: opts.intent.routerId },
      since: new Date(),
      counters: emptyRouteCounters(),
      preferred: 0,
      maxPrefixWarned: false,
    };
    this.sources[LOCAL] = local;
    // Origination of the first intent runs as the first queued task.
    this.enqueue(() => this.applyOrigination(opts.intent)).catch(() => undefined);
  }

  // ------------------------------------------------------------------ public API

  /** New intent: origination diffs, export and kernel rules; announces/withdraws and reprograms as needed. */
  setIntent(intent: NodeIntent): Promise<void> {
    return this.enqueue(async () => {
      this.intent = intent;
      const kernel = compileKernelPolicy(intent, this.kernelOptions);
      if (kernel.signature !== this.kernelPolicy.signature) await this.reprogramKernel(kernel);
      const exportSig = exportSignatureOf(intent);
      const exportChanged = exportSig !== this.exportSignature;
      this.exportPolicy = compileExportPolicy(intent);
      this.exportSignature = exportSig;
      await this.applyOrigination(intent);
      if (exportChanged) await this.reexportAll();
      this.flushAllOutputs();
    });
  }

  /** A session reached Established: sends it the current table, then End-of-RIB per family. */
  peerUp(peer: EnginePeer, output: PeerOutput): Promise<void> {
    return this.enqueue(async () => {
      const prev = this.byName.get(peer.name);
      // A restarting peer's retained routes stay (stale) in the same slot until it re-announces them.
      const keep = prev?.retained ? prev : undefined;
      if (prev && !keep) await this.removeSource(prev);
      let index = keep ? keep.index : this.sources.findIndex((s, i) => i > LOCAL && s === undefined);
      if (index < 0) index = this.sources.length;
      if (index > 32767) throw new Error('too many peers');
      const src: Source = {
        index,
        name: peer.name,
        peer,
        adjIn: keep ? keep.adjIn : new AdjRibIn(this.loc),
        ...(keep?.stale ? { stale: keep.stale } : {}),
        candidate: {
          local: false,
          ebgp: !peer.ibgp,
          peerRouterId: routerIdNumber(peer.neighborId),
          peerAddressRank: addressRank(peer.peerIp),
        },
        routeSource: { local: false, ibgp: peer.ibgp, rrClient: peer.rrClient, routerId: peer.neighborId },
        since: new Date(this.now() * 1000),
        counters: emptyRouteCounters(),
        preferred: 0,
        maxPrefixWarned: false,
        out: this.newOutput(peer, output, (keep?.adjIn.pathCount ?? 0) > 0),
      };
      if (keep) {
        src.counters = keep.counters;
        src.preferred = keep.preferred;
      }
      this.sources[index] = src;
      this.byName.set(peer.name, src);
      src.out!.shared?.members.push(src);
      this.groups = undefined;
      // The new session may carry another router id: decide the retained prefixes again.
      if (keep) await this.recompute([...src.adjIn.keys()], index);
      for (const key of [...this.loc.keys()]) {
        this.exportTo(src, key, this.loc.best(key));
        if (this.spend(1)) {
          this.flushOutput(src);
          await this.pause();
        }
      }
      this.flushOutput(src);
      const eor = peer.families.map((f) => this.encoder.endOfRib(f));
      if (eor.length > 0) output.send(eor);
    });
  }

  /** A decoded UPDATE from `name`, queued behind every earlier call. */
  peerUpdate(name: string, update: RibUpdate): Promise<PeerUpdateResult> {
    return this.enqueue(async () => {
      const src = this.byName.get(name);
      if (!src || !src.peer) {
        this.log?.warn({ peer: name }, 'UPDATE from a peer that is not up; ignored');
        return { maxPrefixExceeded: false, prefixes: 0 };
      }
      // Decisions after the Adj-RIB-In, yielding every few thousand units (a big UPDATE sent to many peers).
      const dirty = this.ingest(src, src.peer, update, false);
      await this.recompute(dirty, src.index);
      const r = this.afterUpdate(src, name);
      // Back-to-back queued UPDATEs run as microtasks: let timers and sockets in between.
      if (this.budget <= 0) await this.pause();
      return r;
    });
  }

  /**
   * A decoded UPDATE from `name`, applied at once when nothing else is queued (the common case
   * while a table arrives), else queued like peerUpdate. At once means no promise and no closure
   * per UPDATE, and the socket is never read ahead of the RIB: one read's UPDATEs are the work
   * between two turns of the event loop, so a peer faster than the RIB meets TCP flow control
   * instead of a queue of decoded UPDATEs (which cost most of an ingest in GC). Returns the
   * result, or a promise of it when queued.
   */
  applyUpdate(name: string, update: RibUpdate): PeerUpdateResult | Promise<PeerUpdateResult> {
    // An UPDATE worth more than a few yields' work (a full one exported to many peers, or an
    // extended message's thousands of prefixes) is queued, where its decisions yield part way. A
    // full 4096-byte UPDATE exported to one class of ten peers is about 3,000 units, and runs at
    // once: queued, it costs a promise, a key list and a second Adj-RIB-In pass.
    if (this.queued > 0 || this.updateWork(name, update) > INLINE_YIELDS * this.yieldEvery) return this.peerUpdate(name, update);
    return this.updateNow(name, update);
  }

  /** About how many units of work an UPDATE from `name` is: its prefixes times (1 + what exporting one prefix costs). */
  private updateWork(name: string, u: RibUpdate): number {
    const src = this.byName.get(name);
    const units = 1 + this.exportUnits(src?.index ?? -1);
    let prefixes = (u.withdrawn.length + u.nlri.length) / 2;
    if (u.mpReach) prefixes += u.mpReach.nlri.length / (u.mpReach.afi === 2 ? 5 : 2);
    if (u.mpUnreach) prefixes += u.mpUnreach.withdrawn.length / (u.mpUnreach.afi === 2 ? 5 : 2);
    return prefixes * units;
  }

  /**
   * UPDATEs applied at once (applyUpdate) leave their exports pending until the current JavaScript
   * turn ends (a microtask) instead of flushing after each one: the UPDATEs of one socket read go
   * out as one drained batch per Adj-RIB-Out, not one per UPDATE (a table of small attribute sets
   * is thousands of UPDATEs of a few prefixes). The session layer (RibBridge) sets it; the
   * microtask runs before any queued task, so the order of what peers are told is unchanged.
   */
  batchFlush = false;
  private flushQueued = false;

  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      try {
        this.flushAllOutputs();
      } catch (e) {
        this.log?.error({ err: e }, 'route engine export flush failed');
      }
    });
  }

  /** Called before any task is queued: the intake applies the UPDATEs that arrived before this call. */
  beforeTask: (() => void) | undefined;

  /** Units of decision and export work done so far (monotonic; daemon/rib/intake.ts budgets turns with it). */
  get work(): number {
    return this.workDone;
  }

  /** True while no task is queued or running: applyUpdate then applies at once. */
  get idle(): boolean {
    return this.queued === 0;
  }

  /** Resolves once no task is queued or running. */
  async whenIdle(): Promise<void> {
    while (this.queued > 0) await this.chain;
  }

  private updateNow(name: string, update: RibUpdate): PeerUpdateResult {
    {
      const src = this.byName.get(name);
      if (!src || !src.peer) {
        this.log?.warn({ peer: name }, 'UPDATE from a peer that is not up; ignored');
        return { maxPrefixExceeded: false, prefixes: 0 };
      }
      if (!this.announceTable(src, src.peer, update)) this.decideAll(this.ingest(src, src.peer, update, true), src.index);
      return this.afterUpdate(src, name, this.batchFlush);
    }
  }

  /** After an UPDATE: exports sent, the kernel scheduled, the prefix limit checked. */
  private afterUpdate(src: Source, name: string, deferFlush = false): PeerUpdateResult {
    if (deferFlush) this.flushSoon();
    else this.flushAllOutputs();
    this.scheduleSink();
    const peer = src.peer!;
    const outcome = maxPrefixOutcome(src.adjIn.pathCount, peer.maxPrefixes, peer.maxPrefixesAction);
    if (outcome === 'warn' && !src.maxPrefixWarned) {
      src.maxPrefixWarned = true;
      this.log?.warn({ peer: name, limit: peer.maxPrefixes, prefixes: src.adjIn.pathCount }, 'route limit exceeded');
    } else if (outcome === 'ok') src.maxPrefixWarned = false;
    return { maxPrefixExceeded: outcome === 'reset', prefixes: src.adjIn.pathCount };
  }

  /**
   * The session went down: its routes leave the Loc-RIB, the kernel and every other peer; with
   * `retain` (graceful restart, the peer is restarting) they stay, marked stale, until purgeStale.
   */
  peerDown(name: string, opts: { readonly retain?: boolean } = {}): Promise<void> {
    return this.enqueue(async () => {
      const src = this.byName.get(name);
      if (src && opts.retain && src.peer) {
        this.detachOutput(src);
        src.retained = true;
        const stale = (src.stale ??= new Map());
        for (const [key, pathId] of src.adjIn.entries()) {
          let ids = stale.get(key);
          if (!ids) stale.set(key, (ids = new Set()));
          ids.add(pathId);
        }
        this.log?.info({ peer: name, stale: stale.size }, 'peer restarting: routes kept as stale');
        return;
      }
      if (src) await this.removeSource(src);
      this.flushAllOutputs();
      this.scheduleSink();
    });
  }

  /**
   * Graceful restart: removes the peer's routes still marked stale (of `family`, or all). A peer
   * whose session is still down is released entirely once nothing of it is left. Resolves with
   * the number of routes purged.
   */
  purgeStale(name: string, family?: Family): Promise<number> {
    return this.enqueue(async () => {
      const src = this.byName.get(name);
      if (!src?.stale) return 0;
      const dirty: PrefixKey[] = [];
      for (const [key, ids] of [...src.stale]) {
        const f = familyOfKey(key);
        if (family !== undefined && f !== family) continue;
        for (const pathId of ids) {
          const old = src.adjIn.delete(key, pathId);
          if (old === undefined) continue;
          this.store.release(old);
          this.loc.addCandidates(key, -1);
          this.routesByFamily[f]--;
          dirty.push(key);
        }
        src.stale.delete(key);
      }
      if (src.stale.size === 0) src.stale = undefined;
      await this.recompute(dirty, src.index);
      if (src.retained && !src.stale) await this.removeSource(src);
      this.flushAllOutputs();
      this.scheduleSink();
      if (dirty.length > 0) this.log?.info({ peer: name, purged: dirty.length, ...(family ? { family } : {}) }, 'stale routes purged');
      return dirty.length;
    });
  }

  /** Routes of `name` still marked stale (graceful restart), for status and tests. */
  staleCount(name: string): number {
    let n = 0;
    for (const ids of this.byName.get(name)?.stale?.values() ?? []) n += ids.size;
    return n;
  }

  /** ROUTE-REFRESH from the peer: everything we announced to it, again, then End-of-RIB. */
  refresh(name: string): Promise<void> {
    return this.enqueue(() => {
      const src = this.byName.get(name);
      if (!src?.out || !src.peer) return;
      // Everything again for this peer only: it needs an Adj-RIB-Out of its own.
      this.flushOutput(src);
      this.ownAdjRibOut(src);
      src.out.adjOut.resendAll();
      this.flushOutput(src);
      const eor = src.peer.families.map((f) => this.encoder.endOfRib(f));
      if (eor.length > 0) src.out.output.send(eor);
    });
  }

  /** The peer's route counters in BIRD's vocabulary (O(1)). */
  counters(name: string): RouteCounters {
    const src = this.byName.get(name);
    if (!src) return emptyRouteCounters();
    const c = src.counters;
    const exp = exportCountersOf(c);
    const exportUpdates = exp.exportUpdates;
    if (src.out) {
      const { shared } = src.out.cls;
      const base = src.out.sharedBase;
      exportUpdates.received += shared.received - base.received;
      exportUpdates.filtered += shared.filtered - base.filtered;
      exportUpdates.rejected += shared.rejected - base.rejected;
      if (src.out.shared) addExportDelta(exp, src.out.shared.counters, src.out.sharedCountersBase);
    }
    return {
      ...c,
      imported: src.adjIn.pathCount,
      exported: src.out?.adjOut.size ?? 0,
      preferred: src.preferred,
      importUpdates: { ...c.importUpdates },
      importWithdraws: { ...c.importWithdraws },
      exportUpdates,
      exportWithdraws: exp.exportWithdraws,
    };
  }

  routeCount(): RouteCount {
    return {
      routes: this.routesByFamily[4] + this.routesByFamily[6],
      networks: this.networksByFamily[4] + this.networksByFamily[6],
      primary: this.loc.primaryCount,
      byFamily: {
        4: { routes: this.routesByFamily[4], networks: this.networksByFamily[4] },
        6: { routes: this.routesByFamily[6], networks: this.networksByFamily[6] },
      },
      attributeSets: this.store.size,
    };
  }

  /** Routes for `show route`, primary first per network. Reads the live tables: consume promptly. */
  *listRoutes(filter: RouteFilter = {}): Generator<RouteEntry> {
    let keys: Iterable<PrefixKey>;
    if (filter.forAddress !== undefined) {
      const key = this.longestMatch(filter.forAddress);
      keys = key === undefined ? [] : [key];
    } else if (filter.prefix !== undefined) {
      let key: PrefixKey;
      try {
        key = cidrToKey(filter.prefix);
      } catch {
        return;
      }
      keys = [key];
    } else keys = this.loc.keys();
    for (const key of keys) {
      const family = familyOfKey(key);
      if (filter.family !== undefined && filter.family !== family) continue;
      const best = this.loc.best(key);
      const entries: RouteEntry[] = [];
      for (const src of this.sources) {
        if (!src) continue;
        src.adjIn.forEachPath(key, (pathId, attrId) => {
          const primary = best !== undefined && best.source === src.index && best.pathId === pathId;
          if (filter.primaryOnly && !primary) return;
          const attrs = this.store.get(attrId);
          const protocol = this.protocolOf(src, attrs.local);
          if (filter.protocol !== undefined && filter.protocol !== protocol) return;
          const kernel = toSinkRoute(this.kernelPolicy, key, { local: attrs.local, nextHop: attrs.nextHop });
          const entry: RouteEntry = {
            prefix: keyToCidr(key),
            family,
            type: attrs.local === 'block' || attrs.local === 'service' ? 'blackhole' : 'unicast',
            protocol,
            since: (primary ? this.loc.sinceOf(key) : undefined) ?? src.since,
            primary,
            preference: attrs.local === 'borrowed' ? 10 : attrs.local ? 200 : 100,
            ...(attrs.local === undefined && attrs.nextHop !== undefined ? { via: attrs.nextHop } : {}),
            ...(kernel?.dev !== undefined ? { dev: kernel.dev } : {}),
            ...(kernel?.onlink ? { onlink: true } : {}),
            ...(src.peer ? { fromAddress: src.peer.peerIp, ibgp: src.peer.ibgp } : {}),
            ...(attrs.local ? { local: attrs.local } : {}),
            pathId,
            attrs,
            ...(primary ? { kernel } : {}),
            ...(primary && kernel && this.kernelRejected.has(kernel.prefix) ? { kernelRejected: true } : {}),
          };
          if (primary) entries.unshift(entry);
          else entries.push(entry);
        });
      }
      yield* entries;
    }
  }

  /** The most specific network with a best route that holds `address`. */
  private longestMatch(address: string): PrefixKey | undefined {
    let full: PrefixKey;
    try {
      full = cidrToKey(address.includes(':') ? `${address}/128` : `${address}/32`);
    } catch {
      return undefined;
    }
    if (typeof full === 'number') {
      const addr = Math.floor(full / 64);
      for (let len = 32; len >= 0; len--) {
        const key = prefix4Key((addr & maskOf(len)) >>> 0, len);
        if (this.loc.best(key)) return key;
      }
      return undefined;
    }
    const { words } = words6OfKey(full);
    for (let len = 128; len >= 0; len--) {
      const key = prefix6Key(maskWords6(words, len), len);
      if (this.loc.best(key)) return key;
    }
    return undefined;
  }

  /** Resolves once every queued change ran and the sink holds the result. */
  async settled(): Promise<void> {
    for (;;) {
      this.beforeTask?.();
      this.scheduleSink();
      const chain = this.chain;
      await chain.catch(() => undefined);
      if (this.sinkLoop) await this.sinkLoop;
      if (chain === this.chain && !this.sinkLoop && this.sinkQueued === 0) return;
    }
  }

  /**
   * Startup reconcile: reads what the sink holds (proto bird) and removes what the Loc-RIB does not
   * want there, then (re)installs what it wants. Call it once the initial tables are in; skip it
   * (or call it later) to keep the previous routes through a graceful restart.
   */
  reconcileSink(): Promise<SinkResult> {
    return this.enqueue(async () => {
      if (this.sink === null) return { applied: 0, failures: [] };
      await this.settledSink();
      const wanted = new Map<string, SinkRoute>();
      for (const key of [...this.loc.keys()]) {
        const r = this.sinkRouteOf(key, this.loc.best(key), this.kernelPolicy);
        if (r) wanted.set(r.prefix, r);
        if (this.spend(1)) await this.pause();
      }
      const present = await this.sink.dump();
      const remove: SinkRoute[] = [];
      const seen = new Set<string>();
      for (const r of present) {
        const w = wanted.get(r.prefix);
        if (w && !seen.has(r.prefix) && sinkRouteSatisfies(w, r)) seen.add(r.prefix);
        else remove.push(r);
      }
      const add = [...wanted.values()].filter((w) => !seen.has(w.prefix));
      const result = await this.sink.apply({ add, remove });
      this.recordSinkFailures(result);
      this.log?.info({ removed: remove.length, added: add.length, failures: result.failures.length }, 'kernel routes reconciled');
      return result;
    });
  }

  // ------------------------------------------------------------------ queue

  private enqueue<T>(task: () => Promise<T> | T): Promise<T> {
    // UPDATEs still waiting in the sessions' intake (daemon/rib/intake.ts) go first: call order.
    this.beforeTask?.();
    this.queued++;
    const counted = async (): Promise<T> => {
      try {
        return await task();
      } finally {
        this.queued--;
      }
    };
    const run = this.chain.then(counted, counted);
    this.chain = run.catch((e: unknown) => {
      this.log?.error({ err: e }, 'route engine task failed');
    });
    return run;
  }

  // ------------------------------------------------------------------ import

  /**
   * The UPDATE of a table arriving (IPv4 announcements only, accepted), applied at once: stored
   * and decided in one pass (announce4) with no closure, key list or other object per UPDATE.
   * False, having changed nothing, for anything else (or a filtered set, to count and log it),
   * which takes the general path (ingest). A function of its own, kept small: it is what a table
   * runs thousands of times while the process is cold, and V8 compiles it early and cheaply
   * instead of the whole general path with its closures.
   */
  private announceTable(src: Source, peer: EnginePeer, u: RibUpdate): boolean {
    const attrs = u.attrs;
    if (
      attrs === null ||
      u.endOfRib ||
      u.treatAsWithdraw ||
      u.withdrawn.length !== 0 ||
      u.nlri.length === 0 ||
      u.nlriPathIds !== undefined ||
      u.mpReach !== undefined ||
      u.mpUnreach !== undefined ||
      src.stale !== undefined ||
      !src.adjIn.simple
    ) {
      return false;
    }
    const imported = normaliseImported(attrs, peer.ibgp);
    if (!importVerdict(this.importContext(peer), imported).accept) return false;
    const id = this.store.intern(imported);
    const packed = u.nlri;
    this.clock = this.now();
    // In runs of at most ANNOUNCE_RUN prefixes per call (see announce4).
    const end = packed.length - 1;
    for (let from = 0; from < end; from += 2 * ANNOUNCE_RUN) this.announce4(src, packed, from, Math.min(end, from + 2 * ANNOUNCE_RUN), id);
    this.store.release(id);
    return true;
  }

  private importCtx: ImportContext | undefined;
  private importCtxPeer: EnginePeer | undefined;
  private importCtxIntent: NodeIntent | undefined;

  /** The import checks' context for `peer`, kept while the peer and the intent stay the same (UPDATEs of one table come from one peer). */
  private importContext(peer: EnginePeer): ImportContext {
    if (this.importCtx !== undefined && this.importCtxPeer === peer && this.importCtxIntent === this.intent) return this.importCtx;
    // Spreads only when a field is set.
    const rrClusterId = this.intent.rrClusterId;
    const ctx: ImportContext =
      rrClusterId === undefined && peer.allowLocalAs === undefined
        ? { ibgp: peer.ibgp, localAs: peer.localAs, routerId: this.intent.routerId }
        : { ibgp: peer.ibgp, localAs: peer.localAs, routerId: this.intent.routerId, ...optional('clusterId', rrClusterId), ...optional('allowLocalAs', peer.allowLocalAs) };
    this.importCtx = ctx;
    this.importCtxPeer = peer;
    this.importCtxIntent = this.intent;
    return ctx;
  }

  /**
   * Applies an UPDATE to the peer's Adj-RIB-In; returns the prefixes to decide again. `inline`:
   * plain IPv4 announcements are decided as they are stored (announce4), not returned.
   */
  private ingest(src: Source, peer: EnginePeer, u: RibUpdate, inline: boolean): PrefixKey[] {
    // A list, not a Set: a prefix listed twice is decided twice, and the second decision finds no change.
    const dirty: PrefixKey[] = [];
    if (u.endOfRib) return dirty;
    const importCtx = this.importContext(peer);
    const c = src.counters;
    /** Removes routes; `count` false when they were announcements that got filtered. */
    const withdraw = (family: Family, packed: Uint32Array, pathIds: Uint32Array | undefined, count = true) => {
      forEachPackedKey(family, packed, (key, i) => {
        if (count) c.importWithdraws.received++;
        src.stale?.get(key)?.delete(pathIds?.[i] ?? 0);
        const old = src.adjIn.delete(key, pathIds?.[i] ?? 0);
        if (old === undefined) {
          if (count) c.importWithdraws.ignored++;
          return;
        }
        if (count) c.importWithdraws.accepted++;
        this.store.release(old);
        this.loc.addCandidates(key, -1);
        this.routesByFamily[family]--;
        dirty.push(key);
      });
    };
    withdraw(4, u.withdrawn, u.withdrawnPathIds);
    if (u.mpUnreach) {
      const f = afiFamily(u.mpUnreach.afi);
      if (f) withdraw(f, u.mpUnreach.withdrawn, u.mpUnreach.pathIds);
    }
    const announce = (family: Family, packed: Uint32Array, pathIds: Uint32Array | undefined, attrs: RouteAttrs | null) => {
      if (packed.length === 0) return;
      let accepted = attrs !== null && !u.treatAsWithdraw;
      let imported: RouteAttrs | undefined;
      if (accepted && attrs) {
        imported = normaliseImported(attrs, peer.ibgp);
        const verdict = importVerdict(importCtx, imported);
        if (!verdict.accept) {
          accepted = false;
          this.log?.debug({ peer: peer.name, reason: verdict.reason }, 'routes filtered on import');
        }
      }
      if (!accepted || !imported) {
        // Filtered or treat-as-withdraw: the routes leave the Adj-RIB-In like withdrawals.
        const n = family === 4 ? packed.length / 2 : packed.length / 5;
        c.importUpdates.received += n;
        c.importUpdates.filtered += n;
        withdraw(family, packed, pathIds, false);
        return;
      }
      const id = this.store.intern(imported);
      if (inline && family === 4 && pathIds === undefined && src.stale === undefined && src.adjIn.simple) {
        this.clock = this.now();
        const end = packed.length - 1;
        for (let from = 0; from < end; from += 2 * ANNOUNCE_RUN) this.announce4(src, packed, from, Math.min(end, from + 2 * ANNOUNCE_RUN), id);
        this.store.release(id);
        return;
      }
      forEachPackedKey(family, packed, (key, i) => {
        c.importUpdates.received++;
        this.store.ref(id);
        src.stale?.get(key)?.delete(pathIds?.[i] ?? 0);
        const old = src.adjIn.set(key, pathIds?.[i] ?? 0, id);
        if (old === undefined) {
          this.loc.addCandidates(key, 1);
          this.routesByFamily[family]++;
        } else this.store.release(old);
        if (old === id) c.importUpdates.ignored++;
        else {
          c.importUpdates.accepted++;
          dirty.push(key);
        }
      });
      this.store.release(id);
    };
    announce(4, u.nlri, u.nlriPathIds, u.attrs);
    if (u.mpReach) {
      const f = afiFamily(u.mpReach.afi);
      if (f && u.attrs) {
        const nh = u.mpReach.nextHop;
        const attrs: RouteAttrs = { ...u.attrs, ...optional('nextHop', nh[0]), ...optional('nextHopLinkLocal', nh[1]) };
        announce(f, u.mpReach.nlri, u.mpReach.pathIds, attrs);
      } else if (f) announce(f, u.mpReach.nlri, u.mpReach.pathIds, null);
    }
    return dirty;
  }

  // ------------------------------------------------------------------ origination

  private localAttrId(kind: LocalKind): number {
    let id = this.localAttrIds.get(kind);
    if (id === undefined) {
      id = this.store.intern(localAttrs(kind));
      this.localAttrIds.set(kind, id);
    }
    return id;
  }

  private async applyOrigination(intent: NodeIntent): Promise<void> {
    const { routes, problems } = originate(intent);
    for (const p of problems) this.log?.warn({ cidr: p.cidr, reason: p.reason }, 'cannot originate');
    const diff = diffOrigination(this.originated, routes);
    this.originated = routes;
    const local = this.sources[LOCAL]!;
    const dirty = new Set<PrefixKey>();
    for (const key of diff.withdraw) {
      const old = local.adjIn.delete(key, 0);
      if (old === undefined) continue;
      this.store.release(old);
      this.loc.addCandidates(key, -1);
      this.routesByFamily[familyOfKey(key)]--;
      dirty.add(key);
    }
    for (const { key, kind } of diff.announce) {
      const id = this.localAttrId(kind);
      this.store.ref(id);
      const old = local.adjIn.set(key, 0, id);
      if (old === undefined) {
        this.loc.addCandidates(key, 1);
        this.routesByFamily[familyOfKey(key)]++;
      } else this.store.release(old);
      dirty.add(key);
    }
    await this.recompute(dirty, LOCAL);
    this.flushAllOutputs();
    this.scheduleSink();
  }

  // ------------------------------------------------------------------ decision

  private async recompute(keys: Iterable<PrefixKey>, hint: number): Promise<void> {
    this.clock = this.now();
    // A decision costs about one unit plus one per peer it is exported to.
    for (const key of keys) {
      this.decide(key, hint);
      if (this.spend(1 + this.takeExportWork())) {
        this.flushAllOutputs();
        await this.pause();
        this.clock = this.now();
      }
    }
  }

  /**
   * Decides `keys` without yielding: the work of one UPDATE, bounded by its size. Counts toward
   * the budget, so a queued stream of UPDATEs still yields between them.
   */
  private decideAll(keys: readonly PrefixKey[], hint: number): void {
    if (keys.length === 0) return;
    this.clock = this.now();
    for (let i = 0; i < keys.length; i++) this.decide(keys[i]!, hint);
    const units = keys.length + this.takeExportWork();
    this.budget -= units;
    this.workDone += units;
  }

  /**
   * Whether a change of best route from `oldSource` to `bestSource` (-1: none) concerns any
   * session's export side. A peer is only ever told routes from other sources, so while a table
   * arrives from the only peer there is nothing to export and no Adj-RIB-Out to touch.
   */
  private exportsAffected(oldSource: number, bestSource: number): boolean {
    if (oldSource < 0 && bestSource < 0) return false;
    let n = this.outCount();
    if (n === 0) return false;
    if (oldSource >= 0 && bestSource >= 0 && oldSource !== bestSource) return true;
    // One source involved: some other session must have an export side.
    const only = oldSource >= 0 ? oldSource : bestSource;
    if (this.sources[only]?.out) n--;
    return n > 0;
  }

  /**
   * The IPv4 announcements of one UPDATE from a peer with no ADD-PATH paths and no stale routes:
   * each prefix is stored and decided in one pass, with no key list or closure per prefix.
   */
  /**
   * Prefixes `from / 2` up to (not including) `to / 2` of `packed`; the caller has read the clock.
   * Callers pass runs of at most ANNOUNCE_RUN prefixes: an UPDATE of a thousand prefixes (one
   * attribute set) would have V8 compile this loop on the stack (OSR) during the first UPDATEs and
   * then again as a whole; called with short runs, it is compiled once, as a function.
   */
  private announce4(src: Source, packed: Uint32Array, from: number, to: number, id: number): void {
    const adj = src.adjIn;
    const loc = this.loc;
    const hint = src.index;
    let accepted = 0;
    let added = 0;
    const n = (to - from + 1) >> 1;
    // The Adj-RIB-In's references on `id`, taken after the loop in one step: the caller holds one
    // throughout, so no release in between can free the set.
    let refs = 0;
    try {
      for (let i = from; i < to; i += 2) {
        const addr = packed[i]!;
        const len = packed[i + 1]!;
        // One lookup in the Loc-RIB's prefix index: the Adj-RIB-In is indexed by its slots.
        const slot = loc.acquire4(addr, len);
        const old = adj.setAt(slot, id);
        let count: number;
        if (old === undefined) {
          refs++;
          count = loc.oneMoreCandidate(slot);
          added++;
        } else {
          // The same set again: the reference the Adj-RIB-In holds stays.
          if (old === id) continue;
          refs++;
          this.store.release(old);
          count = loc.candidatesAt(slot);
        }
        accepted++;
        this.decideAt(slot, addr * 64 + len, hint, count === 1 ? id : 0);
      }
    } finally {
      if (refs > 0) this.store.ref(id, refs);
    }
    const c = src.counters.importUpdates;
    c.received += n;
    c.accepted += accepted;
    c.ignored += n - accepted;
    this.routesByFamily[4] += added;
    // A decision per prefix, plus the export work they caused.
    const units = accepted + this.takeExportWork();
    this.budget -= units;
    this.workDone += units;
  }

  /**
   * Counts work toward the next yield. The budget spans calls: a stream of small UPDATEs runs as
   * promise continuations (microtasks) and would otherwise never let timers or sockets run.
   */
  private spend(units: number): boolean {
    this.budget -= units;
    return this.budget <= 0;
  }

  private async pause(): Promise<void> {
    this.budget = this.yieldEvery;
    await yieldToLoop();
  }

  private decide(key: PrefixKey, hint: number): void {
    const slot = this.loc.slot(key);
    const single = slot >= 0 && this.loc.candidatesAt(slot) === 1 ? this.sources[hint]?.adjIn.singleAt(slot) : undefined;
    this.decideAt(slot, key, hint, single ?? 0);
  }

  /**
   * The decision for `key` at Loc-RIB `slot` (-1: none). `single` is the attribute id when the
   * prefix's only candidate is path 0 of source `hint` (0: not known, look).
   */
  private decideAt(slot: number, key: PrefixKey, hint: number, single: number): void {
    // Plain numbers, not BestRef objects: this runs once per changed prefix.
    const count = slot < 0 ? 0 : this.loc.candidatesAt(slot);
    const oldSource = slot < 0 ? -1 : this.loc.bestSourceAt(slot);
    const oldPathId = oldSource < 0 ? 0 : this.loc.bestPathIdAt(slot);
    const oldAttr = oldSource < 0 ? 0 : this.loc.bestAttrAt(slot);
    let bestSource = -1;
    let bestPathId = 0;
    let bestAttr = 0;
    if (single !== 0) {
      bestSource = hint;
      bestAttr = single;
    } else if (count > 0) {
      const refs: BestRef[] = [];
      const cands: Candidate[] = [];
      for (const src of this.sources) {
        if (!src) continue;
        src.adjIn.forEachPath(key, (pathId, attrId) => {
          refs.push({ source: src.index, pathId, attrId });
          cands.push({ ...src.candidate, attrs: this.store.get(attrId), pathId });
        });
      }
      const chosen = cands.length > 0 ? refs[selectBest(cands).index] : undefined;
      if (chosen) {
        bestSource = chosen.source;
        bestPathId = chosen.pathId;
        bestAttr = chosen.attrId;
      }
    }
    if (oldSource === bestSource && (bestSource < 0 || (oldPathId === bestPathId && oldAttr === bestAttr))) return;
    const family = familyOfKey(key);
    if (oldSource >= 0) {
      const prev = this.sources[oldSource];
      if (prev) prev.preferred--;
    }
    // The Loc-RIB holds a reference on its best set: the old one is still needed just below.
    if (bestSource >= 0) {
      this.store.ref(bestAttr);
      this.sources[bestSource]!.preferred++;
      if (oldSource < 0) this.networksByFamily[family]++;
      this.loc.setBestAt(slot, bestSource, bestPathId, bestAttr, this.clock);
    } else {
      this.networksByFamily[family]--;
      this.loc.clearBestAt(slot, key);
    }
    this.queueSink(key, oldSource < 0 ? 0 : oldAttr, this.kernelPolicy);
    if (oldSource >= 0) this.store.release(oldAttr);
    if (this.exportsAffected(oldSource, bestSource)) this.exportToAll(key, bestSource, bestAttr);
  }

  // ------------------------------------------------------------------ export

  /** The export side of a session that came up. */
  /**
   * The export side of a session that came up. It shares its class's Adj-RIB-Out when that holds
   * nothing yet and the peer has no routes of its own (retained through a graceful restart) that
   * could be best; the caller adds it to `shared.members`.
   */
  private newOutput(peer: EnginePeer, output: PeerOutput, hasRoutes: boolean): NonNullable<Source['out']> {
    const cls = this.exportClasses.join(peer);
    this.groups = undefined;
    let shared = this.sharedOuts.get(cls);
    if (!shared && !hasRoutes) {
      shared = { cls, adjOut: new AdjRibOut(cls, this.exportIndex), members: [], counters: emptyRouteCounters() };
      this.sharedOuts.set(cls, shared);
    }
    if (shared && (hasRoutes || shared.adjOut.size > 0 || shared.adjOut.pendingCount > 0)) shared = undefined;
    return {
      sharedBase: { ...cls.shared },
      adjOut: shared ? shared.adjOut : new AdjRibOut(cls, this.exportIndex),
      shared,
      sharedCountersBase: exportCountersOf(shared ? shared.counters : emptyRouteCounters()),
      output,
      target: {
        ibgp: peer.ibgp,
        localAs: peer.localAs,
        selfNextHop: selfNextHops(peer),
        keepOriginalNextHop: peer.keepOriginalNextHop,
        rrClient: peer.rrClient,
      },
      ctx: peer.context ?? contextOf(peer),
      cls,
    };
  }

  /** Export work since takeExportWork: a class's verdict is one unit, a member's Adj-RIB-Out write MEMBER_UNIT. */
  private exportWork = 0;

  private takeExportWork(): number {
    const w = this.exportWork;
    this.exportWork = 0;
    return w;
  }

  /** About what exporting one prefix from source `except` costs, in work units (one per class it may go to, a fraction per member). */
  private exportUnits(except: number): number {
    const groups = this.outGroups();
    // Asked once per UPDATE, nearly always for the same source: remembered until the groups change.
    if (this.unitsMemo.groups === groups && this.unitsMemo.except === except) return this.unitsMemo.units;
    let units = 0;
    for (const g of groups) {
      if (g.members.length === 1 && g.members[0]!.index === except) continue;
      units += 1 + (g.shared ? 1 : 0) + g.own.length * MEMBER_UNIT;
    }
    this.unitsMemo = { groups, except, units };
    return units;
  }

  private unitsMemo: { groups: readonly OutGroup[] | undefined; except: number; units: number } = { groups: undefined, except: -1, units: 0 };

  /** Sessions with an export side. */
  private outCount(): number {
    if (!this.groups) this.outGroups();
    return this.outputs;
  }

  /** The sessions with an export side, grouped by export class (rebuilt after a peer comes or goes). */
  private outGroups(): readonly OutGroup[] {
    if (this.groups) return this.groups;
    const byClass = new Map<ExportClass, Source[]>();
    for (const s of this.sources) {
      if (!s?.out) continue;
      let list = byClass.get(s.out.cls);
      if (!list) byClass.set(s.out.cls, (list = []));
      list.push(s);
    }
    this.outputs = 0;
    for (const list of byClass.values()) this.outputs += list.length;
    this.groups = [...byClass].map(([cls, members]) => {
      const shared = this.sharedOuts.get(cls);
      return { cls, members, own: members.filter((m) => !m.out!.shared), shared: shared && shared.members.length > 0 ? shared : undefined };
    });
    return this.groups;
  }

  /**
   * Exports `key` (best route from source `bestSource`, attribute set `bestAttr`; -1: none) to
   * every peer. The verdict and the exported set are worked out once per export class; a prefix
   * no Adj-RIB-Out holds and that goes nowhere costs nothing per member (its counters move once
   * for the class).
   */
  private exportToAll(key: PrefixKey, bestSource: number, bestAttr: number): void {
    let slot = this.exportIndex.slotOf(key);
    const owner = bestSource < 0 ? undefined : this.sources[bestSource];
    // A member of a shared Adj-RIB-Out that is now the source of the best route must not get it
    // back: it takes a copy of its own first.
    if (owner?.out?.shared) this.ownAdjRibOut(owner);
    let work = 0;
    for (const { cls, members, own, shared } of this.outGroups()) {
      const ownerHere = owner !== undefined && owner.out?.cls === cls;
      const first = ownerHere && members[0] === owner ? members[1] : members[0];
      if (first === undefined) {
        if (slot >= 0) this.applyExport(owner!.out!.adjOut, owner!.counters, slot, EXPORT_NONE);
        continue;
      }
      const result = bestSource < 0 ? EXPORT_NONE : this.exportResult(first, key, bestSource, bestAttr);
      work += 1;
      if (result <= 0 && slot < 0) {
        // Nothing held anywhere: no withdrawal to send, only the refusal to count.
        if (result === EXPORT_NONE) continue;
        if (!ownerHere) {
          cls.shared.received++;
          if (result === EXPORT_FILTERED) cls.shared.filtered++;
          else cls.shared.rejected++;
          continue;
        }
      }
      if (slot < 0) slot = this.exportIndex.acquire(key);
      // Once for every member sharing the class's Adj-RIB-Out (the owner never does: see above).
      if (shared) this.applyExport(shared.adjOut, shared.counters, slot, result);
      for (let i = 0; i < own.length; i++) {
        const dest = own[i]!;
        this.applyExport(dest.out!.adjOut, dest.counters, slot, dest === owner ? EXPORT_NONE : result);
      }
      work += own.length * MEMBER_UNIT;
      if (result > 0) cls.release(result);
    }
    this.exportWork += work;
    if (slot >= 0) this.exportIndex.releaseIfUnused(slot);
  }

  /** A member of its class's shared Adj-RIB-Out leaves it for a copy of its own (same state, same pending changes). */
  private ownAdjRibOut(dest: Source): void {
    const out = dest.out!;
    const shared = out.shared;
    if (!shared) return;
    // Its only member takes the shared one over as it is (in a mesh, each peer's first route
    // comes while it is alone there): no copy to make and no shared state left to clear.
    const alone = shared.members.length === 1 && shared.members[0] === dest;
    out.adjOut = alone ? shared.adjOut : shared.adjOut.clone();
    this.leaveShared(dest, alone);
  }

  /**
   * Ends `dest`'s use of the shared Adj-RIB-Out (what it counted there becomes its own); the last
   * member out clears it, unless it `keeps` it as its own.
   */
  private leaveShared(dest: Source, keeps = false): void {
    const out = dest.out!;
    const shared = out.shared!;
    addExportDelta(dest.counters, shared.counters, out.sharedCountersBase);
    out.shared = undefined;
    const i = shared.members.indexOf(dest);
    if (i >= 0) shared.members.splice(i, 1);
    if (shared.members.length === 0) {
      if (!keeps) shared.adjOut.clear();
      if (this.sharedOuts.get(shared.cls) === shared) this.sharedOuts.delete(shared.cls);
    }
    this.groups = undefined;
  }

  private exportTo(dest: Source, key: PrefixKey, best: BestRef | undefined): void {
    // The source of the route may share dest's Adj-RIB-Out (its routes went nowhere until now): it must not get them back.
    const owner = best ? this.sources[best.source] : undefined;
    if (owner !== dest && owner?.out?.shared) this.ownAdjRibOut(owner);
    const result = !best || best.source === dest.index ? EXPORT_NONE : this.exportResult(dest, key, best.source, best.attrId);
    // A route that goes nowhere (an iBGP-learned one toward an iBGP peer: most of a mesh's table,
    // met once per route for every peer that comes up) needs no slot when no Adj-RIB-Out holds the prefix.
    if (result === EXPORT_NONE && this.exportIndex.slotOf(key) < 0) return;
    const slot = this.exportIndex.acquire(key);
    // A peer sharing its class's Adj-RIB-Out (it joined while that was empty) records there, and counts for itself.
    this.applyExport(dest.out!.adjOut, dest.counters, slot, result);
    this.exportIndex.releaseIfUnused(slot);
    if (result > 0) dest.out!.cls.release(result);
  }

  /**
   * What `best` becomes toward `dest` (the same for its whole export class): an exported
   * attribute-set id of the class (> 0, with one reference for the caller) or an EXPORT_* outcome.
   */
  private exportResult(dest: Source, key: PrefixKey, bestSource: number, bestAttr: number): number {
    const out = dest.out!;
    const family = familyOfKey(key);
    if (!dest.peer!.families.includes(family)) return EXPORT_NONE;
    const src = this.sources[bestSource]!;
    if (!bgpMayAdvertise(src.routeSource, out.target, this.intent.rrClusterId)) return EXPORT_NONE;
    if (!exportVerdict(this.exportPolicy, key, undefined, dest.peer!.ibgp).accept) return EXPORT_FILTERED;
    // No address of this family on the session to put in NEXT_HOP: the route cannot go there.
    if (out.target.selfNextHop[family] === undefined && needsSelfNextHop(src.routeSource, out.target)) return EXPORT_REJECTED;
    return this.exportedAttrId(dest, bestAttr, src, family);
  }

  /** Records an exportResult for the prefix at `slot` (exportIndex) in an Adj-RIB-Out and its counters. */
  private applyExport(adjOut: AdjRibOut, c: ExportCounters, slot: number, result: number): void {
    if (result !== EXPORT_NONE) c.exportUpdates.received++;
    if (result > 0) {
      if (adjOut.announceAt(slot, result)) c.exportUpdates.accepted++;
      return;
    }
    if (result === EXPORT_FILTERED) c.exportUpdates.filtered++;
    else if (result === EXPORT_REJECTED) c.exportUpdates.rejected++;
    if (adjOut.withdrawAt(slot)) {
      c.exportWithdraws.received++;
      c.exportWithdraws.accepted++;
    }
  }

  /** The exported attribute set of a route for `dest`'s export class (its id there), with one reference for the caller. */
  private exportedAttrId(dest: Source, attrId: number, src: Source, family: Family): number {
    const out = dest.out!;
    const cls = out.cls;
    const cache = cls.exported;
    if (out.cls.clusterId !== this.intent.rrClusterId) {
      cache.clear();
      out.cls.clusterId = this.intent.rrClusterId;
    }
    // The key carries the source (ORIGINATOR_ID when reflecting) and the family (next hop self).
    const cacheKey = (attrId * 32768 + src.index) * 2 + (family === 6 ? 1 : 0);
    const cached = cache.get(cacheKey);
    // The cache holds no references: an entry whose set was freed meanwhile is rebuilt.
    if (cached !== undefined && cls.has(cached)) {
      cls.ref(cached);
      return cached;
    }
    if (cache.size > OUT_CACHE_LIMIT && cache.size > 2 * cls.size) cache.clear();
    const attrs = exportAttrs(this.store.get(attrId), family, src.routeSource, out.target, this.intent.rrClusterId);
    const id = cls.intern(attrs, family);
    cache.set(cacheKey, id);
    return id;
  }

  private async reexportAll(): Promise<void> {
    const dests = this.sources.filter((s): s is Source => s?.out !== undefined);
    if (dests.length === 0) return;
    for (const key of [...this.loc.keys()]) {
      const best = this.loc.best(key);
      this.exportToAll(key, best ? best.source : -1, best ? best.attrId : 0);
      if (this.spend(1 + this.takeExportWork())) {
        this.flushAllOutputs();
        await this.pause();
      }
    }
  }

  private flushAllOutputs(): void {
    for (const g of this.outGroups()) if (g.shared && g.shared.adjOut.pendingCount > 0) this.flushShared(g.shared);
    // Per export class, the last batch encoded and its messages: a member with its own Adj-RIB-Out
    // and the same changes (the usual case in a mesh) sends the same bytes without encoding them again.
    let same: Map<ExportClass, { batch: OutBatch; msgs: Uint8Array[] }> | undefined;
    for (const s of this.sources) if (s?.out && !s.out.shared && s.out.adjOut.pendingCount > 0) this.flushOutput(s, (same ??= new Map()));
  }

  /** The pending changes of a shared Adj-RIB-Out, encoded once and written to every member. */
  private flushShared(shared: SharedOut): void {
    if (shared.adjOut.pendingCount === 0 || shared.members.length === 0) return;
    const first = shared.members[0]!;
    const msgs = this.encodeBatch(first, shared.adjOut.drain());
    if (msgs.length === 0) return;
    for (const m of shared.members) m.out!.output.send(msgs);
  }

  private flushOutput(dest: Source, same?: Map<ExportClass, { batch: OutBatch; msgs: Uint8Array[] }>): void {
    const out = dest.out!;
    if (out.shared) return this.flushShared(out.shared);
    if (out.adjOut.pendingCount === 0) return;
    const prev = same?.get(out.cls);
    if (prev && out.adjOut.drainIfSame(prev.batch)) {
      if (prev.msgs.length > 0) out.output.send(prev.msgs);
      return;
    }
    const batch = out.adjOut.drain();
    const msgs = this.encodeBatch(dest, batch);
    same?.set(out.cls, { batch, msgs });
    if (msgs.length > 0) out.output.send(msgs);
  }

  /** The UPDATEs of a drained batch, in the encoding of `dest`'s class. */
  private encodeBatch(dest: Source, batch: OutBatch): Uint8Array[] {
    const out = dest.out!;
    const ctx = out.ctx;
    const msgs: Uint8Array[] = [];
    // An encoding failure loses that group only (logged), never the whole batch or the task.
    for (const [family, keys] of batch.withdraw) {
      const addPath = family === 4 ? ctx.addPathTx.ipv4 : ctx.addPathTx.ipv6;
      try {
        for (const m of this.encoder.withdrawals(family, packKeys(family, keys), ctx, addPath ? pathIdsFor(keys.length) : undefined)) msgs.push(m);
      } catch (e) {
        this.log?.error({ peer: dest.name, what: 'withdrawals', err: (e as Error).message }, 'cannot encode UPDATE');
      }
    }
    const enc = this.encoder;
    for (const [family, byAttr] of batch.announce) {
      const addPath = family === 4 ? ctx.addPathTx.ipv4 : ctx.addPathTx.ipv6;
      for (const [attrId, keys] of byAttr) {
        const set = out.cls.get(attrId);
        const packed = packKeys(family, keys);
        const ids = addPath ? pathIdsFor(keys.length) : undefined;
        try {
          const encoded = set.enc && enc.updatesEncoded ? enc.updatesEncoded(set.enc, set.attrs, family, packed, ctx, ids) : enc.updates(set.attrs, family, packed, ctx, ids);
          for (let i = 0; i < encoded.length; i++) msgs.push(encoded[i]!);
        } catch (e) {
          this.log?.error({ peer: dest.name, what: 'announcements', err: (e as Error).message }, 'cannot encode UPDATE');
        }
      }
    }
    return msgs;
  }

  // ------------------------------------------------------------------ peers

  private detachOutput(src: Source): void {
    if (!src.out) return;
    if (src.out.shared) this.leaveShared(src);
    else src.out.adjOut.clear();
    // What the class counted for it while it was a member becomes its own.
    const { shared } = src.out.cls;
    const base = src.out.sharedBase;
    const c = src.counters.exportUpdates;
    c.received += shared.received - base.received;
    c.filtered += shared.filtered - base.filtered;
    c.rejected += shared.rejected - base.rejected;
    this.exportClasses.leave(src.out.cls);
    src.out = undefined;
    this.groups = undefined;
  }

  private async removeSource(src: Source): Promise<void> {
    this.byName.delete(src.name);
    this.detachOutput(src);
    src.stale = undefined;
    const dirty: PrefixKey[] = [];
    for (const [key, , attrId] of [...src.adjIn.entries()]) {
      this.store.release(attrId);
      this.loc.addCandidates(key, -1);
      this.routesByFamily[familyOfKey(key)]--;
      dirty.push(key);
    }
    src.adjIn.clear();
    await this.recompute(dirty, src.index);
    this.sources[src.index] = undefined;
  }

  private protocolOf(src: Source, local: LocalKind | undefined): string {
    if (src.index !== LOCAL) return src.name;
    return local === 'borrowed' ? this.kernelProtocol : this.staticProtocol;
  }

  // ------------------------------------------------------------------ kernel

  private sinkRouteFromRef(key: PrefixKey, ref: BestRef | undefined, policy: KernelPolicy): SinkRoute | null {
    if (!ref) return null;
    return this.sinkRouteOfAttr(key, ref.attrId, policy);
  }

  /** The kernel route of `key` whose best route has attribute set `attrId` (0: no best route). */
  private sinkRouteOfAttr(key: PrefixKey, attrId: number, policy: KernelPolicy): SinkRoute | null {
    // The interned set carries local / nextHop / nextHopLinkLocal itself: no copy per prefix. The
    // route keeps the prefix as its key (sink/route.ts): no text unless a sink asks for it.
    return attrId === 0 ? null : kernelRoute(policy, key, this.store.get(attrId));
  }

  private sinkRouteOf(key: PrefixKey, best: BestRef | undefined, policy: KernelPolicy): SinkRoute | null {
    return this.sinkRouteFromRef(key, best, policy);
  }

  /** What the kernel should hold for `key` now. */
  private wantedSinkRoute(key: PrefixKey): SinkRoute | null {
    const slot = this.loc.slot(key);
    if (slot < 0 || this.loc.bestSourceAt(slot) < 0) return null;
    return this.sinkRouteOfAttr(key, this.loc.bestAttrAt(slot), this.kernelPolicy);
  }

  /**
   * Notes that the kernel route of `key` may change; `beforeAttr` (0: none) and `policy` give what
   * the kernel holds now. What it should hold is read when the sink loop gets there, so a prefix
   * that changes many times costs one kernel route, and one toSinkRoute for a new prefix.
   */
  private queueSink(key: PrefixKey, beforeAttr: number, policy: KernelPolicy): void {
    if (this.sink === null) return;
    // Queued already: the kernel still holds what was noted then (and the batch that takes it
    // reads its latest route).
    if (this.sinkPending.has(key) || (this.sinkTaking.size > 0 && this.sinkTaking.has(key))) return;
    // A new prefix (the bulk of a table) has no kernel route yet: decided here, so the mapping
    // is called (and compiled) only from the batch that reads what the kernel should hold.
    const before = beforeAttr === 0 ? null : this.sinkRouteOfAttr(key, beforeAttr, policy);
    this.sinkPending.set(key, before === null ? -1 : this.sinkBefore.push(before) - 1);
  }

  private async reprogramKernel(next: KernelPolicy): Promise<void> {
    const prev = this.kernelPolicy;
    this.kernelPolicy = next;
    for (const key of [...this.loc.keys()]) {
      const best = this.loc.best(key);
      this.queueSink(key, best?.attrId ?? 0, prev);
      if (this.spend(1)) await this.pause();
    }
    this.scheduleSink();
  }

  /**
   * Kernel batches: the first small, so the kernel starts on it within milliseconds, then doubling
   * up to sinkBatch; SINK_IN_FLIGHT of them handed over at once, so the sink programs one while the
   * next waits (sinks apply their calls in call order). While a slot is free, a full batch goes as
   * soon as one is queued, from the UPDATE that completed it (while a table arrives the kernel
   * works on its first routes while the rest are decided, rather than after the socket read, or
   * the whole table, was), and whatever is queued goes at the end of the turn (setImmediate: the
   * UPDATEs processed back to back join one batch) or when an answer frees a slot.
   */
  private scheduleSink(): void {
    if (this.sinkQueued === 0) return;
    if (this.sinkLoop === undefined) this.sinkLoop = new Promise<void>((resolve) => (this.sinkIdle = resolve));
    // No slot free: the next answer pumps.
    if (this.sinkInFlight >= SINK_IN_FLIGHT) return;
    if (this.sinkQueued >= this.sinkLimit) this.pumpSink(false);
    if (this.sinkQueued > 0 && this.sinkInFlight < SINK_IN_FLIGHT) this.pumpSoon();
  }

  /** Pumps (anything queued) on the next macrotask. */
  private pumpSoon(): void {
    if (this.sinkSoon) return;
    this.sinkSoon = true;
    setImmediate(() => {
      this.sinkSoon = false;
      this.pumpSink(true);
    });
  }

  /** An answer freed a slot: the next batch goes now, unless this turn already handed over a full batch's worth (a sink that answers at once). */
  private sinkAnswered(): void {
    this.sinkInFlight--;
    if (this.sinkTurnRoutes >= this.sinkBatch) this.pumpSoon();
    else this.pumpSink(true);
  }

  /** Hands batches to the sink while a slot is free: full ones, and with `any` what is queued. */
  private pumpSink(any: boolean): void {
    try {
      while (this.sinkInFlight < SINK_IN_FLIGHT && this.sinkQueued > 0 && (any || this.sinkQueued >= this.sinkLimit)) this.sendSinkBatch();
    } catch (e) {
      this.log?.error({ err: e }, 'kernel batch failed');
      // Tried again on the next turn.
      if (this.sinkInFlight === 0 && this.sinkQueued > 0) this.pumpSoon();
    }
    if (this.sinkInFlight === 0 && this.sinkQueued === 0 && !this.sinkSoon) {
      // Idle: the next backlog starts with a small batch again.
      this.sinkLimit = Math.min(this.sinkBatch, FIRST_SINK_BATCH);
      const idle = this.sinkIdle;
      this.sinkLoop = undefined;
      this.sinkIdle = undefined;
      idle?.();
    }
  }

  /** Changes queued for the sink and not yet in a batch. */
  private get sinkQueued(): number {
    return this.sinkTaking.size + this.sinkPending.size;
  }

  /** Takes up to a batch of changes from the queue, in the order queued, and hands them to the sink. */
  private sendSinkBatch(): void {
    const limit = this.sinkLimit;
    const add: SinkRoute[] = [];
    const remove: SinkRoute[] = [];
    let taken = 0;
    // What the kernel should hold is read now: a prefix that changed many times since it was
    // queued costs one kernel route. The batch is built in one go, so no prefix is queued again
    // meanwhile: it may go on from the end of one queue into the next.
    while (add.length + remove.length < limit) {
      if (this.sinkTaking.size === 0) {
        if (this.sinkPending.size === 0) break;
        this.sinkTaking = this.sinkPending;
        this.sinkTakingBefore = this.sinkBefore;
        this.sinkFrom = 0;
        this.sinkPending = new PrefixMap();
        this.sinkBefore = [];
      }
      const taking = this.sinkTaking;
      const before = this.sinkTakingBefore;
      // At most SINK_WALK_RUN entries per walk: V8 then optimises the walk once, as a function,
      // rather than on the stack during a table's first batch and again for the next.
      let run = 0;
      const pos = taking.walk(this.sinkFrom, (bi, key) => {
        taking.delete(key);
        taken++;
        run++;
        const b = bi < 0 ? null : before[bi]!;
        const a = this.wantedSinkRoute(key);
        if (sameSinkRoute(b, a)) return run < SINK_WALK_RUN;
        if (a) add.push(a);
        else if (b) remove.push(b);
        return add.length + remove.length < limit && run < SINK_WALK_RUN;
      });
      if (pos < 0 || taking.size === 0) {
        // All taken (the next batch starts on the changes queued since).
        this.sinkTaking = new PrefixMap();
        this.sinkTakingBefore = [];
        this.sinkFrom = 0;
      } else this.sinkFrom = pos;
    }
    const n = add.length + remove.length;
    // Building and handing over a batch counts toward the turn of a queued task.
    this.spend(taken + n);
    if (n === 0) return;
    if (n >= limit) this.sinkLimit = Math.min(this.sinkBatch, limit * 2);
    this.sinkInFlight++;
    if (this.sinkTurnRoutes === 0) setImmediate(() => (this.sinkTurnRoutes = 0));
    this.sinkTurnRoutes += n;
    void this.applySink(add, remove).then(() => this.sinkAnswered());
  }

  private async settledSink(): Promise<void> {
    while (this.sinkLoop) await this.sinkLoop;
  }

  private async applySink(add: SinkRoute[], remove: SinkRoute[]): Promise<void> {
    if (this.sink === null) return;
    try {
      const result = await this.sink.apply({ add, remove });
      // Prefixes whose install failed before are cleared by this batch (none, almost always).
      if (this.kernelRejected.size > 0) {
        for (const r of add) this.kernelRejected.delete(r.prefix);
        for (const r of remove) this.kernelRejected.delete(r.prefix);
      }
      this.recordSinkFailures(result);
    } catch (e) {
      // A sink must report per route; if it throws anyway, record the whole batch as failed.
      const reason = (e as Error).message;
      this.recordSinkFailures({ applied: 0, failures: [...add, ...remove].map((route) => ({ route: plainSinkRoute(route), reason })) });
    }
  }

  private recordSinkFailures(result: SinkResult): void {
    for (const f of result.failures) {
      this.sinkFailureTotal++;
      this.kernelRejected.add(f.route.prefix);
      const route = plainSinkRoute(f.route);
      this.sinkFailures.push({ route, reason: f.reason, at: new Date(this.now() * 1000) });
      this.log?.warn({ route, reason: f.reason }, 'kernel route failed');
    }
    if (this.sinkFailures.length > 100) this.sinkFailures.splice(0, this.sinkFailures.length - 100);
  }
}

/** The codec's batch encoders behind the engine's family-based interface. */
export const codecEncoder: UpdateEncoder = {
  updates: (attrs, family, prefixes, ctx, pathIds) => encodeUpdates(attrs, family === 4 ? 1 : 2, prefixes, ctx, pathIds),
  updatesEncoded: (enc, attrs, family, prefixes, ctx, pathIds) => encodeUpdatesWith(enc, attrs, family === 4 ? 1 : 2, prefixes, ctx, pathIds),
  withdrawals: (family, prefixes, ctx, pathIds) => encodeWithdrawals(family === 4 ? 1 : 2, prefixes, ctx, pathIds),
  endOfRib: (family) => encodeEndOfRib(family === 4 ? 1 : 2, 1),
};

function exportSignatureOf(intent: NodeIntent): string {
  return JSON.stringify([intent.pools.map((p) => [p.cidr, p.disableBGPExport]), intent.ownBlocks, intent.serviceRoutes]);
}

/** Whether exportAttrs will put our own address in NEXT_HOP for this route and peer. */
function needsSelfNextHop(source: RouteSource, target: ExportTarget): boolean {
  return source.local || (!target.ibgp && !target.keepOriginalNextHop);
}

function afiFamily(afi: number): Family | undefined {
  return afi === 1 ? 4 : afi === 2 ? 6 : undefined;
}

function selfNextHops(peer: EnginePeer): { 4?: string; 6?: string } {
  const v6 = peer.localAddress.includes(':');
  const out: { 4?: string; 6?: string } = {};
  if (v6) out[6] = peer.localAddress;
  else out[4] = peer.localAddress;
  if (peer.localAddress6 !== undefined) out[6] = peer.localAddress6;
  return out;
}

function contextOf(peer: EnginePeer): CodecContext {
  return {
    as4: peer.as4,
    addPathRx: { ipv4: peer.addPathRx, ipv6: peer.addPathRx },
    addPathTx: { ipv4: peer.addPathTx, ipv6: peer.addPathTx },
    extendedMessage: peer.extendedMessage ?? false,
  };
}

/** Every route is sent with path id 1: we advertise only the best path, as one path. */
function pathIdsFor(n: number): Uint32Array {
  return new Uint32Array(n).fill(1);
}

/** `{ [k]: v }` when v is defined, `{}` otherwise (exactOptionalPropertyTypes-friendly spreads). */
function optional<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}
