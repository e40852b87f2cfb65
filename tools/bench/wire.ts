/**
 * The few BGP messages a benchmark peer needs, and a counting reader for what a speaker sends.
 *
 * Encoding goes through Petrel's codec (proto/). The counting reader is deliberately shallow: it
 * walks NLRI lengths without building values, so a receiver stays far faster than any speaker it
 * measures.
 */

import { AS_TRANS, encodeEndOfRib, encodeKeepalive, encodeOpen, formatIpv4, type Capability } from '../../proto/index.js';

export const MsgType = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, ROUTE_REFRESH: 5 } as const;

const HEADER = 19;

/**
 * OPEN as the injector sends it: multiprotocol IPv4 unicast, route refresh and 4-octet AS
 * (RFC 4760, 2918, 6793), encoded by Petrel's codec.
 */
export function benchOpen(p: OpenParams): Uint8Array {
  const capabilities: Capability[] = [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'routeRefresh' }, { kind: 'as4', asn: p.asn }];
  return encodeOpen({ version: 4, myAs: p.asn > 0xffff ? AS_TRANS : p.asn, holdTime: p.holdTime, bgpId: formatIpv4(p.routerId), capabilities });
}

export interface OpenParams {
  readonly asn: number;
  readonly holdTime: number;
  /** BGP identifier as an unsigned 32-bit number. */
  readonly routerId: number;
}

export { encodeKeepalive };

/** IPv4 unicast End-of-RIB (RFC 4724). */
export const ipv4EndOfRib = (): Uint8Array => encodeEndOfRib(1, 1);

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
