/** Dispatch on the message type: one whole message (header included) in, one typed value out. */
import { HEADER_LENGTH, MsgType } from './constants.js';
import type { CodecContext } from './context.js';
import { checkLengthAndType, checkMarker } from './header.js';
import { decodeNotification, encodeNotification, type NotificationMessage } from './notification.js';
import { decodeOpen, encodeOpen, type OpenMessage } from './open.js';
import { decodeRouteRefresh, encodeKeepalive, encodeRouteRefresh, type KeepaliveMessage, type RouteRefreshMessage } from './refresh.js';
import { decodeUpdate, encodeUpdate, type UpdateMessage } from './update.js';
import { headerError } from './errors.js';

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
export type BgpMessageType = BgpMessage['type'];

/**
 * Decodes one whole message. The header is checked again (so bytes from anywhere can be passed);
 * a length field that disagrees with the array length is 1/2.
 */
export function decodeMessage(msg: Uint8Array, ctx: CodecContext): BgpMessage {
  if (msg.length < HEADER_LENGTH) throw headerError.badLength(msg.length);
  checkMarker(msg, 0);
  const length = ((msg[16] ?? 0) << 8) | (msg[17] ?? 0);
  const type = msg[18] ?? 0;
  checkLengthAndType(length, type, ctx.extendedMessage);
  if (length !== msg.length) throw headerError.badLength(length);
  switch (type) {
    case MsgType.OPEN:
      return decodeOpen(msg);
    case MsgType.UPDATE:
      return decodeUpdate(msg, ctx);
    case MsgType.NOTIFICATION:
      return decodeNotification(msg);
    case MsgType.KEEPALIVE:
      return { type: 'KEEPALIVE' };
    default:
      return decodeRouteRefresh(msg);
  }
}

/** Encodes any decoded message back to bytes (the inverse of decodeMessage for well-formed input). */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Uint8Array {
  switch (msg.type) {
    case 'OPEN':
      return encodeOpen(msg);
    case 'UPDATE':
      return encodeUpdate(msg, ctx);
    case 'NOTIFICATION':
      return encodeNotification(msg.code, msg.subcode, msg.data);
    case 'KEEPALIVE':
      return encodeKeepalive();
    case 'ROUTE-REFRESH':
      return encodeRouteRefresh(msg.afi, msg.safi, msg.subtype);
  }
}
