/** OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and extended optional parameters (RFC 9072). */
import { ByteWriter, ipv4At, ipv4Bytes, readU16 } from './bytes.js';
import { type Capability, decodeCapabilities, encodeCapability, encodeCapabilityBytes, capabilityCode } from './capabilities.js';
import { AS_TRANS, HEADER_LENGTH, MsgType, OptParamType } from './constants.js';
import type { CodecContext } from './context.js';
import { openError } from './errors.js';
import { writeHeader } from './header.js';
import { parseIpv4 } from './prefix.js';

export interface OpenMessage {
  type: 'OPEN';
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS needs 4 octets). */
  myAs: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
  /** The 4-octet AS from the AS4 capability, when present. */
  as4?: number;
}

/** Decodes an OPEN (whole message, header included). Throws 2/0 on structure, 2/4 on a non-capability parameter. */
export function decodeOpen(msg: Uint8Array): OpenMessage {
  const b = msg;
  const o = HEADER_LENGTH;
  const version = b[o] ?? 0;
  const myAs = readU16(b, o + 1);
  const holdTime = readU16(b, o + 3);
  const bgpId = ipv4At(b, o + 5);
  let optLen = b[o + 9] ?? 0;
  let p = o + 10;
  let extended = false;
  // RFC 9072: a length of 255 followed by parameter type 255 announces 2-octet lengths.
  if (optLen === 255 && b[p] === OptParamType.EXTENDED_LENGTH) {
    if (p + 3 > b.length) throw openError.malformed('truncated extended optional parameters');
    extended = true;
    optLen = readU16(b, p + 1);
    p += 3;
  }
  const end = p + optLen;
  if (end !== b.length) throw openError.malformed('optional parameters length does not match the message length');
  const capabilities: Capability[] = [];
  while (p < end) {
    const hdr = extended ? 3 : 2;
    if (p + hdr > end) throw openError.malformed('truncated optional parameter');
    const type = b[p] ?? 0;
    const len = extended ? readU16(b, p + 1) : (b[p + 1] ?? 0);
    const v = p + hdr;
    if (v + len > end) throw openError.malformed('optional parameter overruns the message');
    if (type !== OptParamType.CAPABILITIES) throw openError.unsupportedOptionalParameter(type);
    decodeCapabilities(b, v, v + len, capabilities);
    p = v + len;
  }
  const open: OpenMessage = { type: 'OPEN', version, myAs, holdTime, bgpId, capabilities };
  const as4 = capabilities.find((c) => c.kind === 'as4');
  if (as4 && as4.kind === 'as4') open.as4 = as4.asn;
  return open;
}

/** Encodes an OPEN with all capabilities in one Capabilities parameter (as BIRD does). */
export function encodeOpen(open: Omit<OpenMessage, 'type' | 'as4'> & { as4?: number }): Uint8Array {
  const caps = encodeCapabilityBytes(open.capabilities);
  const w = new ByteWriter(64 + caps.length);
  w.raw(new Uint8Array(HEADER_LENGTH));
  w.u8(open.version).u16(open.myAs).u16(open.holdTime).raw(ipv4Bytes(open.bgpId));
  if (caps.length === 0) {
    w.u8(0);
  } else if (caps.length + 2 <= 255) {
    w.u8(caps.length + 2).u8(OptParamType.CAPABILITIES).u8(caps.length).raw(caps);
  } else {
    // RFC 9072 extended optional parameters.
    w.u8(255).u8(OptParamType.EXTENDED_LENGTH).u16(caps.length + 3).u8(OptParamType.CAPABILITIES).u16(caps.length).raw(caps);
  }
  const out = w.bytes();
  writeHeader(out, out.length, MsgType.OPEN);
  return out;
}

/** The peer's AS: the AS4 capability when present, else the 2-octet field. */
export function peerAsOf(open: Pick<OpenMessage, 'myAs' | 'capabilities'> & { as4?: number }): number {
  if (open.as4 !== undefined) return open.as4;
  const c = open.capabilities.find((x) => x.kind === 'as4');
  return c && c.kind === 'as4' ? c.asn : open.myAs;
}

/** The 2-octet My AS field for a local AS (AS_TRANS above 65535). */
export function myAsField(asn: number): number {
  return asn > 0xffff ? AS_TRANS : asn;
}

export interface OpenExpectation {
  /** The AS configured for this peer. */
  peerAs: number;
  /** Our BGP identifier (dotted). */
  localBgpId: string;
  /** Our AS; when given and different from peerAs the session is eBGP, which may share our identifier (RFC 6286). */
  localAs?: number;
  /** Hold times below this (other than 0) are unacceptable. Default 3 (RFC 4271: 1 and 2 are never acceptable). */
  minHoldTime?: number;
  /** Capabilities the peer must offer (compared by code and value); missing ones give 2/7. */
  requiredCapabilities?: Capability[];
}

function isValidBgpId(id: string): boolean {
  let v: number;
  try {
    v = parseIpv4(id);
  } catch {
    return false;
  }
  // 0.0.0.0 and multicast/class E identifiers are not valid unicast host addresses.
  return v !== 0 && v >>> 28 < 0xe;
}

/** RFC 4271 §6.2 / RFC 5492 semantic checks of a received OPEN; throws the BgpError to send. */
export function validateOpen(open: OpenMessage, expect: OpenExpectation): void {
  if (open.version !== 4) throw openError.unsupportedVersion(open.version);
  const peerAs = peerAsOf(open);
  if (peerAs !== expect.peerAs) throw openError.badPeerAs(peerAs);
  // With an AS4 capability the 2-octet field must agree with it (AS_TRANS when the AS needs 4 octets).
  if (open.as4 !== undefined && open.myAs !== myAsField(open.as4)) throw openError.badPeerAs(open.myAs);
  const internal = expect.localAs === undefined || expect.localAs === expect.peerAs;
  if (!isValidBgpId(open.bgpId) || (internal && open.bgpId === expect.localBgpId)) throw openError.badBgpId(open.bgpId);
  const minHold = Math.max(3, expect.minHoldTime ?? 3);
  if (open.holdTime !== 0 && open.holdTime < minHold) throw openError.unacceptableHoldTime(open.holdTime);
  const required = expect.requiredCapabilities ?? [];
  if (required.length > 0) {
    const offered = new Set(open.capabilities.map(capabilityKey));
    const missing = required.filter((c) => !offered.has(capabilityKey(c)));
    if (missing.length > 0) {
      const w = new ByteWriter();
      for (const c of missing) encodeCapability(c, w);
      throw openError.unsupportedCapability(w.bytes());
    }
  }
}

function capabilityKey(c: Capability): string {
  return `${capabilityCode(c)}:${Array.from(encodeCapabilityBytes([c])).join(',')}`;
}

/** Families listed in multiprotocol capabilities (IPv4 unicast when none, RFC 4760 §8). */
export function multiprotocolFamilies(open: Pick<OpenMessage, 'capabilities'>): { afi: number; safi: number }[] {
  const mp = open.capabilities.flatMap((c) => (c.kind === 'multiprotocol' ? [{ afi: c.afi, safi: c.safi }] : []));
  return mp.length > 0 ? mp : [{ afi: 1, safi: 1 }];
}

function addPathMode(open: Pick<OpenMessage, 'capabilities'>, afi: number): number {
  for (const c of open.capabilities) if (c.kind === 'addPath') for (const f of c.families) if (f.afi === afi && f.safi === 1) return f.sendReceive;
  return 0;
}

/** The codec context two OPENs negotiate (RFC 6793, RFC 7911 §5, RFC 8654). */
export function negotiateContext(local: Pick<OpenMessage, 'capabilities'>, remote: Pick<OpenMessage, 'capabilities'>): CodecContext {
  const has = (o: Pick<OpenMessage, 'capabilities'>, kind: Capability['kind']) => o.capabilities.some((c) => c.kind === kind);
  // We receive path ids when we can receive (bit 1) and the peer can send (bit 2); and the reverse for sending.
  const rx = (afi: number) => (addPathMode(local, afi) & 1) !== 0 && (addPathMode(remote, afi) & 2) !== 0;
  const tx = (afi: number) => (addPathMode(local, afi) & 2) !== 0 && (addPathMode(remote, afi) & 1) !== 0;
  return {
    as4: has(local, 'as4') && has(remote, 'as4'),
    addPathRx: { ipv4: rx(1), ipv6: rx(2) },
    addPathTx: { ipv4: tx(1), ipv6: tx(2) },
    extendedMessage: has(local, 'extendedMessage') && has(remote, 'extendedMessage'),
  };
}
