/**
 * RFC 4271 §6.8 connection collision: when two connections to one peer both carry OPENs, the one
 * initiated by the speaker with the higher BGP identifier survives and the other is closed with
 * Cease 6/7. Identifiers compare as unsigned 32-bit numbers.
 */
import { parseIpv4 } from '../../proto/prefix.js';

export type Direction = 'outgoing' | 'incoming';

/** Which connection survives: the one we initiated when our identifier is higher, else the peer's. */
export function collisionSurvivor(localBgpId: string, remoteBgpId: string): Direction {
  return parseIpv4(localBgpId) > parseIpv4(remoteBgpId) ? 'outgoing' : 'incoming';
}
