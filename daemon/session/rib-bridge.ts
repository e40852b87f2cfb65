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
import type { RouteEngine as Rib, EnginePeer } from '../rib/index.js';
import type { SessionUp } from './engine.js';

export class RibBridge implements IntentAwareEngine {
  private readonly up = new Map<string, SessionUp>();
  private ipv6Address: string | undefined;

  constructor(
    readonly rib: Rib,
    private readonly log: Logger,
  ) {}

  peerUp(up: SessionUp): void {
    this.up.set(up.peer.name, up);
    const ctx = up.context;
    const peer: EnginePeer = {
      name: up.peer.name,
      peerIp: up.peer.peerIp,
      peerAs: up.peerAs,
      localAs: up.peer.localAs,
      ibgp: up.internal,
      neighborId: up.neighborId,
      localAddress: up.localAddress,
      ...(this.ipv6Address && up.peer.family === 4 ? { localAddress6: this.ipv6Address } : {}),
      keepOriginalNextHop: up.peer.keepOriginalNextHop,
      rrClient: up.peer.rrClient,
      addPathTx: ctx.addPathTx.ipv4 || ctx.addPathTx.ipv6,
      addPathRx: ctx.addPathRx.ipv4 || ctx.addPathRx.ipv6,
      as4: ctx.as4,
      extendedMessage: ctx.extendedMessage,
      families: up.families,
      ...(up.peer.maxPrefixes !== undefined ? { maxPrefixes: up.peer.maxPrefixes } : {}),
      maxPrefixesAction: up.peer.maxPrefixesAction,
      ...(up.peer.allowLocalAs !== undefined ? { allowLocalAs: up.peer.allowLocalAs } : {}),
    };
    this.rib.peerUp(peer, { send: (msgs) => msgs.forEach((m) => up.send(m)) }).catch((e: unknown) => this.log.error({ peer: peer.name, err: String(e) }, 'route engine peer-up failed'));
  }

  /** Throws the codec's session-reset BgpError (the session answers with its NOTIFICATION). */
  update(peer: string, message: Uint8Array, context: CodecContext): void {
    const u = decodeUpdate(message, context);
    if (u.errors.length > 0) this.log.warn({ peer, errors: u.errors.map((e) => e.message), treatAsWithdraw: u.treatAsWithdraw }, 'UPDATE errors handled per RFC 7606');
    this.rib.peerUpdate(peer, u).then(
      (r) => {
        if (r.maxPrefixExceeded) {
          this.log.warn({ peer, prefixes: r.prefixes }, 'maximum number of prefixes reached: resetting the session');
          this.up.get(peer)?.reset(6, 1);
        }
      },
      (e: unknown) => this.log.error({ peer, err: String(e) }, 'route engine update failed'),
    );
  }

  /** A normal ROUTE-REFRESH request: everything we announced, again (BoRR/EoRR markers need nothing). */
  routeRefresh(peer: string, message: Uint8Array): void {
    if (decodeRouteRefresh(message).subtype !== 0) return;
    this.rib.refresh(peer).catch((e: unknown) => this.log.error({ peer, err: String(e) }, 'route engine refresh failed'));
  }

  peerDown(peer: string): void {
    this.up.delete(peer);
    this.rib.peerDown(peer).catch((e: unknown) => this.log.error({ peer, err: String(e) }, 'route engine peer-down failed'));
  }

  intentChanged(intent: NodeIntent): Promise<void> {
    this.ipv6Address = intent.ipv6Address;
    return this.rib.setIntent(intent);
  }
}
