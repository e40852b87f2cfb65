/** NOTIFICATION (RFC 4271 §4.5) and the RFC 8203/9003 shutdown communication. */
import { CeaseSubcode, HEADER_LENGTH, MsgType, NotifCode } from './constants.js';
import type { BgpError } from './errors.js';
import { writeHeader } from './header.js';

export interface NotificationMessage {
  type: 'NOTIFICATION';
  code: number;
  subcode: number;
  data: Uint8Array;
  /** RFC 8203 text carried by Cease/Administrative Shutdown or Reset, when well formed. */
  shutdownCommunication?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

export function decodeNotification(msg: Uint8Array): NotificationMessage {
  const code = msg[HEADER_LENGTH] ?? 0;
  const subcode = msg[HEADER_LENGTH + 1] ?? 0;
  const data = msg.slice(HEADER_LENGTH + 2);
  const n: NotificationMessage = { type: 'NOTIFICATION', code, subcode, data };
  if (carriesShutdownCommunication(code, subcode)) {
    const text = decodeShutdownCommunication(data);
    if (text !== undefined) n.shutdownCommunication = text;
  }
  return n;
}

export function encodeNotification(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 2 + data.length);
  writeHeader(out, out.length, MsgType.NOTIFICATION);
  out[HEADER_LENGTH] = code;
  out[HEADER_LENGTH + 1] = subcode;
  out.set(data, HEADER_LENGTH + 2);
  return out;
}

/** The NOTIFICATION a BgpError asks for. */
export function notificationFor(err: BgpError): Uint8Array {
  return encodeNotification(err.code, err.subcode, err.data);
}

export function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return code === NotifCode.CEASE && (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET);
}

/**
 * RFC 8203 / RFC 9003 data: one length octet then UTF-8 text of up to 255 octets. Longer text is
 * cut at a character boundary.
 */
export function encodeShutdownCommunication(text: string): Uint8Array {
  let bytes = utf8enc.encode(text);
  if (bytes.length > 255) {
    let cut = 255;
    // Back up over UTF-8 continuation octets so no character is split.
    while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** The text of a shutdown communication, or undefined when the data is empty or malformed. */
export function decodeShutdownCommunication(data: Uint8Array): string | undefined {
  if (data.length === 0) return undefined;
  const len = data[0] ?? 0;
  if (1 + len > data.length) return undefined;
  try {
    return utf8.decode(data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}
