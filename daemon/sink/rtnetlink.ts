/**
 * rtnetlink messages for kernel routes (RTM_NEWROUTE, RTM_DELROUTE), encoded byte for byte the
 * way `ip route replace` / `ip route del` build them (iproute2's ip/iproute.c), into one buffer
 * per chunk for the netlink helper (native/petrel-netlink.c). Pure code: no I/O.
 *
 * Layout of one message (all integers in host byte order, i.e. little-endian here):
 *   struct nlmsghdr (16)  len u32, type u16, flags u16, seq u32, pid u32 (0: the kernel)
 *   struct rtmsg    (12)  family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags u32
 *   attributes            RTA_DST, then RTA_GATEWAY, RTA_TABLE, RTA_PRIORITY, RTA_OIF as present (the
 *                         order iproute2 writes for our lines); each a u16 length, u16 type and the
 *                         value padded to 4 bytes.
 *
 * Routes are validated before they get here (iproute.ts invalidReason, or its route and options
 * halves): the encoder trusts them. The engine's IPv4 routes carry their prefix as the RIB's key
 * (route.ts), written from the number; other prefixes are parsed from their text.
 */
import type { SinkRoute } from '../model.js';
import { formatIpv4, formatIpv6, parsePrefix6, parseIpv4, parseIpv6 } from '../../proto/prefix.js';
import { key4Of } from './route.js';

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
const NLM_F_DUMP = 0x300;
const RTM_F_CLONED = 0x200;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const AF_INET6 = 10;
const RTN_UNSPEC = 0;
const RTN_UNICAST = 1;
const RTN_BLACKHOLE = 6;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const RT_TABLE_UNSPEC = 0;
const RT_TABLE_MAIN = 254;
export const RTNH_F_ONLINK = 4;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_TABLE = 15;
const RTA_MULTIPATH = 9;

/*
 * Byte stores instead of Buffer's writeUInt*: those run through range checks in JavaScript, and
 * before they are optimised (a daemon's first thousand routes) they were most of the encoding time.
 */
function u16le(b: Buffer, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
}

function u32le(b: Buffer, at: number, v: number): void {
  b[at] = v & 255;
  b[at + 1] = (v >>> 8) & 255;
  b[at + 2] = (v >>> 16) & 255;
  b[at + 3] = v >>> 24;
}

function u32be(b: Buffer, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 255;
  b[at + 2] = (v >>> 8) & 255;
  b[at + 3] = v & 255;
}

/** The largest message the writer writes: 16 + 12 + 20 (dst) + 20 (gateway) + 3 * 8 (oif, priority, table), rounded up. */
export const MAX_MESSAGE_BYTES = 96;

/** What every message of a sink carries: the protocol tag and the routing table, as numbers. */
export interface RouteTarget {
  readonly protocol: number;
  readonly table: number;
}

/** iproute2's names for protocols (/etc/iproute2/rt_protos) that a sink might be configured with. */
const PROTOCOLS: Readonly<Record<string, number>> = { kernel: 2, boot: 3, static: 4, zebra: 11, bird: 12, bgp: 186 };
/** iproute2's reserved table names (/etc/iproute2/rt_tables). */
const TABLES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };

/** The number of a protocol given by name or number, or undefined when only iproute2 could tell. */
export function protocolNumber(protocol: string): number | undefined {
  if (/^\d{1,3}$/.test(protocol) && Number(protocol) <= 255) return Number(protocol);
  return PROTOCOLS[protocol];
}

/** The number of a routing table (main when unset), or undefined when only iproute2 could tell. */
export function tableNumber(table: number | string | undefined): number | undefined {
  if (table === undefined) return RT_TABLE_MAIN;
  const text = String(table);
  if (/^\d{1,10}$/.test(text) && Number(text) > 0 && Number(text) <= 0xffffffff) return Number(text);
  return TABLES[text];
}

/** Where the next message goes: a buffer that grows as messages are added. */
export class MessageWriter {
  private buf: Buffer;
  private off = 0;
  /** Messages written since the last take(). */
  count = 0;
  /** What the template (the last IPv4 replace written) was made from. */
  private last: { type: string; via: string | undefined; oif: number | undefined; onlink: boolean | undefined; metric: number | undefined; target: RouteTarget } | undefined;
  /** A copy of the last IPv4 replace message. */
  private template = new Uint8Array(0);

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.off;
  }

  /**
   * The messages written so far (a copy: the writer keeps its buffer, sized for a full chunk, while
   * the copy is on its way to the helper), and a fresh start.
   */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.off);
    this.buf.copy(out, 0, 0, this.off);
    this.off = 0;
    this.count = 0;
    return out;
  }

  /**
   * RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE for a validated route (the `route replace` of
   * iproute2). `oif` is the ifindex of `route.dev` (0 or undefined: no RTA_OIF).
   */
  replace(route: SinkRoute, target: RouteTarget, seq: number, oif?: number): void {
    const key4 = key4Of(route);
    if (this.sameAsLast(route, key4, target, oif)) {
      this.fromLast(route, key4, seq);
      return;
    }
    const start = this.begin(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE, seq);
    const v6 = this.rtmsgAndDst(route, key4, target);
    const b = this.buf;
    let type = RTN_UNICAST;
    let scope = RT_SCOPE_UNIVERSE;
    if (route.type === 'blackhole') type = RTN_BLACKHOLE;
    else {
      if (route.via !== undefined) this.address(RTA_GATEWAY, route.via, v6);
      // Like iproute2, a route through a device alone is link scope (IPv6 routes are always universe).
      else if (!v6) scope = RT_SCOPE_LINK;
      if (route.onlink) u32le(b, start + 24, RTNH_F_ONLINK);
    }
    b[start + 22] = scope;
    b[start + 23] = type;
    this.finish(start, route, target, route.type === 'unicast' ? oif : undefined);
    // An IPv4 message is kept as the template for the next route with the same next hop.
    if (!v6) {
      this.last = { type: route.type, via: route.via, oif, onlink: route.onlink, metric: route.metric, target };
      this.template = new Uint8Array(b.subarray(start, this.off));
    } else this.last = undefined;
  }

  /**
   * Whether an IPv4 route differs from the last one written only in its prefix: the common case
   * (a peer's routes share their next hop), where the message is the last one with a new prefix.
   * `key4`: the route's IPv4 prefix key, or -1 (route.ts).
   */
  private sameAsLast(route: SinkRoute, key4: number, target: RouteTarget, oif: number | undefined): boolean {
    const l = this.last;
    return (
      l !== undefined &&
      l.via === route.via &&
      l.type === route.type &&
      l.oif === oif &&
      // undefined and false are the same message
      (l.onlink ?? false) === (route.onlink ?? false) &&
      l.metric === route.metric &&
      l.target === target &&
      (key4 >= 0 || route.prefix.indexOf(':') < 0)
    );
  }

  /** The template with the route's prefix and `seq` in it. */
  private fromLast(route: SinkRoute, key4: number, seq: number): void {
    if (this.off + MAX_MESSAGE_BYTES > this.buf.length) this.grow();
    const b = this.buf;
    const at = this.off;
    // TypedArray#set is a builtin: fast from the first call, where a byte loop is not.
    b.set(this.template, at);
    u32le(b, at + 8, seq >>> 0);
    this.off = at + 28; // RTA_DST follows the rtmsg
    b[at + 17] = key4 >= 0 ? this.key4(key4) : this.prefix4(route.prefix);
    this.off = at + this.template.length;
    this.count++;
  }

  private grow(): void {
    const bigger = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }

  /** RTM_DELROUTE for our route at `route.prefix` (the `route del PREFIX proto P [table T] [metric M]` of iproute2: any type, any next hop). */
  remove(route: SinkRoute, target: RouteTarget, seq: number): void {
    const start = this.begin(RTM_DELROUTE, NLM_F_REQUEST, seq);
    const v6 = this.rtmsgAndDst(route, key4Of(route), target);
    // Any scope (IPv4); IPv6 routes have only the one.
    this.buf[start + 22] = v6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
    this.buf[start + 23] = RTN_UNSPEC;
    this.finish(start, route, target);
  }

  /** The header with a placeholder length; returns where the message starts. */
  private begin(type: number, flags: number, seq: number): number {
    if (this.off + MAX_MESSAGE_BYTES > this.buf.length) this.grow();
    const b = this.buf;
    const at = this.off;
    u32le(b, at, 0);
    u16le(b, at + 4, type);
    u16le(b, at + 6, flags);
    u32le(b, at + 8, seq >>> 0);
    u32le(b, at + 12, 0);
    this.off = at + 16;
    return at;
  }

  /** struct rtmsg (scope and type filled in later) and RTA_DST; returns whether the route is IPv6. */
  private rtmsgAndDst(route: SinkRoute, key4: number, target: RouteTarget): boolean {
    const b = this.buf;
    const at = this.off;
    const v6 = key4 < 0 && route.prefix.indexOf(':') >= 0;
    b[at] = v6 ? AF_INET6 : AF_INET;
    b[at + 2] = 0; // src_len
    b[at + 3] = 0; // tos
    b[at + 4] = target.table < 256 ? target.table : RT_TABLE_UNSPEC;
    b[at + 5] = target.protocol;
    u32le(b, at + 8, 0); // flags
    this.off = at + 12;
    b[at + 1] = key4 >= 0 ? this.key4(key4) : v6 ? this.prefix6(route.prefix) : this.prefix4(route.prefix);
    return v6;
  }

  /** RTA_DST of an IPv4 prefix given as its RIB key (address * 64 + length); returns its length. */
  private key4(key: number): number {
    const b = this.buf;
    const at = this.off;
    // Not `key % 64`: on a double that is a library call.
    const addr = Math.floor(key / 64);
    u32le(b, at, 0x00010008); // len 8, type RTA_DST
    u32be(b, at + 4, addr);
    this.off = at + 8;
    return key - addr * 64;
  }

  /** RTA_DST of an IPv4 prefix; returns its length. */
  private prefix4(prefix: string): number {
    const b = this.buf;
    const at = this.off;
    u32le(b, at, 0x00010008); // len 8, type RTA_DST
    const slash = prefix.indexOf('/');
    // Fast path: digits and dots only (validated text); the rest goes through the full parser.
    let octet = 0;
    let i = 0;
    let p = at + 4;
    const end = slash < 0 ? prefix.length : slash;
    for (; i < end; i++) {
      const c = prefix.charCodeAt(i);
      if (c === 46) {
        b[p++] = octet;
        octet = 0;
      } else octet = octet * 10 + (c - 48);
    }
    b[p] = octet;
    this.off = at + 8;
    if (slash < 0) return 32;
    let len = 0;
    for (i = slash + 1; i < prefix.length; i++) len = len * 10 + (prefix.charCodeAt(i) - 48);
    return len;
  }

  /** RTA_DST of an IPv6 prefix; returns its length. */
  private prefix6(prefix: string): number {
    const { words, len } = parsePrefix6(prefix);
    const at = this.off;
    u32le(this.buf, at, 0x00010014); // len 20, type RTA_DST
    for (let w = 0; w < 4; w++) u32be(this.buf, at + 4 + 4 * w, words[w]!);
    this.off = at + 20;
    return len;
  }

  private address(type: number, text: string, v6: boolean): void {
    const b = this.buf;
    const at = this.off;
    if (v6) {
      u16le(b, at, 20);
      u16le(b, at + 2, type);
      const words = parseIpv6(text);
      for (let w = 0; w < 4; w++) u32be(b, at + 4 + 4 * w, words[w]!);
      this.off = at + 20;
    } else {
      u16le(b, at, 8);
      u16le(b, at + 2, type);
      u32be(b, at + 4, parseIpv4(text));
      this.off = at + 8;
    }
  }

  private u32(type: number, value: number): void {
    const at = this.off;
    u16le(this.buf, at, 8);
    u16le(this.buf, at + 2, type);
    u32le(this.buf, at + 4, value >>> 0);
    this.off = at + 8;
  }

  /** RTA_TABLE, RTA_PRIORITY and RTA_OIF as needed, then the message's length. */
  private finish(start: number, route: SinkRoute, target: RouteTarget, oif?: number): void {
    if (target.table >= 256) this.u32(RTA_TABLE, target.table);
    if (route.metric !== undefined) this.u32(RTA_PRIORITY, route.metric);
    if (oif) this.u32(RTA_OIF, oif);
    u32le(this.buf, start, this.off - start);
    this.count++;
  }
}

/**
 * The reason text for a message the kernel refused, worded like iproute2 prints it (which the
 * `ip -batch` path reports): the kernel's extended-ACK message with a full stop, or the errno's
 * text (strerror) when the kernel gave none.
 */
export function failureReason(strerror: string, extAck: string): string {
  if (extAck === '') return strerror;
  return extAck.endsWith('.') ? extAck : `${extAck}.`;
}

/** RTM_GETROUTE dumping every route of `family`; the helper passes on only answers of `protocol` (0: all). */
export function routeDumpRequest(family: 4 | 6, protocol: number, seq: number): Buffer {
  const b = Buffer.alloc(28);
  u32le(b, 0, 28);
  u16le(b, 4, RTM_GETROUTE);
  u16le(b, 6, NLM_F_REQUEST | NLM_F_DUMP);
  u32le(b, 8, seq >>> 0);
  b[16] = family === 4 ? AF_INET : AF_INET6;
  b[21] = protocol;
  return b;
}

/** A route of a dump, as `ip -json route show` would describe it (before its parse into a SinkRoute). */
export interface DumpedRoute {
  readonly family: 4 | 6;
  readonly protocol: number;
  readonly table: number;
  /** RTM_F_CLONED (a cache entry, which `ip route show` leaves out). */
  readonly cloned: boolean;
  /** CIDR text, /0 and host routes included. */
  readonly prefix: string;
  readonly blackhole: boolean;
  readonly gateway?: string;
  /** RTA_OIF; absent for a route with several next hops (as is RTA_GATEWAY). */
  readonly oif?: number;
  readonly onlink: boolean;
  readonly metric?: number;
}

/** One RTM_NEWROUTE message of a dump (undefined when it is not one, or is cut short). */
export function decodeRouteMessage(m: Uint8Array): DumpedRoute | undefined {
  if (m.length < 28) return undefined;
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const len = dv.getUint32(0, true);
  if (dv.getUint16(4, true) !== RTM_NEWROUTE || len > m.length || len < 28) return undefined;
  const af = m[16]!;
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const v6 = af === AF_INET6;
  const dstLen = m[17]!;
  let table = m[20]!;
  const flags = dv.getUint32(24, true);
  let dst: Uint8Array | undefined;
  let gateway: string | undefined;
  let oif: number | undefined;
  let metric: number | undefined;
  let multipath = false;
  for (let at = 28; at + 4 <= len; ) {
    const alen = dv.getUint16(at, true);
    const type = dv.getUint16(at + 2, true) & 0x3fff;
    if (alen < 4 || at + alen > len) break;
    const body = m.subarray(at + 4, at + alen);
    if (type === RTA_DST) dst = body;
    else if (type === RTA_GATEWAY) gateway = addressText(body, v6);
    else if (type === RTA_OIF && body.length >= 4) oif = dv.getUint32(at + 4, true);
    else if (type === RTA_PRIORITY && body.length >= 4) metric = dv.getUint32(at + 4, true);
    else if (type === RTA_TABLE && body.length >= 4) table = dv.getUint32(at + 4, true);
    else if (type === RTA_MULTIPATH) multipath = true;
    at += (alen + 3) & ~3;
  }
  const full = new Uint8Array(v6 ? 16 : 4);
  if (dst) full.set(dst.subarray(0, full.length));
  const prefix = `${addressText(full, v6)}/${dstLen}`;
  return {
    family: v6 ? 6 : 4,
    protocol: m[21]!,
    table,
    cloned: (flags & RTM_F_CLONED) !== 0,
    prefix,
    blackhole: m[23] === RTN_BLACKHOLE,
    ...(gateway !== undefined && !multipath ? { gateway } : {}),
    ...(oif !== undefined && !multipath ? { oif } : {}),
    onlink: (flags & RTNH_F_ONLINK) !== 0,
    ...(metric !== undefined ? { metric } : {}),
  };
}

function addressText(b: Uint8Array, v6: boolean): string {
  if (!v6) return b.length >= 4 ? formatIpv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) : '';
  const words = [0, 0, 0, 0];
  for (let w = 0; w < 4; w++) words[w] = ((b[4 * w]! << 24) | (b[4 * w + 1]! << 16) | (b[4 * w + 2]! << 8) | b[4 * w + 3]!) >>> 0;
  return formatIpv6(words);
}
