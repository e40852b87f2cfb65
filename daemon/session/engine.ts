/**
 * The seam between sessions and the route engine (daemon/rib): a session reports peer-up with
 * what was negotiated, hands over every UPDATE it receives, and reports peer-down. The engine
 * sends UPDATEs back through the handle it got at peer-up.
 */
import type { CodecContext } from '../../proto/context.js';
import type { CapabilitySummary, Family, PeerIntent } from '../model.js';

/** What the route engine learns when a session reaches Established. */
export interface SessionUp {
  readonly peer: PeerIntent;
  readonly neighborId: string;
  readonly peerAs: number;
  /** Our address on this connection (next hop self for iBGP/eBGP). */
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly internal: boolean;
  readonly families: readonly Family[];
  readonly context: CodecContext;
  readonly localCaps: CapabilitySummary;
  readonly peerCaps: CapabilitySummary;
  readonly holdTime: number;
  /** Writes one whole UPDATE (header included) on this session; false once the session is gone. */
  send(update: Uint8Array): boolean;
  /** Resets the session with this NOTIFICATION (e.g. Cease 6/1 for too many prefixes). */
  reset(code: number, subcode: number): void;
  /**
   * Stops reading from the peer until resumeReading (TCP flow control holds what it sends): the
   * engine is behind with what this session already delivered. Optional for other sessions.
   */
  pauseReading?(): void;
  resumeReading?(): void;
}

export interface RouteEngine {
  peerUp(up: SessionUp): void;
  /**
   * One received UPDATE (whole message, header included), decoded with `context`. Throwing a
   * BgpError whose handling is 'session-reset' resets the session with that NOTIFICATION.
   */
  update(peer: string, message: Uint8Array, context: CodecContext): void;
  /** A ROUTE-REFRESH request from the peer (whole message). */
  routeRefresh?(peer: string, message: Uint8Array): void;
  /**
   * Every message of one socket read of an Established session was handed over (once per read,
   * after its UPDATEs): the engine may stop the session reading (SessionUp.pauseReading).
   */
  readDone?(peer: string): void;
  peerDown(peer: string, reason: string): void;
}

/** An engine that keeps nothing: sessions run on their own (tests, a daemon without a RIB yet). */
export const NULL_ENGINE: RouteEngine = {
  peerUp: () => {},
  update: () => {},
  peerDown: () => {},
};
