/**
 * Graceful restart (RFC 4724, with RFC 8538's N bit) decisions as pure functions: whether a
 * peer's routes are retained when its session ends, what to purge when it comes back, whether an
 * UPDATE is an End-of-RIB, and when a restarting speaker's recovery is over.
 */
import type { CapabilitySummary, Family } from '../model.js';

/** What the peer's graceful-restart capability said, in the terms the decisions need. */
export interface PeerGr {
  /** Seconds the peer asked us to keep its routes after its session drops. */
  readonly restartTime: number;
  /** Families it can restart for (an empty list means "restart-aware" only: nothing is retained). */
  readonly families: readonly Family[];
  /** Families whose forwarding state it kept across its last restart (F bit). */
  readonly preserved: readonly Family[];
  /** RFC 8538 N bit: graceful restart also covers sessions ended by a NOTIFICATION. */
  readonly notification: boolean;
}

/** How a session ended, as far as graceful restart cares. */
export type SessionEnd =
  /** TCP closed or reset, no NOTIFICATION either way (a crash, a restart, a silent close). */
  | { readonly kind: 'transport' }
  /** A NOTIFICATION was sent or received (hold timer expiry, errors, Cease). */
  | { readonly kind: 'notification'; readonly code?: number; readonly subcode?: number }
  /** We stopped the peer on purpose (shutdown, de-configured, disabled, reset by configuration). */
  | { readonly kind: 'local-stop' };

/** Cease / Hard Reset (RFC 8538 §3): never graceful. */
const HARD_RESET = { code: 6, subcode: 9 } as const;

/** The FSM event the session layer reports at peer-down, mapped to a SessionEnd. */
export function sessionEndOf(fsmEvent: string): SessionEnd {
  switch (fsmEvent) {
    case 'TcpConnectionFails':
      return { kind: 'transport' };
    case 'ManualStop':
    case 'AutomaticStop':
      return { kind: 'local-stop' };
    default:
      // HoldTimer_Expires (we send 4/0), NotifMsg (received), UpdateMsgErr, BGPHeaderErr, ...
      return { kind: 'notification' };
  }
}

export function familyOfName(name: string): Family | undefined {
  return name === 'ipv4' ? 4 : name === 'ipv6' ? 6 : undefined;
}

/** The peer's GR capability from the negotiated summary; undefined when it did not advertise one. */
export function peerGrOf(caps: CapabilitySummary | undefined, notification = false): PeerGr | undefined {
  const gr = caps?.gracefulRestart;
  if (!gr) return undefined;
  const fams = (xs: readonly string[]) => xs.map(familyOfName).filter((f): f is Family => f !== undefined);
  return { restartTime: gr.restartTime, families: fams(gr.families), preserved: fams(gr.preserved), notification };
}

/**
 * Which of the session's families keep their routes (stale) after the session ended: the ones the
 * peer can restart for, when it has a restart time, the end was a transport failure (or a
 * NOTIFICATION other than Hard Reset when both sides set the N bit), and we did not stop it.
 */
export function retainedFamilies(peer: PeerGr | undefined, localNotification: boolean, end: SessionEnd, sessionFamilies: readonly Family[]): Family[] {
  if (!peer || peer.restartTime === 0) return [];
  if (end.kind === 'local-stop') return [];
  if (end.kind === 'notification') {
    if (!peer.notification || !localNotification) return [];
    if (end.code === HARD_RESET.code && end.subcode === HARD_RESET.subcode) return [];
  }
  return sessionFamilies.filter((f) => peer.families.includes(f));
}

/**
 * RFC 4724 §4.2: when the restarted peer's new session is up, families it no longer restarts for,
 * or whose forwarding it did not preserve, lose their stale routes at once.
 */
export function familiesToPurgeOnReturn(retained: readonly Family[], returned: PeerGr | undefined): Family[] {
  if (!returned) return [...retained];
  return retained.filter((f) => !returned.families.includes(f) || !returned.preserved.includes(f));
}

const HEADER = 19;

/**
 * The family of an End-of-RIB UPDATE (whole message, header included), else undefined: an empty
 * UPDATE is IPv4's; for other families, one MP_UNREACH_NLRI attribute holding only AFI/SAFI.
 */
export function endOfRibFamily(msg: Uint8Array): Family | undefined {
  if (msg.length < HEADER + 4 || msg[18] !== 2) return undefined;
  const withdrawnLen = ((msg[HEADER] ?? 0) << 8) | (msg[HEADER + 1] ?? 0);
  if (withdrawnLen !== 0) return undefined;
  const attrLen = ((msg[HEADER + 2] ?? 0) << 8) | (msg[HEADER + 3] ?? 0);
  const attrs = HEADER + 4;
  if (attrLen === 0) return msg.length === attrs ? 4 : undefined;
  if (msg.length !== attrs + attrLen) return undefined;
  const flags = msg[attrs] ?? 0;
  const type = msg[attrs + 1];
  const extended = (flags & 0x10) !== 0;
  const len = extended ? ((msg[attrs + 2] ?? 0) << 8) | (msg[attrs + 3] ?? 0) : (msg[attrs + 2] ?? 0);
  const value = attrs + (extended ? 4 : 3);
  if (type !== 15 || len !== 3 || value + len !== msg.length) return undefined;
  const afi = ((msg[value] ?? 0) << 8) | (msg[value + 1] ?? 0);
  if (msg[value + 2] !== 1) return undefined;
  return afi === 1 ? 4 : afi === 2 ? 6 : undefined;
}

/** What a restarting speaker waits for before it removes the kernel routes nobody re-announced. */
export interface RecoveryProgress {
  /** Configured peers that have not yet sent End-of-RIB for every family of their session. */
  readonly pending: ReadonlySet<string>;
  /** Seconds since the start, and the selection deferral bound (our restart time). */
  readonly elapsed: number;
  readonly deferral: number;
}

/** RFC 4724 §4.1: done once every peer sent End-of-RIB, or the deferral time is over. */
export function recoveryDone(p: RecoveryProgress): 'end-of-rib' | 'deferral-timeout' | undefined {
  if (p.pending.size === 0) return 'end-of-rib';
  if (p.elapsed >= p.deferral) return 'deferral-timeout';
  return undefined;
}
