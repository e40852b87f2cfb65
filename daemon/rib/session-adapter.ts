/**
 * Binds the RouteEngine to the sessions' seam (daemon/session/engine.ts) and the daemon's intent
 * feed: `new Daemon({ engine: new SessionRouteEngine(routeEngine, log), ... })` is all the wiring.
 *
 * UPDATEs arrive as bytes and are decoded here, synchronously, so a malformed one throws its
 * session-reset BgpError back into the session (which sends the NOTIFICATION); the decoded routes
 * then queue into the engine. Exceeding a peer's prefix limit resets it with Cease 6/1.
 */
import type { Logger } from 'pino';
import { decodeUpdate, type CodecContext } from '../../proto/index.js';
import type { IntentAwareEngine } from '../daemon.js';
import type { NodeIntent } from '../model.js';
import type { SessionUp } from '../session/engine.js';
import type { RouteEngine } from './engine.js';
import type { EnginePeer } from './types.js';

const CEASE = 6;
const MAX_PREFIXES_REACHED = 1;

/** What the engine needs to know about an Established session. */
export function enginePeerOf(up: SessionUp): EnginePeer {
  const p = up.peer;
  return {
    name: p.name,
    peerIp: up.remoteAddress || p.peerIp,
    peerAs: up.peerAs,
    localAs: p.localAs,
    ibgp: up.internal,
    neighborId: up.neighborId,
    localAddress: up.localAddress,
    keepOriginalNextHop: p.keepOriginalNextHop,
    rrClient: p.rrClient,
    addPathTx: up.context.addPathTx.ipv4 || up.context.addPathTx.ipv6,
    addPathRx: up.context.addPathRx.ipv4 || up.context.addPathRx.ipv6,
    as4: up.context.as4,
    extendedMessage: up.context.extendedMessage,
    context: up.context,
    families: up.families,
    ...(p.maxPrefixes !== undefined ? { maxPrefixes: p.maxPrefixes } : {}),
    maxPrefixesAction: p.maxPrefixesAction,
    ...(p.allowLocalAs !== undefined ? { allowLocalAs: p.allowLocalAs } : {}),
  };
}

export class SessionRouteEngine implements IntentAwareEngine {
  private readonly sessions = new Map<string, SessionUp>();

  constructor(
    readonly engine: RouteEngine,
    private readonly log?: Logger,
  ) {}

  peerUp(up: SessionUp): void {
    this.sessions.set(up.peer.name, up);
    const output = {
      send: (msgs: Uint8Array[]) => {
        for (const m of msgs) if (!up.send(m)) return;
      },
    };
    this.settle(this.engine.peerUp(enginePeerOf(up), output), up.peer.name);
  }

  update(peer: string, message: Uint8Array, context: CodecContext): void {
    const decoded = decodeUpdate(message, context);
    if (decoded.errors.length > 0) {
      this.log?.warn({ peer, errors: decoded.errors.map((e) => e.message), treatAsWithdraw: decoded.treatAsWithdraw }, 'UPDATE with errors');
    }
    const up = this.sessions.get(peer);
    this.settle(
      this.engine.peerUpdate(peer, decoded).then((r) => {
        if (r.maxPrefixExceeded && this.sessions.get(peer) === up) {
          this.log?.warn({ peer, prefixes: r.prefixes }, 'route limit exceeded; resetting the session');
          up?.reset(CEASE, MAX_PREFIXES_REACHED);
        }
      }),
      peer,
    );
  }

  routeRefresh(peer: string): void {
    this.settle(this.engine.refresh(peer), peer);
  }

  peerDown(peer: string): void {
    this.sessions.delete(peer);
    this.settle(this.engine.peerDown(peer), peer);
  }

  intentChanged(intent: NodeIntent): Promise<void> {
    return this.engine.setIntent(intent);
  }

  /** The engine logs its own failures; here they must only not become unhandled rejections. */
  private settle(p: Promise<unknown>, peer: string): void {
    p.catch((e: unknown) => this.log?.error({ peer, err: (e as Error).message }, 'route engine call failed'));
  }
}
