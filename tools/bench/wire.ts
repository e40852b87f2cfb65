/**
 * The few BGP messages a benchmark peer needs, and a counting reader for what a speaker sends.
 *
 * Encoding goes through Petrel's codec (proto/) where it offers the message; the counting reader is
 * deliberately shallow: it walks NLRI lengths without building values, so a receiver stays far
 * faster than any speaker it measures.
 */

export const MsgType = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, ROUTE_REFRESH: 5 } as const;

const HEADER = 19;
export const MAX_MESSAGE = 4096;

function header(out: Uint8Array, length: number, type: number): void {
  out.fill(0xff, 0, 16);
  out[16] = length >>> 8;
  out[17] = length & 0xff;
  out[18] = type;
}

export interface OpenParams {
  readonly asn: number;
  readonly holdTime: number;
  /** BGP identifier as an unsigned 32-bit number. */
  readonly routerId: number;
}

/** OPEN with multiprotocol IPv4 unicast, route refresh and 4-octet AS (RFC 4760, 2918, 6793). */
export function encodeOpen(p: OpenParams): Uint8Array {
  const caps = [
    [1, 4, 0, 1, 0, 1], // MP: AFI 1, reserved, SAFI 1
    [2, 0], // route refresh
    [65, 4, (p.asn >>> 24) & 255, (p.asn >>> 16) & 255, (p.asn >>> 8) & 255, p.asn & 255],
  ];
  const params = caps.flatMap((c) => [2, c.length, ...c]);
  const len = HEADER + 10 + params.length;
  const out = new Uint8Array(len);
  header(out, len, MsgType.OPEN);
  const as2 = p.asn > 0xffff ? 23456 : p.asn;
  out.set([4, as2 >>> 8, as2 & 255, p.holdTime >>> 8, p.holdTime & 255, p.routerId >>> 24, (p.routerId >>> 16) & 255, (p.routerId >>> 8) & 255, p.routerId & 255, params.length], HEADER);
  out.set(params, HEADER + 10);
  return out;
}

export function encodeKeepalive(): Uint8Array {
  const out = new Uint8Array(HEADER);
  header(out, HEADER, MsgType.KEEPALIVE);
  return out;
}

/** IPv4 unicast End-of-RIB: an UPDATE with nothing in it (RFC 4724). */
export function encodeEndOfRib(): Uint8Array {
  const out = new Uint8Array(HEADER + 4);
  header(out, HEADER + 4, MsgType.UPDATE);
  return out;
}

export function encodeNotification(code: number, subcode: number): Uint8Array {
  const out = new Uint8Array(HEADER + 2);
  header(out, HEADER + 2, MsgType.NOTIFICATION);
  out[HEADER] = code;
  out[HEADER + 1] = subcode;
  return out;
}

export interface PathAttrs {
  readonly nextHop: number;
  /** 4-octet AS numbers of one AS_SEQUENCE; empty for iBGP origination. */
  readonly asPath: readonly number[];
  readonly med?: number;
  readonly localPref?: number;
}

/** The path-attribute block (ORIGIN IGP, AS_PATH, NEXT_HOP, MED, LOCAL_PREF) for a 4-octet-AS session. */
export function encodePathAttrs(a: PathAttrs): Uint8Array {
  const bytes: number[] = [0x40, 1, 1, 0];
  const seg = a.asPath.length === 0 ? [] : [2, a.asPath.length, ...a.asPath.flatMap(be32)];
  bytes.push(0x40, 2, seg.length, ...seg);
  bytes.push(0x40, 3, 4, ...be32(a.nextHop));
  if (a.med !== undefined) bytes.push(0x80, 4, 4, ...be32(a.med));
  if (a.localPref !== undefined) bytes.push(0x40, 5, 4, ...be32(a.localPref));
  return Uint8Array.from(bytes);
}

function be32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

/**
 * Packs (addr,len) pairs into as few UPDATEs as fit in MAX_MESSAGE, all sharing one attribute block.
 * `prefixes` holds addr,len,addr,len,... The messages are written back to back into `sink`.
 */
export function packUpdates(attrs: Uint8Array, prefixes: Uint32Array, from: number, to: number, sink: (msg: Uint8Array) => void): void {
  const room = MAX_MESSAGE - HEADER - 4 - attrs.length;
  let i = from;
  while (i < to) {
    let nlriLen = 0;
    let j = i;
    while (j < to) {
      const plen = prefixes[2 * j + 1]!;
      const need = 1 + ((plen + 7) >>> 3);
      if (nlriLen + need > room) break;
      nlriLen += need;
      j++;
    }
    const len = HEADER + 4 + attrs.length + nlriLen;
    const out = new Uint8Array(len);
    header(out, len, MsgType.UPDATE);
    out[HEADER + 2] = attrs.length >>> 8;
    out[HEADER + 3] = attrs.length & 255;
    out.set(attrs, HEADER + 4);
    let o = HEADER + 4 + attrs.length;
    for (let k = i; k < j; k++) {
      const addr = prefixes[2 * k]!;
      const plen = prefixes[2 * k + 1]!;
      out[o++] = plen;
      for (let b = 0; b < (plen + 7) >>> 3; b++) out[o++] = (addr >>> (24 - 8 * b)) & 255;
    }
    sink(out);
    i = j;
  }
}

/**
 * Walks one UPDATE body (after the header) and calls `onPrefix(addr, len, announce)` per IPv4
 * prefix, in the classic fields and in MP_REACH/MP_UNREACH for AFI 1 SAFI 1. Assumes no ADD-PATH.
 * Returns true when the UPDATE is an IPv4 unicast End-of-RIB marker.
 */
export function walkUpdate(msg: Uint8Array, start: number, end: number, onPrefix: (addr: number, len: number, announce: boolean) => void): boolean {
  let endOfRib = false;
  let o = start;
  const wlen = (msg[o]! << 8) | msg[o + 1]!;
  o += 2;
  walkNlri(msg, o, o + wlen, onPrefix, false);
  o += wlen;
  const alen = (msg[o]! << 8) | msg[o + 1]!;
  o += 2;
  const aend = o + alen;
  if (wlen === 0 && alen === 0 && aend === end) endOfRib = true;
  while (o < aend) {
    const flags = msg[o]!;
    const type = msg[o + 1]!;
    const ext = (flags & 0x10) !== 0;
    const vlen = ext ? (msg[o + 2]! << 8) | msg[o + 3]! : msg[o + 2]!;
    const v = o + (ext ? 4 : 3);
    if (type === 14 && msg[v] === 0 && msg[v + 1] === 1 && msg[v + 2] === 1) {
      const nhLen = msg[v + 3]!;
      walkNlri(msg, v + 4 + nhLen + 1, v + vlen, onPrefix, true); // +1: reserved octet
    } else if (type === 15 && msg[v] === 0 && msg[v + 1] === 1 && msg[v + 2] === 1) {
      if (vlen === 3 && wlen === 0 && alen === vlen + (ext ? 4 : 3)) endOfRib = true;
      walkNlri(msg, v + 3, v + vlen, onPrefix, false);
    }
    o = v + vlen;
  }
  walkNlri(msg, aend, end, onPrefix, true);
  return endOfRib;
}

function walkNlri(msg: Uint8Array, o: number, end: number, onPrefix: (addr: number, len: number, announce: boolean) => void, announce: boolean): number {
  let n = 0;
  while (o < end) {
    const plen = msg[o]!;
    const bytes = (plen + 7) >>> 3;
    let addr = 0;
    for (let b = 0; b < 4; b++) addr = (addr << 8) | (b < bytes ? msg[o + 1 + b]! : 0);
    onPrefix(addr >>> 0, plen, announce);
    o += 1 + bytes;
    n++;
  }
  return n;
}

/** Minimal framer: accumulates TCP chunks and yields (type, message, bodyStart, end) per BGP message. */
export class ChunkFramer {
  private buf = new Uint8Array(0);
  private used = 0;

  push(chunk: Uint8Array, onMessage: (type: number, msg: Uint8Array, end: number) => void): void {
    if (this.used === 0 && chunk.length >= HEADER) {
      // Fast path: parse straight out of the chunk, keep only the tail.
      const consumed = this.drain(chunk, chunk.length, onMessage);
      if (consumed < chunk.length) this.append(chunk.subarray(consumed));
      return;
    }
    this.append(chunk);
    const consumed = this.drain(this.buf, this.used, onMessage);
    this.buf.copyWithin(0, consumed, this.used);
    this.used -= consumed;
  }

  private append(data: Uint8Array): void {
    if (this.used + data.length > this.buf.length) {
      const next = new Uint8Array(Math.max(2 * this.buf.length, this.used + data.length, 65536));
      next.set(this.buf.subarray(0, this.used));
      this.buf = next;
    }
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  private drain(buf: Uint8Array, avail: number, onMessage: (type: number, msg: Uint8Array, end: number) => void): number {
    let o = 0;
    while (avail - o >= HEADER) {
      const len = (buf[o + 16]! << 8) | buf[o + 17]!;
      if (len < HEADER || len > 65535) throw new Error(`bad BGP message length ${len}`);
      if (avail - o < len) break;
      const msg = buf.subarray(o, o + len);
      onMessage(buf[o + 18]!, msg, len);
      o += len;
    }
    return o;
  }
}
