/**
 * Process wiring: one BGP listener, the peer manager, the route engine seam and the intent feed
 * (datastore watch, SIGHUP reload). main.ts parses the command line and hands a Daemon its
 * parts; tests can build one in-process.
 *
 * Seams for the other parts:
 * - `engine` (RouteEngine in session/engine.ts) receives peer-up, UPDATEs and peer-down; if it
 *   also has `intentChanged`, it hears every new NodeIntent (blocks to originate or withdraw).
 * - `statuses()` gives PeerStatus records (plus timer extras) for the control socket.
 * - `onClose` hooks run at shutdown after the peers were told (control socket, sinks).
 */
import { hostname as osHostname } from 'node:os';
import { BgpListeners, type ListenAddress } from './listener.js';
import type { Logger } from './log.js';
import { CALICO_DEFAULTS, type NodeIntent, type PeerStatus } from './model.js';
import { PeerManager } from './peers.js';
import { NULL_ENGINE, type RouteEngine } from './session/engine.js';
import type { LocalSpeaker } from './session/negotiate.js';

/** Where NodeIntents come from: the datastore (config/) or a fixed file in tests. */
export interface IntentSource {
  /** The intent now; throws with a clear message when it cannot be computed (node missing, store unreadable). */
  current(): Promise<NodeIntent>;
  /** Calls back on every change with a new intent, or an error (the daemon keeps the last good one). */
  watch?(cb: (next: NodeIntent | Error) => void): Promise<() => Promise<void>>;
  close?(): Promise<void>;
}

/** A route engine that also follows intent changes (daemon/rib's engine has this shape). */
export interface IntentAwareEngine extends RouteEngine {
  intentChanged?(intent: NodeIntent): void | Promise<void>;
}

export interface DaemonOptions {
  readonly source: IntentSource;
  readonly log: Logger;
  /** Overrides the intent's listen address/port (`--listen`, once per family or a list). */
  readonly listen?: ListenAddress | readonly ListenAddress[];
  readonly engine?: IntentAwareEngine;
  /** Advertised in the FQDN capability; defaults to the machine's hostname. */
  readonly hostname?: string;
  /** Graceful restart flags for our OPENs (see LocalSpeaker.gracefulRestart). */
  readonly gracefulRestart?: LocalSpeaker['gracefulRestart'];
  /** Seconds since the process started: the peers configured at start count their connect delay from then, as BIRD's do. */
  readonly uptimeSeconds?: () => number;
  /**
   * Called by start() once listening; the peers start when it resolves (main.ts: the kernel dump
   * that decides graceful restart, which our OPENs announce). Connections meanwhile are held.
   */
  readonly beforePeers?: () => Promise<unknown>;
}

export class Daemon {
  private intent: NodeIntent;
  private readonly peers: PeerManager;
  private listener: BgpListeners;
  private stopWatch: (() => Promise<void>) | undefined;
  private readonly closeHooks: (() => Promise<void>)[] = [];
  private closing: Promise<void> | undefined;
  private bound: ListenAddress[] = [];
  /** Serialises intent applications so reloads never interleave. */
  private applying: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: DaemonOptions,
    intent: NodeIntent,
  ) {
    this.intent = intent;
    const engine = opts.engine ?? NULL_ENGINE;
    this.peers = new PeerManager({ local: localSpeaker(intent, opts.hostname, opts.gracefulRestart), engine, log: opts.log, ...(opts.uptimeSeconds ? { uptimeSeconds: opts.uptimeSeconds } : {}) });
    // Without a bind address, '::' accepts IPv4 (as mapped addresses) and IPv6 peers alike;
    // bindMode NodeIP listens on each node address (IPv4 and IPv6), all sharing one accept path.
    const port = intent.listenPort ?? CALICO_DEFAULTS.listenPort;
    const hosts = intent.listenAddresses ?? (intent.listenAddress ? [intent.listenAddress] : ['::']);
    this.listener = this.makeListener(opts.listen ? [opts.listen].flat() : hosts.map((host) => ({ host, port })));
  }

  /** Holds what it accepts until start() has the peers running (BgpListeners `hold`). */
  private makeListener(at: readonly ListenAddress[]): BgpListeners {
    return new BgpListeners(at, (s, src) => this.peers.route(s, src), this.opts.log, { hold: true });
  }

  private async listen(): Promise<ListenAddress[]> {
    try {
      return await this.listener.listen();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const dual = !this.opts.listen && !this.intent.listenAddress;
      if (!dual || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw e;
      // A host without IPv6: listen on IPv4 only.
      this.listener = this.makeListener([{ host: '0.0.0.0', port: this.intent.listenPort ?? CALICO_DEFAULTS.listenPort }]);
      return this.listener.listen();
    }
  }

  /** Reads the intent, listens, starts every peer and follows changes. Throws on a bad start (caller exits non-zero). */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const intent = await opts.source.current();
    const d = new Daemon(opts, intent);
    d.bound = await d.listen().catch((e: unknown) => {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`cannot listen for BGP: ${err.message}`);
    });
    try {
      await opts.beforePeers?.();
    } catch (e) {
      await d.shutdown();
      throw e;
    }
    // The peers start without waiting for the engine to take the intent: its queue runs the
    // start-up kernel reconcile first (children, slow when many daemons start at once), and
    // whatever the sessions hand the engine is queued behind both anyway.
    const intentTaken = Promise.resolve(opts.engine?.intentChanged?.(intent));
    intentTaken.catch(() => undefined); // awaited below, once the peers run
    await d.peers.apply(intent.peers);
    d.listener.release();
    try {
      await intentTaken;
    } catch (e) {
      await d.shutdown();
      throw e;
    }
    opts.log.info({ node: intent.nodeName, routerId: intent.routerId, localAs: intent.localAs, peers: intent.peers.length }, 'petrel started');
    if (opts.source.watch) {
      d.stopWatch = await opts.source.watch((next) => {
        if (next instanceof Error) {
          opts.log.error({ err: next.message }, 'configuration rejected; keeping the running one');
          return;
        }
        void d.apply(next);
      });
    }
    return d;
  }

  get listenAddress(): ListenAddress | undefined {
    return this.bound[0];
  }

  /** Every bound listening address (one per family under bindMode NodeIP). */
  get listenAddresses(): readonly ListenAddress[] {
    return this.bound;
  }

  get nodeIntent(): NodeIntent {
    return this.intent;
  }

  get peerManager(): PeerManager {
    return this.peers;
  }

  /** Applies a new intent with the least disturbance (see PeerManager.apply). */
  apply(next: NodeIntent): Promise<void> {
    const run = async () => {
      if (this.closing) return;
      const prev = this.intent;
      this.intent = next;
      await this.peers.setLocal(localSpeaker(next, this.opts.hostname, this.opts.gracefulRestart));
      await this.opts.engine?.intentChanged?.(next);
      const diff = await this.peers.apply(next.peers);
      this.opts.log.info({ added: diff.added.length, removed: diff.removed.length, reset: diff.reset.length, unchanged: diff.unchanged.length + diff.updated.length }, 'configuration applied');
      if (prev.listenPort !== next.listenPort || String(prev.listenAddresses ?? prev.listenAddress) !== String(next.listenAddresses ?? next.listenAddress)) {
        this.opts.log.warn({ listenPort: next.listenPort, listenAddress: next.listenAddress }, 'listen address changed: takes effect on restart');
      }
    };
    this.applying = this.applying.then(run, run);
    return this.applying;
  }

  /** SIGHUP or `configure`: re-read the intent now (only check it when `checkOnly`); on error keep the running configuration. */
  async reload(checkOnly = false): Promise<{ ok: boolean; error?: string }> {
    try {
      const next = await this.opts.source.current();
      if (checkOnly) return { ok: true };
      this.opts.log.info('reloading configuration');
      await this.apply(next);
      return { ok: true };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.opts.log.error({ err: error }, 'reload failed; keeping the running configuration');
      return { ok: false, error };
    }
  }

  statuses(): PeerStatus[] {
    return this.peers.statuses();
  }

  /** Registers something to close at shutdown, after the peers were told (control socket, sinks). */
  onClose(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  /**
   * Stops accepting, sends Cease 6/2 to every peer, then closes the rest. Idempotent. With
   * `restart` (graceful restart) the sessions close without a NOTIFICATION instead, so GR peers
   * keep our routes until we are back.
   */
  shutdown(mode: 'stop' | 'restart' = 'stop'): Promise<void> {
    this.closing ??= (async () => {
      this.opts.log.info({ mode }, 'shutting down');
      await this.stopWatch?.().catch(() => {});
      // The server's close completes only once accepted sockets are gone, so tell the peers first.
      const listenerClosed = this.listener.close();
      if (mode === 'restart') this.peers.abandonAll();
      else await this.peers.stopAll(2);
      await listenerClosed;
      for (const h of this.closeHooks) await h().catch((e: unknown) => this.opts.log.error({ err: String(e) }, 'close hook failed'));
      await this.opts.source.close?.().catch(() => {});
      this.opts.log.info('stopped');
    })();
    return this.closing;
  }
}

function localSpeaker(intent: NodeIntent, hostname?: string, gracefulRestart?: LocalSpeaker['gracefulRestart']): LocalSpeaker {
  return { routerId: intent.routerId, hostname: hostname ?? osHostname(), ...(gracefulRestart ? { gracefulRestart } : {}) };
}
