/** Readable text (logs) and plain JSON (petrelctl decode) for every message. */
import { formatAsPath, formatAttributes, attributeName, formatCommunity, formatExtCommunity, type PathAttributes } from './attributes.js';
import { toHex } from './bytes.js';
import { capabilityName, type Capability } from './capabilities.js';
import { notificationText } from './errors.js';
import type { BgpMessage } from './message.js';
import { formatPrefix4, formatPrefix6 } from './prefix.js';

const REFRESH_SUBTYPES = ['request', 'BoRR', 'EoRR'];

/** Prefix texts from a packed array (stride 2 for IPv4, 5 for IPv6), with ADD-PATH ids when given. */
export function prefixTexts(afi: number, p: Uint32Array, pathIds?: Uint32Array): string[] {
  const out: string[] = [];
  const stride = afi === 2 ? 5 : 2;
  for (let i = 0, k = 0; i + stride <= p.length; i += stride, k++) {
    const text = afi === 2 ? formatPrefix6(p.subarray(i, i + 4), p[i + 4]!) : formatPrefix4(p[i]!, p[i + 1]!);
    out.push(pathIds ? `${text} path ${pathIds[k]}` : text);
  }
  return out;
}

function familyText(afi: number, safi: number): string {
  const a = afi === 1 ? 'ipv4' : afi === 2 ? 'ipv6' : `afi${afi}`;
  const s = safi === 1 ? 'unicast' : safi === 2 ? 'multicast' : `safi${safi}`;
  return `${a}/${s}`;
}

export function formatCapability(c: Capability): string {
  switch (c.kind) {
    case 'multiprotocol':
      return `multiprotocol ${familyText(c.afi, c.safi)}`;
    case 'as4':
      return `as4 ${c.asn}`;
    case 'gracefulRestart':
      return `graceful-restart time ${c.restartTime}${c.restartState ? ' restarted' : ''}${c.notification ? ' notification' : ''}${c.families
        .map((f) => ` ${familyText(f.afi, f.safi)}${f.forwardingPreserved ? '(F)' : ''}`)
        .join('')}`;
    case 'addPath':
      return `add-path${c.families.map((f) => ` ${familyText(f.afi, f.safi)} ${['', 'rx', 'tx', 'rx/tx'][f.sendReceive]}`).join('')}`;
    case 'fqdn':
      return `fqdn ${c.hostname}${c.domain ? `.${c.domain}` : ''}`;
    case 'llgr':
      return `llgr${c.families.map((f) => ` ${familyText(f.afi, f.safi)} stale ${f.staleTime}`).join('')}`;
    case 'unknown':
      return `capability ${c.code} 0x${toHex(c.bytes)}`;
    default:
      return capabilityName(c);
  }
}

/** One line per message; UPDATEs list at most `maxPrefixes` prefixes per field. */
export function formatMessage(msg: BgpMessage, maxPrefixes = 8): string {
  const list = (afi: number, p: Uint32Array, ids?: Uint32Array) => {
    const t = prefixTexts(afi, p, ids);
    return t.length > maxPrefixes ? `${t.slice(0, maxPrefixes).join(' ')} … (${t.length} total)` : t.join(' ');
  };
  switch (msg.type) {
    case 'OPEN':
      return `OPEN version ${msg.version} as ${msg.as4 ?? msg.myAs} hold ${msg.holdTime} id ${msg.bgpId} caps [${msg.capabilities.map(formatCapability).join(', ')}]`;
    case 'KEEPALIVE':
      return 'KEEPALIVE';
    case 'ROUTE-REFRESH':
      return `ROUTE-REFRESH ${familyText(msg.afi, msg.safi)} ${REFRESH_SUBTYPES[msg.subtype] ?? `subtype ${msg.subtype}`}`;
    case 'NOTIFICATION': {
      const extra = msg.shutdownCommunication !== undefined ? ` "${msg.shutdownCommunication}"` : msg.data.length > 0 ? ` data 0x${toHex(msg.data)}` : '';
      return `NOTIFICATION ${msg.code}/${msg.subcode} ${notificationText(msg.code, msg.subcode)}${extra}`;
    }
    case 'UPDATE': {
      if (msg.endOfRib) return `UPDATE End-of-RIB ${familyText(msg.endOfRib.afi, msg.endOfRib.safi)}`;
      const parts: string[] = [];
      if (msg.withdrawn.length > 0) parts.push(`withdraw ${list(1, msg.withdrawn, msg.withdrawnPathIds)}`);
      if (msg.mpUnreach && msg.mpUnreach.withdrawn.length > 0) parts.push(`withdraw ${list(msg.mpUnreach.afi, msg.mpUnreach.withdrawn, msg.mpUnreach.pathIds)}`);
      if (msg.attrs) parts.push(formatAttributes(msg.attrs));
      if (msg.mpReach) parts.push(`mp-next-hop ${msg.mpReach.nextHop.join(' ')}`);
      if (msg.nlri.length > 0) parts.push(`announce ${list(1, msg.nlri, msg.nlriPathIds)}`);
      if (msg.mpReach && msg.mpReach.nlri.length > 0) parts.push(`announce ${list(msg.mpReach.afi, msg.mpReach.nlri, msg.mpReach.pathIds)}`);
      if (msg.treatAsWithdraw) parts.push('TREAT-AS-WITHDRAW');
      if (msg.discarded.length > 0) parts.push(`discarded ${msg.discarded.map(attributeName).join(' ')}`);
      for (const e of msg.errors) parts.push(`error ${e.code}/${e.subcode} ${e.message} (${e.handling})`);
      return `UPDATE ${parts.join('; ')}`;
    }
  }
}

function attrsToJson(a: PathAttributes): Record<string, unknown> {
  const j: Record<string, unknown> = { origin: ['IGP', 'EGP', 'INCOMPLETE'][a.origin], asPath: a.asPath.map((s) => ({ type: s.type, asns: s.asns })) };
  j.asPathText = formatAsPath(a.asPath);
  if (a.nextHop !== undefined) j.nextHop = a.nextHop;
  if (a.nextHopLinkLocal !== undefined) j.nextHopLinkLocal = a.nextHopLinkLocal;
  if (a.med !== undefined) j.med = a.med;
  if (a.localPref !== undefined) j.localPref = a.localPref;
  if (a.atomicAggregate) j.atomicAggregate = true;
  if (a.aggregator) j.aggregator = a.aggregator;
  if (a.communities) j.communities = a.communities.map(formatCommunity);
  if (a.extCommunities) j.extCommunities = a.extCommunities.map((c) => ({ hex: c.toString(16).padStart(16, '0'), text: formatExtCommunity(c) }));
  if (a.largeCommunities) j.largeCommunities = a.largeCommunities;
  if (a.originatorId !== undefined) j.originatorId = a.originatorId;
  if (a.clusterList) j.clusterList = a.clusterList;
  if (a.unknown.length > 0) j.unknown = a.unknown.map((u) => ({ flags: u.flags, code: u.code, value: toHex(u.value) }));
  return j;
}

function capabilityToJson(c: Capability): Record<string, unknown> {
  return c.kind === 'unknown' ? { kind: c.kind, code: c.code, bytes: toHex(c.bytes) } : { ...c };
}

/** A JSON-safe object (no typed arrays, no bigints) describing the message. */
export function messageToJson(msg: BgpMessage): Record<string, unknown> {
  switch (msg.type) {
    case 'OPEN':
      return { ...msg, capabilities: msg.capabilities.map(capabilityToJson) };
    case 'KEEPALIVE':
      return { type: msg.type };
    case 'ROUTE-REFRESH':
      return { ...msg, subtypeName: REFRESH_SUBTYPES[msg.subtype] ?? 'unknown' };
    case 'NOTIFICATION': {
      const j: Record<string, unknown> = { type: msg.type, code: msg.code, subcode: msg.subcode, text: notificationText(msg.code, msg.subcode), data: toHex(msg.data) };
      if (msg.shutdownCommunication !== undefined) j.shutdownCommunication = msg.shutdownCommunication;
      return j;
    }
    case 'UPDATE': {
      const j: Record<string, unknown> = { type: msg.type };
      if (msg.endOfRib) j.endOfRib = { afi: msg.endOfRib.afi, safi: msg.endOfRib.safi };
      j.withdrawn = prefixTexts(1, msg.withdrawn, msg.withdrawnPathIds);
      j.attrs = msg.attrs ? attrsToJson(msg.attrs) : null;
      j.nlri = prefixTexts(1, msg.nlri, msg.nlriPathIds);
      if (msg.mpReach) j.mpReach = { afi: msg.mpReach.afi, safi: msg.mpReach.safi, nextHop: msg.mpReach.nextHop, nlri: prefixTexts(msg.mpReach.afi, msg.mpReach.nlri, msg.mpReach.pathIds) };
      if (msg.mpUnreach) j.mpUnreach = { afi: msg.mpUnreach.afi, safi: msg.mpUnreach.safi, withdrawn: prefixTexts(msg.mpUnreach.afi, msg.mpUnreach.withdrawn, msg.mpUnreach.pathIds) };
      j.treatAsWithdraw = msg.treatAsWithdraw;
      if (msg.discarded.length > 0) j.discarded = msg.discarded;
      if (msg.errors.length > 0) j.errors = msg.errors.map((e) => ({ code: e.code, subcode: e.subcode, handling: e.handling, message: e.message, data: toHex(e.data) }));
      return j;
    }
  }
}
