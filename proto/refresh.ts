/** ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtypes (BoRR/EoRR), and KEEPALIVE. */
import { bytesEqual, readU16 } from './bytes.js';
import { HEADER_LENGTH, MsgType, NotifCode, RouteRefreshSubcode } from './constants.js';
import { BgpError } from './errors.js';
import { writeHeader } from './header.js';

export interface RouteRefreshMessage {
  type: 'ROUTE-REFRESH';
  afi: number;
  safi: number;
  /** 0 normal request, 1 BoRR, 2 EoRR (others are to be ignored, RFC 7313 §5). */
  subtype: number;
}

export interface KeepaliveMessage {
  type: 'KEEPALIVE';
}

/** Throws 7/1 with the whole message as data when the length is not 23 (RFC 7313 §5). */
export function decodeRouteRefresh(msg: Uint8Array): RouteRefreshMessage {
  if (msg.length !== HEADER_LENGTH + 4) throw new BgpError(NotifCode.ROUTE_REFRESH_MESSAGE_ERROR, RouteRefreshSubcode.INVALID_MESSAGE_LENGTH, msg.slice(), 'session-reset');
  return { type: 'ROUTE-REFRESH', afi: readU16(msg, HEADER_LENGTH), subtype: msg[HEADER_LENGTH + 2] ?? 0, safi: msg[HEADER_LENGTH + 3] ?? 0 };
}

export function encodeRouteRefresh(afi: number, safi: number, subtype = 0): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 4);
  writeHeader(out, out.length, MsgType.ROUTE_REFRESH);
  out.set([afi >>> 8, afi & 255, subtype, safi], HEADER_LENGTH);
  return out;
}

const KEEPALIVE = (() => {
  const k = new Uint8Array(HEADER_LENGTH);
  writeHeader(k, HEADER_LENGTH, MsgType.KEEPALIVE);
  return k;
})();

/** A fresh KEEPALIVE (19 bytes). */
export function encodeKeepalive(): Uint8Array {
  return KEEPALIVE.slice();
}

export function isKeepalive(msg: Uint8Array): boolean {
  return bytesEqual(msg, KEEPALIVE);
}
