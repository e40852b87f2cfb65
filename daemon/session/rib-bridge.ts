/**
 * Sessions → route engine: decodes each UPDATE with the session's codec context and hands it to
 * daemon/rib's RouteEngine; peer-up/peer-down become the engine's peerUp/peerDown, and a peer
 * over its maxPrefixes limit (action 'reset') gets Cease 6/1.
 */
import { decodeRouteRefresh } from '../../proto/refresh.js';
import { decodeUpdate } from '../../proto/update.js';
import type { CodecContext } from '../../proto/context.js';
import type { IntentAwareEngine } from '../daemon.js';
import type { Logger } from '../log.js';
import type { NodeIntent } from '../model.js';
import type { RouteEngine as Rib, EnginePeer, PeerUpdateResult } from '../rib/index.js';
import type { SessionUp } from './engine.js';
import { UpdateIntake } from '../rib/intake.js';
import { isBgpError } from '../../proto/errors.js';

/**
 * What the route engine needs to know about an Established session. The node's addresses give
 * the next hop of the family the transport is not (RFC 4760): IPv6 routes on an IPv4 session go
 * via `ipv6Address`, IPv4 routes on an IPv6 session via `ipv4Address`.
 */
export function enginePeerOf(up: SessionUp, ipv6Address?: string, ipv4Address?: string): EnginePeer {
  const p = up.peer;
  const ctx = up.context;
  // The RIB takes localAddress as the IPv4 next hop and localAddress6 as the IPv6 one.
  const v4OverV6 = p.family === 6 && ipv4Address !== undefined && up.families.includes(4);
  return {
    name: p.name,
    peerIp: up.remoteAddress || p.peerIp,
    peerAs: up.peerAs,
    localAs: p.localAs,
    ibgp: up.internal,
    neighborId: up.neighborId,
    localAddress: v4OverV6 ? ipv4Address : up.localAddress,
    ...(ipv6Address && p.family === 4 ? { localAddress6: ipv6Address } : v4OverV6 ? { localAddress6: up.localAddress } : {}),
    keepOriginalNextHop: p.keepOriginalNextHop,
    rrClient: p.rrClient,
    addPathTx: ctx.addPathTx.ipv4 || ctx.addPathTx.ipv6,
    addPathRx: ctx.addPathRx.ipv4 || ctx.addPathRx.ipv6,
    as4: ctx.as4,
    extendedMessage: ctx.extendedMessage,
    context: ctx,
    families: up.families,
    ...(p.maxPrefixes !== undefined ? { maxPrefixes: p.maxPrefixes } : {}),
    maxPrefixesAction: p.maxPrefixesAction,
    ...(p.allowLocalAs !== undefined ? { allowLocalAs: p.allowLocalAs } : {}),
  };
}

export class RibBridge implements IntentAwareEngine {
  private readonly up = new Map<string, SessionUp>();
  private ipv6Address: string | undefined;
  private ipv4Address: string | undefined;

  /** UPDATEs wait here as bytes while the engine is busy or this turn's budget is spent (daemon/rib/intake.ts). */
  private readonly intake: UpdateIntake;

  constructor(
    readonly rib: Rib,
    private readonly log: Logger,
  ) {
    this.intake = new UpdateIntake({
      apply: (peer, message, context) => this.apply(peer, message, context),
      check: (_peer, message, context) => void decodeUpdate(message, context),
      failed: (peer, e) => this.failedLater(peer, e),
      get idle() {
        return rib.idle;
      },
      get work() {
        return rib.work;
      },
      whenIdle: () => rib.whenIdle(),
      pause: (peer) => this.up.get(peer)?.pauseReading?.(),
      resume: (peer) => this.up.get(peer)?.resumeReading?.(),
    });
    rib.beforeTask = () => this.intake.flush();
    // One socket read's UPDATEs are exported as one batch (see RouteEngine.batchFlush).
    rib.batchFlush = true;
  }

  peerUp(up: SessionUp): void {
    this.intake.drop(up.peer.name);
    this.up.set(up.peer.name, up);
    const peer = enginePeerOf(up, this.ipv6Address, this.ipv4Address);
    // Stop writing a batch once the session refuses data (it is being dropped).
    const out = { send: (msgs: Uint8Array[]) => { for (const m of msgs) if (!up.send(m)) return; } };
    this.rib.peerUp(peer, out).catch((e: unknown) => this.log.error({ peer: peer.name, err: String(e) }, 'route engine peer-up failed'));
  }

  /** Throws the codec's session-reset BgpError (the session answers with its NOTIFICATION). */
  update(peer: string, message: Uint8Array, context: CodecContext): void {
    this.intake.receive(peer, message, context);
  }

  /** Every message of one socket read of `peer` was handed over: flow control (UpdateIntake.readDone). */
  readDone(peer: string): void {
    this.intake.readDone(peer);
  }

  /** A waiting UPDATE turned out malformed: reset its session as the session would have (no NOTIFICATION data). */
  private failedLater(peer: string, e: unknown): void {
    const session = this.up.get(peer);
    if (isBgpError(e) && e.handling === 'session-reset') {
      this.log.warn({ peer, code: e.code, subcode: e.subcode, err: e.message }, 'malformed UPDATE: resetting the session');
      session?.reset(e.code, e.subcode);
    } else this.log.error({ peer, err: String(e) }, 'route engine update failed');
  }

  private apply(peer: string, message: Uint8Array, context: CodecContext): void {
    const u = decodeUpdate(message, context);
    if (u.errors.length > 0) this.log.warn({ peer, errors: u.errors.map((e) => e.message), treatAsWithdraw: u.treatAsWithdraw }, 'UPDATE errors handled per RFC 7606');
    // Applied at once when the engine is idle (no promise and no closure per UPDATE); a reset still
    // happens after this message's handling, never inside the session's receive loop.
    let r: PeerUpdateResult | Promise<PeerUpdateResult>;
    try {
      r = this.rib.applyUpdate(peer, u);
    } catch (e) {
      this.applyFailed(peer, e);
      return;
    }
    if (r instanceof Promise) {
      const session = this.up.get(peer);
      r.then((res) => this.applied(peer, session, res), (e: unknown) => this.applyFailed(peer, e));
    } else if (r.maxPrefixExceeded) {
      const session = this.up.get(peer);
      const res = r;
      queueMicrotask(() => this.applied(peer, session, res));
    }
  }

  /** Only the session that sent the routes is reset, not a newer one that replaced it meanwhile. */
  private applied(peer: string, session: SessionUp | undefined, r: PeerUpdateResult): void {
    if (r.maxPrefixExceeded && session && this.up.get(peer) === session) {
      this.log.warn({ peer, prefixes: r.prefixes }, 'maximum number of prefixes reached: resetting the session');
      session.reset(6, 1);
    }
  }

  private applyFailed(peer: string, e: unknown): void {
    this.log.error({ peer, err: String(e) }, 'route engine update failed');
  }

  /** A normal ROUTE-REFRESH request: everything we announced, again (BoRR/EoRR markers need nothing). */
  routeRefresh(peer: string, message: Uint8Array): void {
    if (decodeRouteRefresh(message).subtype !== 0) return;
    this.rib.refresh(peer).catch((e: unknown) => this.log.error({ peer, err: String(e) }, 'route engine refresh failed'));
  }

  peerDown(peer: string): void {
    this.intake.drop(peer);
    this.up.delete(peer);
    this.rib.peerDown(peer).catch((e: unknown) => this.log.error({ peer, err: String(e) }, 'route engine peer-down failed'));
  }

  intentChanged(intent: NodeIntent): Promise<void> {
    this.ipv6Address = intent.ipv6Address;
    this.ipv4Address = intent.ipv4Address;
    return this.rib.setIntent(intent);
  }
}
