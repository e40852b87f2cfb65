/** The 19-byte message header: marker, length and type checks shared by the framer and decodeMessage. */
import { HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MIN_LENGTH, MsgType } from './constants.js';
import { headerError } from './errors.js';

/** Throws 1/1 unless bytes [off, off+16) are all ones. */
export function checkMarker(buf: Uint8Array, off: number): void {
  for (let i = off; i < off + 16; i++) if (buf[i] !== 0xff) throw headerError.notSynchronized();
}

/**
 * Checks length bounds and type (RFC 4271 §6.1): 1/2 with the length as data when the length is
 * outside 19..max or below the type's minimum (or a KEEPALIVE is not exactly 19), 1/3 for a type
 * we do not know.
 */
export function checkLengthAndType(length: number, type: number, extendedMessage: boolean): void {
  const max = extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  if (length < HEADER_LENGTH || length > max) throw headerError.badLength(length);
  const min = MIN_LENGTH[type];
  if (min === undefined) throw headerError.badType(type);
  if (length < min || (type === MsgType.KEEPALIVE && length !== HEADER_LENGTH)) throw headerError.badLength(length);
}

/** Writes marker, length and type at the start of `out`. */
export function writeHeader(out: Uint8Array, length: number, type: number): void {
  out.fill(0xff, 0, 16);
  out[16] = length >>> 8;
  out[17] = length & 255;
  out[18] = type;
}
