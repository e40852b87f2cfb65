/**
 * The few whole messages the session itself writes and reads besides OPEN: KEEPALIVE and
 * NOTIFICATION. Thin over proto/ (header, error texts).
 * TODO(coordinator): switch to proto's encodeKeepalive/encodeNotification once proto/index.ts exports them.
 */
import { HEADER_LENGTH, MsgType } from '../../proto/constants.js';
import { writeHeader } from '../../proto/header.js';

const KEEPALIVE = (() => {
  const b = new Uint8Array(HEADER_LENGTH);
  writeHeader(b, HEADER_LENGTH, MsgType.KEEPALIVE);
  return b;
})();

export function keepaliveBytes(): Uint8Array {
  return KEEPALIVE;
}

export function notificationBytes(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH + 2 + data.length);
  writeHeader(b, b.length, MsgType.NOTIFICATION);
  b[HEADER_LENGTH] = code;
  b[HEADER_LENGTH + 1] = subcode;
  b.set(data, HEADER_LENGTH + 2);
  return b;
}

export interface ReceivedNotification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export function parseNotification(msg: Uint8Array): ReceivedNotification {
  return { code: msg[HEADER_LENGTH] ?? 0, subcode: msg[HEADER_LENGTH + 1] ?? 0, data: msg.subarray(HEADER_LENGTH + 2) };
}

export function messageType(msg: Uint8Array): number {
  return msg[18] ?? 0;
}
