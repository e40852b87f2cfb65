/** The whole messages the session itself writes and reads besides OPEN, from the codec. */
import { decodeNotification, type NotificationMessage } from '../../proto/notification.js';
import { encodeNotification } from '../../proto/notification.js';
import { encodeKeepalive } from '../../proto/refresh.js';

const KEEPALIVE = encodeKeepalive();

export function keepaliveBytes(): Uint8Array {
  return KEEPALIVE;
}

export function notificationBytes(code: number, subcode: number, data?: Uint8Array): Uint8Array {
  return encodeNotification(code, subcode, data);
}

export function parseNotification(msg: Uint8Array): NotificationMessage {
  return decodeNotification(msg);
}

export function messageType(msg: Uint8Array): number {
  return msg[18] ?? 0;
}
