/**
 * Graceful restart around the route engine seam: wraps the sessions → RIB bridge and keeps the
 * two roles' state and timers (RFC 4724).
 *
 * - Receiving speaker: a GR-capable peer whose session fails (no NOTIFICATION) keeps its routes,
 *   stale, in the RIB and the kernel for its restart time; when it is back its re-announcements
 *   refresh them and its End-of-RIB (or the stale timer) purges the rest. A peer removed from the
 *   configuration is released at once; each peer has its own timers, so one that never returns
 *   holds up nobody else.
 * - Restarting speaker: while recovering (kernel routes were preserved across our restart), the
 *   OPENs carry the Restart State and Forwarding State bits; once every configured peer sent
 *   End-of-RIB, or our restart time passed, `onRecovered` runs (main removes the stale kernel
 *   routes then) and later OPENs are plain.
 */
import type { CodecContext } from '../../proto/context.js';
import type { IntentAwareEngine } from '../daemon.js';
import type { Logger } from '../log.js';
import type { Family, NodeIntent, SinkResult } from '../model.js';
import type { SessionUp } from '../session/engine.js';
import { endOfRibFamily, familiesToPurgeOnReturn, peerGrOf, recoveryDone, retainedFamilies, sessionEndOf, type PeerGr } from './decisions.js';

/** What graceful restart needs from daemon/rib's RouteEngine. */
export interface StaleCapableRib {
  peerDown(name: string, opts?: { readonly retain?: boolean }): Promise<void>;
  purgeStale(name: string, family?: Family): Promise<number>;
  reconcileSink(): Promise<SinkResult>;
}

/** Starts a one-shot timer of `seconds`; returns its cancel. */
export type StartTimer = (seconds: number, fire: () => void) => () => void;

const realTimer: StartTimer = (seconds, fire) => {
  const t = setTimeout(fire, seconds * 1000);
  t.unref();
  return () => clearTimeout(t);
};

export interface RecoveryOptions {
  /** Configured peer names at start: recovery waits for End-of-RIB from each. */
  readonly peers: readonly string[];
  /** Selection deferral: our restart time in seconds. */
  readonly deferral: number;
  /** Runs once when recovery is over (remove what nobody re-announced). */
  readonly onRecovered: (why: 'end-of-rib' | 'deferral-timeout') => void | Promise<void>;
}

export interface GracefulRestartOptions {
  /** The engine the sessions would otherwise talk to (RibBridge). */
  readonly inner: IntentAwareEngine;
  readonly rib: StaleCapableRib;
  readonly log: Logger;
  readonly timer?: StartTimer;
  /** Our N bit (RFC 8538); we advertise none, so NOTIFICATIONs always end GR. */
  readonly localNotification?: boolean;
  /** Clock in seconds (tests). */
  readonly now?: () => number;
}

interface Retained {
  families: Family[];
  cancel: () => void;
  /** 'restart' while the peer is away, 'stale' once it is back and we wait for its End-of-RIB. */
  phase: 'restart' | 'stale';
}

export class GracefulRestartEngine implements IntentAwareEngine {
  private readonly sessions = new Map<string, { families: readonly Family[]; gr: PeerGr | undefined }>();
  private readonly retained = new Map<string, Retained>();
  private readonly timer: StartTimer;
  private readonly now: () => number;
  private recovery: { pending: Set<string>; eor: Map<string, Set<Family>>; families: Map<string, readonly Family[]>; start: number; opts: RecoveryOptions; cancel: () => void } | undefined;
  private recovered = true;

  constructor(private readonly opts: GracefulRestartOptions) {
    this.timer = opts.timer ?? realTimer;
    this.now = opts.now ?? (() => Date.now() / 1000);
  }

  /** Restarting speaker: begins recovery (call before the sessions start). */
  startRecovery(r: RecoveryOptions): void {
    this.recovered = false;
    this.recovery = {
      pending: new Set(r.peers),
      eor: new Map(),
      families: new Map(),
      start: this.now(),
      opts: r,
      cancel: this.timer(r.deferral, () => this.checkRecovery(true)),
    };
    this.opts.log.info({ peers: r.peers.length, deferral: r.deferral }, 'graceful restart: recovering, kernel routes kept until every peer sent End-of-RIB');
    this.checkRecovery(false);
  }

  /** The restart flags our OPENs carry now. */
  localRestartState(): { restarting: boolean } {
    return { restarting: !this.recovered };
  }

  get recovering(): boolean {
    return !this.recovered;
  }

  /** Peers whose routes are retained (restarting or waiting for their End-of-RIB), for status and tests. */
  retainedPeers(): string[] {
    return [...this.retained.keys()].sort();
  }

  // ---------------------------------------------------------------- RouteEngine

  peerUp(up: SessionUp): void {
    const name = up.peer.name;
    const gr = peerGrOf(up.peerCaps);
    this.sessions.set(name, { families: up.families, gr });
    this.opts.inner.peerUp(up);
    const r = this.retained.get(name);
    if (r) {
      r.cancel();
      const purgeNow = familiesToPurgeOnReturn(r.families, gr);
      for (const f of purgeNow) this.purge(name, f, 'peer returned without preserving forwarding');
      r.families = r.families.filter((f) => !purgeNow.includes(f));
      if (r.families.length === 0) this.retained.delete(name);
      else {
        r.phase = 'stale';
        // Bounded: a peer that never sends End-of-RIB loses its stale routes after its restart time.
        const bound = gr?.restartTime || 120;
        r.cancel = this.timer(bound, () => this.expire(name, 'stale timer expired'));
        this.opts.log.info({ peer: name, families: r.families }, 'graceful restart: peer is back, waiting for its End-of-RIB');
      }
    }
    if (this.recovery) this.recovery.families.set(name, up.families);
  }

  update(peer: string, message: Uint8Array, context: CodecContext): void {
    this.opts.inner.update(peer, message, context);
    const f = endOfRibFamily(message);
    if (f !== undefined) this.endOfRib(peer, f);
  }

  readDone(peer: string): void {
    this.opts.inner.readDone?.(peer);
  }

  routeRefresh(peer: string, message: Uint8Array): void {
    this.opts.inner.routeRefresh?.(peer, message);
  }

  peerDown(peer: string, reason: string): void {
    const s = this.sessions.get(peer);
    this.sessions.delete(peer);
    const prev = this.retained.get(peer);
    prev?.cancel();
    this.retained.delete(peer);
    const keep = retainedFamilies(s?.gr, this.opts.localNotification ?? false, sessionEndOf(reason), s?.families ?? []);
    if (keep.length === 0 || !s?.gr) {
      this.opts.inner.peerDown(peer, reason);
      return;
    }
    void this.opts.rib.peerDown(peer, { retain: true }).catch((e: unknown) => this.opts.log.error({ peer, err: String(e) }, 'graceful restart: retain failed'));
    for (const f of s.families) if (!keep.includes(f)) this.purge(peer, f, 'family not restartable');
    const restartTime = s.gr.restartTime;
    this.retained.set(peer, { families: keep, phase: 'restart', cancel: this.timer(restartTime, () => this.expire(peer, 'restart time over')) });
    this.opts.log.info({ peer, reason, restartTime, families: keep }, 'graceful restart: peer went down, its routes are kept as stale');
  }

  async intentChanged(intent: NodeIntent): Promise<void> {
    const wanted = new Set(intent.peers.map((p) => p.name));
    // A peer removed from the configuration is released now, whatever its restart time.
    for (const [name, r] of [...this.retained]) {
      if (wanted.has(name)) continue;
      r.cancel();
      this.retained.delete(name);
      this.opts.log.info({ peer: name }, 'graceful restart: peer de-configured, stale routes released');
      void this.opts.rib.peerDown(name).catch(() => undefined);
    }
    if (this.recovery) {
      for (const name of [...this.recovery.pending]) if (!wanted.has(name)) this.recovery.pending.delete(name);
      this.checkRecovery(false);
    }
    await this.opts.inner.intentChanged?.(intent);
  }

  // ---------------------------------------------------------------- internals

  private endOfRib(peer: string, f: Family): void {
    const r = this.retained.get(peer);
    if (r && r.phase === 'stale' && r.families.includes(f)) {
      this.purge(peer, f, 'End-of-RIB');
      r.families = r.families.filter((x) => x !== f);
      if (r.families.length === 0) {
        r.cancel();
        this.retained.delete(peer);
        this.opts.log.info({ peer }, 'graceful restart: peer recovered');
      }
    }
    const rec = this.recovery;
    if (rec) {
      const seen = rec.eor.get(peer) ?? new Set<Family>();
      seen.add(f);
      rec.eor.set(peer, seen);
      const fams = rec.families.get(peer) ?? [f];
      if (fams.every((x) => seen.has(x))) rec.pending.delete(peer);
      this.checkRecovery(false);
    }
  }

  private checkRecovery(timedOut: boolean): void {
    const rec = this.recovery;
    if (!rec) return;
    const why = recoveryDone({ pending: rec.pending, elapsed: timedOut ? rec.opts.deferral : this.now() - rec.start, deferral: rec.opts.deferral });
    if (!why) return;
    this.recovery = undefined;
    this.recovered = true;
    rec.cancel();
    this.opts.log.info({ why, waitingFor: [...rec.pending] }, 'graceful restart: recovery over');
    void Promise.resolve()
      .then(() => rec.opts.onRecovered(why))
      .catch((e: unknown) => this.opts.log.error({ err: String(e) }, 'graceful restart: recovery cleanup failed'));
  }

  private expire(peer: string, why: string): void {
    const r = this.retained.get(peer);
    if (!r) return;
    this.retained.delete(peer);
    this.opts.log.info({ peer, why }, 'graceful restart: stale routes expire');
    this.purge(peer, undefined, why);
  }

  private purge(peer: string, family: Family | undefined, why: string): void {
    void this.opts.rib.purgeStale(peer, family).then(
      (n) => n > 0 && this.opts.log.debug({ peer, family, purged: n, why }, 'graceful restart: stale routes purged'),
      (e: unknown) => this.opts.log.error({ peer, err: String(e) }, 'graceful restart: purge failed'),
    );
  }
}
