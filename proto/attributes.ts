/**
 * Path attributes: one table row per attribute code with its expected flags, its RFC 7606 handling
 * when malformed, and decode/encode/format functions (BIRD's bgp_attr_table). MP_REACH_NLRI and
 * MP_UNREACH_NLRI decode here too but are encoded by update.ts, which owns the NLRI.
 */
import { ipv4At, ipv4Bytes, ipv6At, ipv6Bytes, readU16, readU32 } from './bytes.js';
import { AS_TRANS, AsPathSegmentType, AttrFlag, AttrType } from './constants.js';
import type { CodecContext } from './context.js';
import { BgpError, type ErrorHandling, updateError, UpdateSubcode } from './errors.js';
import { type DecodedPrefixes, decodePrefixes4, decodePrefixes6 } from './nlri.js';
import { formatIpv4 } from './prefix.js';

export type OriginCode = 0 | 1 | 2;

export interface AsPathSegment {
  type: 1 | 2 | 3 | 4;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  address: string;
}

export interface UnknownAttribute {
  /** Flags to send with (received optional transitive attributes get the Partial bit). */
  flags: number;
  code: number;
  value: Uint8Array;
}

/**
 * A decoded attribute set. The MP_REACH next hop is not here (see UpdateMessage.mpReach); for
 * encoding IPv6 routes, `nextHop` holds the IPv6 global next hop and `nextHopLinkLocal` the
 * optional link-local one. AS numbers are always 4-octet values (AS4_PATH already merged).
 */
export interface PathAttributes {
  origin: OriginCode;
  asPath: AsPathSegment[];
  nextHop?: string;
  nextHopLinkLocal?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997, each as a uint32 (asn << 16 | value). */
  communities?: number[];
  /** RFC 4360, each 8 octets as a bigint. */
  extCommunities?: bigint[];
  /** RFC 8092 */
  largeCommunities?: [number, number, number][];
  originatorId?: string;
  clusterList?: string[];
  unknown: UnknownAttribute[];
}

export interface MpReach {
  afi: number;
  safi: number;
  /** One next hop, or two for IPv6 (global then link-local). */
  nextHop: string[];
  /** IPv4: [addr, len, ...]; IPv6: [w0, w1, w2, w3, len, ...]. */
  nlri: Uint32Array;
  pathIds?: Uint32Array;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: Uint32Array;
  pathIds?: Uint32Array;
}

/** What decoding one UPDATE's attributes accumulates. */
export interface AttrParseState {
  readonly b: Uint8Array;
  readonly ctx: CodecContext;
  readonly attrs: PathAttributes;
  /** Attributes other than MP_UNREACH_NLRI were present. */
  sawPathAttributes: boolean;
  sawOrigin: boolean;
  sawAsPath: boolean;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  treatAsWithdraw: boolean;
  discarded: number[];
  errors: BgpError[];
}

type Decode = (s: AttrParseState, o: number, len: number) => number;
type Encode = (a: PathAttributes, as4: boolean) => Uint8Array | null;
type Format = (a: PathAttributes) => string | null;

export interface AttrRow {
  code: number;
  name: string;
  /** The Optional and Transitive bits this attribute must carry. */
  flags: number;
  /** RFC 7606 handling when this attribute is malformed. */
  onMalformed: ErrorHandling;
  /** Returns 0, or the UPDATE error subcode when the value is malformed. */
  decode: Decode;
  encode: Encode;
  format: Format;
}

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPT_TRANS = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPT_NON_TRANS = AttrFlag.OPTIONAL;
const BAD_LEN = UpdateSubcode.ATTRIBUTE_LENGTH_ERROR;
const OPT_ERR = UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR;

function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

function u32List(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint32(i * 4, v >>> 0));
  return out;
}

// ---------------------------------------------------------------- AS paths

/** Decodes AS path segments; null when malformed (RFC 7606 §7.2: bad type, zero count, overrun). */
export function decodeSegments(b: Uint8Array, o: number, len: number, asSize: 2 | 4): AsPathSegment[] | null {
  const end = o + len;
  const segs: AsPathSegment[] = [];
  while (o < end) {
    if (o + 2 > end) return null;
    const type = b[o]!;
    const count = b[o + 1]!;
    if (type < 1 || type > 4 || count === 0) return null;
    o += 2;
    if (o + count * asSize > end) return null;
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++, o += asSize) asns[i] = asSize === 4 ? readU32(b, o) : readU16(b, o);
    segs.push({ type: type as AsPathSegment['type'], asns });
  }
  return segs;
}

/**
 * The AS_PATH last decoded (value bytes, AS size) and its segments, frozen: consecutive UPDATEs of
 * a table mostly carry the same path, and then share one decoded path (no arrays per UPDATE, and
 * the RIB's path sharing finds it by identity). Nothing may change a decoded path (it throws).
 */
let lastPathBytes = new Uint8Array(0);
let lastPathAsSize = 0;
let lastPath: AsPathSegment[] | null = null;

function decodeAsPath(b: Uint8Array, o: number, len: number, asSize: 2 | 4): AsPathSegment[] | null {
  if (lastPath !== null && asSize === lastPathAsSize && len === lastPathBytes.length) {
    let i = 0;
    while (i < len && b[o + i] === lastPathBytes[i]) i++;
    if (i === len) return lastPath;
  }
  const segs = decodeSegments(b, o, len, asSize);
  if (segs === null || len > 512) return segs;
  for (const seg of segs) {
    Object.freeze(seg.asns);
    Object.freeze(seg);
  }
  lastPath = Object.freeze(segs) as AsPathSegment[];
  lastPathBytes = b.slice(o, o + len);
  lastPathAsSize = asSize;
  return lastPath;
}

/** The last NEXT_HOP decoded and its text: a table's UPDATEs mostly share one (no new string per UPDATE). */
let lastNextHop = -1;
let lastNextHopText = '';

function nextHopText(addr: number): string {
  if (addr !== lastNextHop) {
    lastNextHopText = formatIpv4(addr);
    lastNextHop = addr;
  }
  return lastNextHopText;
}

/** Encodes segments, splitting any longer than 255 ASNs; 2-octet mode writes AS_TRANS for large ASNs. */
export function encodeSegments(segs: readonly AsPathSegment[], asSize: 2 | 4): Uint8Array {
  let size = 0;
  for (const s of segs) size += Math.ceil(s.asns.length / 255) * 2 + s.asns.length * asSize;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const s of segs) {
    for (let start = 0; start < s.asns.length; start += 255) {
      const part = s.asns.slice(start, start + 255);
      out[o++] = s.type;
      out[o++] = part.length;
      for (const asn of part) {
        if (asSize === 4) dv.setUint32(o, asn >>> 0);
        else dv.setUint16(o, asn > 0xffff ? AS_TRANS : asn);
        o += asSize;
      }
    }
  }
  return out;
}

const isConfed = (s: AsPathSegment) => s.type === AsPathSegmentType.AS_CONFED_SEQUENCE || s.type === AsPathSegmentType.AS_CONFED_SET;

/** Path length as RFC 4271 §9.1.2.2 counts it: a set counts 1, confederation segments 0. */
export function asPathLength(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) n += isConfed(s) ? 0 : s.type === AsPathSegmentType.AS_SET ? 1 : s.asns.length;
  return n;
}

/** RFC 6793 §4.2.3: the leading ASes of AS_PATH that AS4_PATH does not cover, then AS4_PATH. */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let keep = asPathLength(asPath) - asPathLength(as4Path);
  if (keep < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (isConfed(s)) out.push({ type: s.type, asns: [...s.asns] });
    else if (keep > 0) {
      if (s.type === AsPathSegmentType.AS_SET) {
        out.push({ type: s.type, asns: [...s.asns] });
        keep -= 1;
      } else {
        const take = Math.min(keep, s.asns.length);
        out.push({ type: s.type, asns: s.asns.slice(0, take) });
        keep -= take;
      }
    }
  }
  for (const s of as4Path) {
    const last = out[out.length - 1];
    // Join sequences split only by the merge, so re-encoding gives one segment as the sender had.
    if (last && last.type === AsPathSegmentType.AS_SEQUENCE && s.type === AsPathSegmentType.AS_SEQUENCE && last.asns.length + s.asns.length <= 255)
      last.asns.push(...s.asns);
    else out.push({ type: s.type, asns: [...s.asns] });
  }
  return out;
}

function needsAs4(segs: readonly AsPathSegment[]): boolean {
  return segs.some((s) => !isConfed(s) && s.asns.some((a) => a > 0xffff));
}

export function formatAsPath(segs: readonly AsPathSegment[]): string {
  return segs
    .map((s) => {
      const list = s.asns.join(' ');
      switch (s.type) {
        case AsPathSegmentType.AS_SET:
          return `{${list}}`;
        case AsPathSegmentType.AS_CONFED_SEQUENCE:
          return `(${list})`;
        case AsPathSegmentType.AS_CONFED_SET:
          return `[${list}]`;
        default:
          return list;
      }
    })
    .join(' ');
}

// ---------------------------------------------------------------- communities

export function formatCommunity(c: number): string {
  return `(${c >>> 16},${c & 0xffff})`;
}

export function formatExtCommunity(c: bigint): string {
  const type = Number(c >> 56n) & 0xff;
  const sub = Number(c >> 48n) & 0xff;
  const kind = sub === 2 ? 'rt' : sub === 3 ? 'ro' : `0x${type.toString(16)}${sub.toString(16).padStart(2, '0')}`;
  if (type === 0x00 || type === 0x40) return `(${kind}, ${Number(c >> 32n) & 0xffff}, ${Number(c & 0xffffffffn)})`;
  if (type === 0x02 || type === 0x42) return `(${kind}, ${Number(c >> 16n) & 0xffffffff}, ${Number(c & 0xffffn)})`;
  if (type === 0x01 || type === 0x41) {
    const ip = Number(c >> 16n) & 0xffffffff;
    return `(${kind}, ${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}, ${Number(c & 0xffffn)})`;
  }
  return `(generic, 0x${(c >> 32n).toString(16)}, 0x${(c & 0xffffffffn).toString(16)})`;
}

// ---------------------------------------------------------------- MP_REACH / MP_UNREACH

function decodeNextHops(b: Uint8Array, o: number, nhLen: number): string[] | null {
  if (nhLen === 4) return [ipv4At(b, o)];
  if (nhLen === 16) return [ipv6At(b, o)];
  if (nhLen === 32) return [ipv6At(b, o), ipv6At(b, o + 16)];
  return null;
}

function supportedFamily(afi: number, safi: number): boolean {
  return (afi === 1 || afi === 2) && safi === 1;
}

/** Unknown AFI/SAFI: drop the attribute (as BIRD does) rather than reset the session. */
function discardFamily(s: AttrParseState, code: number, afi: number, safi: number): number {
  noteDiscarded(s, code);
  noteError(s, updateError(OPT_ERR, 'attribute-discard', undefined, `unsupported family ${afi}/${safi}`));
  return 0;
}

/** The prefixes inside an MP attribute, or null when they do not parse (the caller reports the attribute). */
function mpPrefixes(b: Uint8Array, afi: number, start: number, end: number, addPath: boolean): DecodedPrefixes | null {
  try {
    return afi === 1 ? decodePrefixes4(b, start, end, addPath, OPT_ERR) : decodePrefixes6(b, start, end, addPath, OPT_ERR);
  } catch (e) {
    if (e instanceof BgpError) return null;
    throw e;
  }
}

function decodeMpReach(s: AttrParseState, o: number, len: number): number {
  const b = s.b;
  if (len < 5) return OPT_ERR;
  const afi = readU16(b, o);
  const safi = b[o + 2]!;
  const nhLen = b[o + 3]!;
  if (5 + nhLen > len) return OPT_ERR;
  if (!supportedFamily(afi, safi)) return discardFamily(s, AttrType.MP_REACH_NLRI, afi, safi);
  const nextHop = decodeNextHops(b, o + 4, nhLen);
  // An IPv6 family needs an IPv6 next hop; IPv4 takes IPv4, or IPv6 per RFC 8950.
  if (!nextHop || (afi === 2 && nhLen === 4)) return OPT_ERR;
  const start = o + 4 + nhLen + 1; // skip the reserved octet
  const end = o + len;
  const addPath = afi === 1 ? s.ctx.addPathRx.ipv4 : s.ctx.addPathRx.ipv6;
  const d = mpPrefixes(b, afi, start, end, addPath);
  if (!d) return OPT_ERR;
  s.mpReach = { afi, safi, nextHop, nlri: d.prefixes };
  if (d.pathIds) s.mpReach.pathIds = d.pathIds;
  return 0;
}

function decodeMpUnreach(s: AttrParseState, o: number, len: number): number {
  const b = s.b;
  if (len < 3) return OPT_ERR;
  const afi = readU16(b, o);
  const safi = b[o + 2]!;
  // An empty one is an End-of-RIB marker, reported for any family so the session can ignore it.
  if (!supportedFamily(afi, safi) && len > 3) return discardFamily(s, AttrType.MP_UNREACH_NLRI, afi, safi);
  const addPath = afi === 1 ? s.ctx.addPathRx.ipv4 : s.ctx.addPathRx.ipv6;
  const d = mpPrefixes(b, afi, o + 3, o + len, addPath);
  if (!d) return OPT_ERR;
  s.mpUnreach = { afi, safi, withdrawn: d.prefixes };
  if (d.pathIds) s.mpUnreach.pathIds = d.pathIds;
  return 0;
}

// ---------------------------------------------------------------- the table

const ORIGIN_NAMES = ['IGP', 'EGP', 'Incomplete'] as const;
const none: Encode = () => null;
const noFormat: Format = () => null;

const ROWS: AttrRow[] = [
  {
    code: AttrType.ORIGIN,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len !== 1) return BAD_LEN;
      const v = s.b[o]!;
      if (v > 2) return UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE;
      s.attrs.origin = v as OriginCode;
      s.sawOrigin = true;
      return 0;
    },
    encode: (a) => Uint8Array.of(a.origin),
    format: (a) => `origin ${ORIGIN_NAMES[a.origin]}`,
  },
  {
    code: AttrType.AS_PATH,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      const segs = decodeAsPath(s.b, o, len, s.ctx.as4 ? 4 : 2);
      if (!segs) return UpdateSubcode.MALFORMED_AS_PATH;
      s.attrs.asPath = segs;
      s.sawAsPath = true;
      return 0;
    },
    encode: (a, as4) => encodeSegments(a.asPath, as4 ? 4 : 2),
    format: (a) => `as-path [${formatAsPath(a.asPath)}]`,
  },
  {
    code: AttrType.NEXT_HOP,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len !== 4) return BAD_LEN;
      // RFC 4271 §6.3: 0.0.0.0, multicast and class E are never a usable next hop.
      const first = s.b[o]!;
      if (readU32(s.b, o) === 0 || first >= 224) return UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE;
      s.attrs.nextHop = nextHopText(readU32(s.b, o));
      return 0;
    },
    // Only an IPv4 next hop goes into NEXT_HOP; IPv6 ones travel in MP_REACH_NLRI.
    encode: (a) => (a.nextHop !== undefined && !a.nextHop.includes(':') ? ipv4Bytes(a.nextHop) : null),
    format: (a) => (a.nextHop !== undefined ? `next-hop ${a.nextHop}${a.nextHopLinkLocal ? ` ${a.nextHopLinkLocal}` : ''}` : null),
  },
  {
    code: AttrType.MULTI_EXIT_DISC,
    name: 'MULTI_EXIT_DISC',
    flags: OPT_NON_TRANS,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len !== 4) return BAD_LEN;
      s.attrs.med = readU32(s.b, o);
      return 0;
    },
    encode: (a) => (a.med !== undefined ? u32Bytes(a.med) : null),
    format: (a) => (a.med !== undefined ? `med ${a.med}` : null),
  },
  {
    code: AttrType.LOCAL_PREF,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len !== 4) return BAD_LEN;
      s.attrs.localPref = readU32(s.b, o);
      return 0;
    },
    encode: (a) => (a.localPref !== undefined ? u32Bytes(a.localPref) : null),
    format: (a) => (a.localPref !== undefined ? `local-pref ${a.localPref}` : null),
  },
  {
    code: AttrType.ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onMalformed: 'attribute-discard',
    decode: (s, _o, len) => {
      if (len !== 0) return BAD_LEN;
      s.attrs.atomicAggregate = true;
      return 0;
    },
    encode: (a) => (a.atomicAggregate ? new Uint8Array(0) : null),
    format: (a) => (a.atomicAggregate ? 'atomic-aggregate' : null),
  },
  {
    code: AttrType.AGGREGATOR,
    name: 'AGGREGATOR',
    flags: OPT_TRANS,
    onMalformed: 'attribute-discard',
    decode: (s, o, len) => {
      const asSize = s.ctx.as4 ? 4 : 2;
      if (len !== asSize + 4) return BAD_LEN;
      s.attrs.aggregator = { asn: asSize === 4 ? readU32(s.b, o) : readU16(s.b, o), address: ipv4At(s.b, o + asSize) };
      return 0;
    },
    encode: (a, as4) => {
      if (!a.aggregator) return null;
      const ip = ipv4Bytes(a.aggregator.address);
      if (as4) return Uint8Array.of(...u32Bytes(a.aggregator.asn), ...ip);
      const asn = a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn;
      return Uint8Array.of(asn >>> 8, asn & 255, ...ip);
    },
    format: (a) => (a.aggregator ? `aggregator ${a.aggregator.asn} ${a.aggregator.address}` : null),
  },
  {
    code: AttrType.COMMUNITIES,
    name: 'COMMUNITIES',
    flags: OPT_TRANS,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len === 0 || len % 4 !== 0) return BAD_LEN;
      const list: number[] = [];
      for (let i = 0; i < len; i += 4) list.push(readU32(s.b, o + i));
      s.attrs.communities = list;
      return 0;
    },
    encode: (a) => (a.communities && a.communities.length > 0 ? u32List(a.communities) : null),
    format: (a) => (a.communities ? `communities ${a.communities.map(formatCommunity).join(' ')}` : null),
  },
  {
    code: AttrType.ORIGINATOR_ID,
    name: 'ORIGINATOR_ID',
    flags: OPT_NON_TRANS,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len !== 4) return BAD_LEN;
      s.attrs.originatorId = ipv4At(s.b, o);
      return 0;
    },
    encode: (a) => (a.originatorId !== undefined ? ipv4Bytes(a.originatorId) : null),
    format: (a) => (a.originatorId !== undefined ? `originator-id ${a.originatorId}` : null),
  },
  {
    code: AttrType.CLUSTER_LIST,
    name: 'CLUSTER_LIST',
    flags: OPT_NON_TRANS,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len === 0 || len % 4 !== 0) return BAD_LEN;
      const list: string[] = [];
      for (let i = 0; i < len; i += 4) list.push(ipv4At(s.b, o + i));
      s.attrs.clusterList = list;
      return 0;
    },
    encode: (a) => (a.clusterList && a.clusterList.length > 0 ? Uint8Array.from(a.clusterList.flatMap((c) => [...ipv4Bytes(c)])) : null),
    format: (a) => (a.clusterList ? `cluster-list ${a.clusterList.join(' ')}` : null),
  },
  {
    code: AttrType.MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: OPT_NON_TRANS,
    onMalformed: 'session-reset',
    decode: decodeMpReach,
    encode: none,
    format: noFormat,
  },
  {
    code: AttrType.MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: OPT_NON_TRANS,
    onMalformed: 'session-reset',
    decode: decodeMpUnreach,
    encode: none,
    format: noFormat,
  },
  {
    code: AttrType.EXTENDED_COMMUNITIES,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPT_TRANS,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len === 0 || len % 8 !== 0) return BAD_LEN;
      const list: bigint[] = [];
      for (let i = 0; i < len; i += 8) list.push((BigInt(readU32(s.b, o + i)) << 32n) | BigInt(readU32(s.b, o + i + 4)));
      s.attrs.extCommunities = list;
      return 0;
    },
    encode: (a) => {
      if (!a.extCommunities || a.extCommunities.length === 0) return null;
      const out = new Uint8Array(a.extCommunities.length * 8);
      const dv = new DataView(out.buffer);
      a.extCommunities.forEach((c, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, c)));
      return out;
    },
    format: (a) => (a.extCommunities ? `ext-communities ${a.extCommunities.map(formatExtCommunity).join(' ')}` : null),
  },
  {
    code: AttrType.AS4_PATH,
    name: 'AS4_PATH',
    flags: OPT_TRANS,
    onMalformed: 'attribute-discard',
    decode: (s, o, len) => {
      const segs = decodeSegments(s.b, o, len, 4);
      // RFC 6793 §6: confederation segments do not belong in AS4_PATH.
      if (!segs || segs.some(isConfed)) return OPT_ERR;
      s.as4Path = segs;
      return 0;
    },
    encode: (a, as4) => (!as4 && needsAs4(a.asPath) ? encodeSegments(a.asPath.filter((x) => !isConfed(x)), 4) : null),
    format: noFormat,
  },
  {
    code: AttrType.AS4_AGGREGATOR,
    name: 'AS4_AGGREGATOR',
    flags: OPT_TRANS,
    onMalformed: 'attribute-discard',
    decode: (s, o, len) => {
      if (len !== 8) return BAD_LEN;
      s.as4Aggregator = { asn: readU32(s.b, o), address: ipv4At(s.b, o + 4) };
      return 0;
    },
    encode: (a, as4) => (!as4 && a.aggregator && a.aggregator.asn > 0xffff ? Uint8Array.of(...u32Bytes(a.aggregator.asn), ...ipv4Bytes(a.aggregator.address)) : null),
    format: noFormat,
  },
  {
    code: AttrType.LARGE_COMMUNITIES,
    name: 'LARGE_COMMUNITIES',
    flags: OPT_TRANS,
    onMalformed: 'treat-as-withdraw',
    decode: (s, o, len) => {
      if (len === 0 || len % 12 !== 0) return BAD_LEN;
      const list: [number, number, number][] = [];
      for (let i = 0; i < len; i += 12) list.push([readU32(s.b, o + i), readU32(s.b, o + i + 4), readU32(s.b, o + i + 8)]);
      s.attrs.largeCommunities = list;
      return 0;
    },
    encode: (a) => (a.largeCommunities && a.largeCommunities.length > 0 ? u32List(a.largeCommunities.flat()) : null),
    format: (a) => (a.largeCommunities ? `large-communities ${a.largeCommunities.map((c) => `(${c.join(', ')})`).join(' ')}` : null),
  },
];

/** Rows indexed by attribute code. */
export const ATTRS: ReadonlyArray<AttrRow | undefined> = (() => {
  const t: (AttrRow | undefined)[] = new Array(256).fill(undefined);
  for (const r of ROWS) t[r.code] = r;
  return t;
})();

export function attributeName(code: number): string {
  return ATTRS[code]?.name ?? `attribute ${code}`;
}

// ---------------------------------------------------------------- decoding

/**
 * Shared empty lists of a decode that found nothing of the kind (most UPDATEs): frozen, and
 * replaced by a list of its own on the first entry (noteDiscarded, noteError, unknown attributes).
 */
const NO_UNKNOWN = Object.freeze([]) as unknown as UnknownAttribute[];
const NO_PATH = Object.freeze([]) as unknown as AsPathSegment[];
export const NO_CODES = Object.freeze([]) as unknown as number[];
export const NO_ERRORS = Object.freeze([]) as unknown as BgpError[];

export function newAttributes(): PathAttributes {
  return { origin: 2, asPath: NO_PATH, unknown: NO_UNKNOWN };
}

export function noteDiscarded(s: { discarded: number[] }, code: number): void {
  if (s.discarded === NO_CODES) s.discarded = [];
  s.discarded.push(code);
}

export function noteError(s: { errors: BgpError[] }, err: BgpError): void {
  if (s.errors === NO_ERRORS) s.errors = [];
  s.errors.push(err);
}

/** Per-message duplicate detection: a generation stamp per code avoids clearing 256 slots each time. */
const seenStamp = new Uint32Array(256);
let generation = 0;

function report(s: AttrParseState, err: BgpError, code: number): void {
  if (err.handling === 'session-reset') throw err;
  if (err.handling === 'treat-as-withdraw') s.treatAsWithdraw = true;
  else noteDiscarded(s, code);
  noteError(s, err);
}

/**
 * Decodes the path attribute field b[off, end) into s (RFC 4271 §6.3, RFC 7606). Session-reset
 * errors are thrown; treat-as-withdraw and attribute-discard ones are recorded on s.
 */
export function decodeAttributes(s: AttrParseState, off: number, end: number): void {
  const b = s.b;
  generation = (generation + 1) >>> 0;
  if (generation === 0) {
    seenStamp.fill(0);
    generation = 1;
  }
  let o = off;
  while (o < end) {
    const flags = b[o]!;
    const hdr = flags & AttrFlag.EXTENDED_LENGTH ? 4 : 3;
    // RFC 7606 §4: an attribute overrunning the attribute field → treat-as-withdraw, NLRI still located.
    if (end - o < hdr) {
      report(s, updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'treat-as-withdraw', undefined, 'truncated attribute header'), 0);
      return;
    }
    const code = b[o + 1]!;
    const len = hdr === 4 ? readU16(b, o + 2) : b[o + 2]!;
    const v = o + hdr;
    if (v + len > end) {
      report(s, updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'treat-as-withdraw', undefined, `${attributeName(code)} overruns the attribute field`), code);
      return;
    }
    const next = v + len;
    const row = ATTRS[code];
    if (seenStamp[code] === generation) {
      // RFC 7606 §3g: repeated MP_(UN)REACH_NLRI resets; other repeats are dropped.
      const mp = code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI;
      report(s, updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, mp ? 'session-reset' : 'attribute-discard', undefined, `repeated ${attributeName(code)}`), code);
      o = next;
      continue;
    }
    seenStamp[code] = generation;
    if (code !== AttrType.MP_UNREACH_NLRI) s.sawPathAttributes = true;
    if (!row) {
      if (!(flags & AttrFlag.OPTIONAL)) {
        report(s, updateError(UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, 'session-reset', b.slice(o, next), `code ${code}`), code);
      } else if (flags & AttrFlag.TRANSITIVE) {
        // Unknown optional transitive: pass it on, marked Partial (RFC 4271 §5).
        if (s.attrs.unknown === NO_UNKNOWN) s.attrs.unknown = [];
        s.attrs.unknown.push({ flags: (flags | AttrFlag.PARTIAL) & ~AttrFlag.EXTENDED_LENGTH, code, value: b.slice(v, next) });
      }
      o = next;
      continue;
    }
    if (s.ctx.as4 && (code === AttrType.AS4_PATH || code === AttrType.AS4_AGGREGATOR)) {
      // RFC 6793 §4.1: a NEW speaker ignores these from another NEW speaker.
      noteDiscarded(s, code);
      o = next;
      continue;
    }
    if (s.ctx.ebgp && (code === AttrType.LOCAL_PREF || code === AttrType.ORIGINATOR_ID || code === AttrType.CLUSTER_LIST)) {
      // Meaningful only inside an AS: ignore them from an external peer.
      noteDiscarded(s, code);
      o = next;
      continue;
    }
    const sub = (flags & OPT_TRANS) !== row.flags ? UpdateSubcode.ATTRIBUTE_FLAGS_ERROR : row.decode(s, v, len);
    // RFC 4271 §6.3: the attribute itself is the data, except for a malformed AS_PATH (no data).
    if (sub !== 0) report(s, updateError(sub, row.onMalformed, sub === UpdateSubcode.MALFORMED_AS_PATH ? undefined : b.slice(o, next), row.name), code);
    o = next;
  }
}

/** RFC 6793 §4.2.3 merge of AS4_PATH and AS4_AGGREGATOR after all attributes are read. */
export function finishAs4(s: AttrParseState): void {
  const a = s.attrs;
  if (a.aggregator && a.aggregator.asn !== AS_TRANS) {
    // An OLD speaker aggregated: AS4_AGGREGATOR and AS4_PATH are stale, ignore both (§4.2.3).
    if (s.as4Path) noteDiscarded(s, AttrType.AS4_PATH);
    if (s.as4Aggregator) noteDiscarded(s, AttrType.AS4_AGGREGATOR);
    return;
  }
  if (a.aggregator && s.as4Aggregator) a.aggregator = s.as4Aggregator;
  if (s.as4Path) a.asPath = mergeAs4Path(a.asPath, s.as4Path);
}

// ---------------------------------------------------------------- encoding

/** Writes one attribute (flags, code, length, value); extended length only when the value needs it. */
export function attributeBytes(flags: number, code: number, value: Uint8Array): Uint8Array {
  const ext = value.length > 255;
  const out = new Uint8Array((ext ? 4 : 3) + value.length);
  out[0] = ext ? flags | AttrFlag.EXTENDED_LENGTH : flags & ~AttrFlag.EXTENDED_LENGTH;
  out[1] = code;
  if (ext) {
    out[2] = value.length >>> 8;
    out[3] = value.length & 255;
    out.set(value, 4);
  } else {
    out[2] = value.length;
    out.set(value, 3);
  }
  return out;
}

/** The encoded attributes in code order, split around the MP_* codes (14, 15) so MP attributes slot in between. */
export interface EncodedAttributes {
  below: Uint8Array;
  above: Uint8Array;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes every attribute of `a` in code order (MP_* excluded); `as4` picks 2- or 4-octet AS fields. */
export function encodeAttributeParts(a: PathAttributes, as4: boolean): EncodedAttributes {
  const entries: { code: number; bytes: Uint8Array }[] = [];
  for (const row of ROWS) {
    const value = row.encode(a, as4);
    if (value) entries.push({ code: row.code, bytes: attributeBytes(row.flags, row.code, value) });
  }
  for (const u of a.unknown) entries.push({ code: u.code, bytes: attributeBytes(u.flags, u.code, u.value) });
  entries.sort((x, y) => x.code - y.code);
  return {
    below: concat(entries.filter((e) => e.code < AttrType.MP_REACH_NLRI).map((e) => e.bytes)),
    above: concat(entries.filter((e) => e.code > AttrType.MP_UNREACH_NLRI).map((e) => e.bytes)),
  };
}

const cache2 = new WeakMap<PathAttributes, EncodedAttributes>();
const cache4 = new WeakMap<PathAttributes, EncodedAttributes>();

/**
 * Encoded attributes of an attribute-set object, computed once per (object, AS size): pass the same
 * (interned, not mutated afterwards) object for every batch of prefixes that shares it.
 */
export function encodedAttributes(a: PathAttributes, as4: boolean): EncodedAttributes {
  const cache = as4 ? cache4 : cache2;
  let e = cache.get(a);
  if (!e) {
    e = encodeAttributeParts(a, as4);
    cache.set(a, e);
  }
  return e;
}

/** One-line summary of an attribute set for logs. */
export function formatAttributes(a: PathAttributes): string {
  const parts: string[] = [];
  for (const row of ROWS) {
    const t = row.format(a);
    if (t) parts.push(t);
  }
  for (const u of a.unknown) parts.push(`${attributeName(u.code)} flags 0x${u.flags.toString(16)} len ${u.value.length}`);
  return parts.join(', ');
}
