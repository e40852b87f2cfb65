/**
 * The OPEN exchange for one peer: what we advertise (what Calico's BIRD advertises), how the
 * peer's OPEN is checked against the peer's config, and what the two OPENs negotiate (hold time,
 * keepalive, codec context, capability summaries for the status report).
 */
import type { Capability } from '../../proto/capabilities.js';
import { Afi, Safi } from '../../proto/constants.js';
import type { CodecContext } from '../../proto/context.js';
import { openError } from '../../proto/errors.js';
import { encodeOpen, myAsField, negotiateContext, peerAsOf, validateOpen, type OpenMessage } from '../../proto/open.js';
import type { CapabilitySummary, Family, PeerIntent } from '../model.js';

/** What this speaker is, independent of the peer. */
export interface LocalSpeaker {
  /** Dotted-quad BGP identifier. */
  readonly routerId: string;
  /** Advertised in the FQDN capability when set. */
  readonly hostname?: string;
  /** RFC 8654 extended messages (off by default, as in Calico's BIRD). */
  readonly extendedMessage?: boolean;
  /**
   * Graceful restart (daemon/gr), read at each OPEN: `restarting` sets the Restart State bit while
   * we recover from our own restart; `forwardingPreserved` sets the F bit (we keep kernel routes).
   */
  readonly gracefulRestart?: () => { readonly restarting: boolean; readonly forwardingPreserved: boolean };
}

/** RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN. */
export const LARGE_HOLD_TIME = 240;

const afiOf = (f: Family) => (f === 4 ? Afi.IPV4 : Afi.IPV6);
const familyName = (afi: number) => (afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : `afi${afi}`);

/** The families a session for this peer carries (IPv4 unicast at least for a v4 peer). */
export function sessionFamilies(peer: PeerIntent): Family[] {
  const fams = peer.families.length > 0 ? [...peer.families] : [peer.family];
  return [...new Set(fams)].sort();
}

/**
 * Our capabilities: MP for each family, route refresh, graceful restart with the restart time,
 * 4-octet AS, ADD-PATH receive+send, enhanced refresh, long-lived GR (as BIRD with `graceful
 * restart`), extended message when enabled, hostname when known.
 */
export function localCapabilities(peer: PeerIntent, local: LocalSpeaker): Capability[] {
  const fams = sessionFamilies(peer).map((f) => ({ afi: afiOf(f), safi: Safi.UNICAST }));
  const caps: Capability[] = fams.map((f) => ({ kind: 'multiprotocol', afi: f.afi, safi: f.safi }));
  caps.push({ kind: 'routeRefresh' });
  if (local.extendedMessage) caps.push({ kind: 'extendedMessage' });
  const gr = local.gracefulRestart?.();
  caps.push({
    kind: 'gracefulRestart',
    restartState: gr?.restarting ?? false,
    notification: false,
    restartTime: peer.gracefulRestartTime,
    families: fams.map((f) => ({ ...f, forwardingPreserved: gr?.forwardingPreserved ?? false })),
  });
  caps.push({ kind: 'as4', asn: peer.localAs });
  caps.push({ kind: 'addPath', families: fams.map((f) => ({ ...f, sendReceive: 3 as const })) });
  caps.push({ kind: 'enhancedRouteRefresh' });
  caps.push({ kind: 'llgr', families: fams.map((f) => ({ ...f, forwardingPreserved: false, staleTime: 0 })) });
  if (local.hostname) caps.push({ kind: 'fqdn', hostname: local.hostname, domain: '' });
  return caps;
}

export interface LocalOpen {
  readonly open: Omit<OpenMessage, 'type'>;
  readonly bytes: Uint8Array;
}

/**
 * Our OPENs by what they are made of: in a mesh every peer gets the same one, so a node with N
 * peers builds and encodes it once rather than once per connection. Bounded (cleared when full):
 * the inputs change only with configuration or a graceful restart ending.
 */
const openCache = new Map<string, LocalOpen>();
const OPEN_CACHE_MAX = 64;

/** Our OPEN for `peer` (shared and frozen: callers must not change it). */
export function buildOpen(peer: PeerIntent, local: LocalSpeaker): LocalOpen {
  const gr = local.gracefulRestart?.();
  const key = `${peer.localAs}|${peer.holdTime}|${sessionFamilies(peer).join(',')}|${peer.gracefulRestartTime}|${local.routerId}|${local.extendedMessage ? 1 : 0}|${gr?.restarting ? 1 : 0}|${gr?.forwardingPreserved ? 1 : 0}|${local.hostname ?? ''}`;
  const cached = openCache.get(key);
  if (cached) return cached;
  const open = { version: 4, myAs: myAsField(peer.localAs), holdTime: peer.holdTime, bgpId: local.routerId, capabilities: localCapabilities(peer, local) };
  const built: LocalOpen = Object.freeze({ open: Object.freeze(open), bytes: encodeOpen(open) });
  if (openCache.size >= OPEN_CACHE_MAX) openCache.clear();
  openCache.set(key, built);
  return built;
}

/** What the OPEN exchange agreed on. */
export interface Negotiated {
  readonly neighborId: string;
  readonly peerAs: number;
  /** Seconds; 0 means no hold timer and no keepalives. */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly context: CodecContext;
  readonly families: Family[];
  readonly localCaps: CapabilitySummary;
  readonly peerCaps: CapabilitySummary;
  /** The peer advertised graceful restart (a new connection while Established means it restarted). */
  readonly peerGracefulRestart: boolean;
  readonly internal: boolean;
}

/**
 * Checks the peer's OPEN against its config (RFC 4271 §6.2: version, AS → 2/2, identifier → 2/3,
 * hold time 1 or 2 → 2/6) and a common family (2/7 otherwise... reported as unsupported
 * capability). Throws the BgpError to send.
 */
export function checkPeerOpen(peer: PeerIntent, local: LocalSpeaker, theirs: OpenMessage): void {
  validateOpen(theirs, { peerAs: peer.peerAs, localAs: peer.localAs, localBgpId: local.routerId });
}

export function negotiate(peer: PeerIntent, ours: Pick<OpenMessage, 'capabilities' | 'holdTime'>, theirs: OpenMessage): Negotiated {
  const holdTime = Math.min(ours.holdTime, theirs.holdTime);
  if (holdTime !== 0 && holdTime < 3) throw openError.unacceptableHoldTime(holdTime);
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(peer.keepaliveTime ?? Math.floor(holdTime / 3), Math.floor(holdTime / 3)));
  const theirFamilies = new Set(
    theirs.capabilities.some((c) => c.kind === 'multiprotocol')
      ? theirs.capabilities.flatMap((c) => (c.kind === 'multiprotocol' && c.safi === Safi.UNICAST ? [c.afi] : []))
      : [Afi.IPV4],
  );
  const families = sessionFamilies(peer).filter((f) => theirFamilies.has(afiOf(f)));
  const peerAs = peerAsOf(theirs);
  return {
    neighborId: theirs.bgpId,
    peerAs,
    holdTime,
    keepaliveTime,
    context: negotiateContext(ours, theirs),
    families,
    localCaps: summariseLocal(ours.capabilities),
    peerCaps: summarise(theirs.capabilities),
    peerGracefulRestart: theirs.capabilities.some((c) => c.kind === 'gracefulRestart'),
    internal: peerAs === peer.localAs,
  };
}

/** The capability tree `show protocols all` prints, from a capability list. */
/**
 * Our capabilities are buildOpen's cached array, the same for every session of a configuration:
 * summarised once, not once per session (the summary is only ever read).
 */
const localSummaries = new WeakMap<readonly Capability[], CapabilitySummary>();

function summariseLocal(caps: readonly Capability[]): CapabilitySummary {
  let s = localSummaries.get(caps);
  if (!s) localSummaries.set(caps, (s = summarise(caps)));
  return s;
}

export function summarise(caps: readonly Capability[]): CapabilitySummary {
  const mp = caps.flatMap((c) => (c.kind === 'multiprotocol' ? [familyName(c.afi)] : []));
  const gr = caps.find((c) => c.kind === 'gracefulRestart');
  const ap = caps.find((c) => c.kind === 'addPath');
  const fqdn = caps.find((c) => c.kind === 'fqdn');
  const summary: CapabilitySummary = {
    multiprotocol: mp,
    routeRefresh: caps.some((c) => c.kind === 'routeRefresh'),
    enhancedRefresh: caps.some((c) => c.kind === 'enhancedRouteRefresh'),
    as4: caps.some((c) => c.kind === 'as4'),
    llgr: caps.some((c) => c.kind === 'llgr'),
    extendedMessage: caps.some((c) => c.kind === 'extendedMessage'),
    ...(gr && gr.kind === 'gracefulRestart'
      ? {
          gracefulRestart: {
            restartTime: gr.restartTime,
            families: gr.families.map((f) => familyName(f.afi)),
            preserved: gr.families.filter((f) => f.forwardingPreserved).map((f) => familyName(f.afi)),
            restarting: gr.restartState,
          },
        }
      : {}),
    ...(ap && ap.kind === 'addPath'
      ? {
          addPath: {
            rx: ap.families.filter((f) => (f.sendReceive & 1) !== 0).map((f) => familyName(f.afi)),
            tx: ap.families.filter((f) => (f.sendReceive & 2) !== 0).map((f) => familyName(f.afi)),
          },
        }
      : {}),
    ...(fqdn && fqdn.kind === 'fqdn' ? { hostname: fqdn.hostname } : {}),
  };
  return summary;
}
