import { createHash } from 'node:crypto';
import { isIpv4 } from '../proto/prefix.js';

/**
 * Calico's router id choice: CALICO_ROUTER_ID=<ipv4> as given; `hash` → the first four bytes of
 * SHA-256(node name) with a first octet above 223 lowered by 32 (so it is never multicast or
 * reserved); otherwise the node's IPv4 address. IPv6-only nodes must set CALICO_ROUTER_ID.
 */
export function chooseRouterId(nodeName: string, ipv4Address: string | undefined, env: { CALICO_ROUTER_ID?: string } = {}): string {
  const fromEnv = env.CALICO_ROUTER_ID?.trim();
  if (fromEnv === 'hash') {
    const d = createHash('sha256').update(nodeName).digest();
    const first = (d[0] as number) > 223 ? (d[0] as number) - 32 : (d[0] as number);
    return `${first}.${d[1]}.${d[2]}.${d[3]}`;
  }
  if (fromEnv) {
    if (!isIpv4(fromEnv)) throw new Error(`CALICO_ROUTER_ID must be an IPv4 address or "hash", got "${fromEnv}"`);
    return fromEnv;
  }
  if (ipv4Address) return ipv4Address;
  throw new Error(`node "${nodeName}" has no IPv4 address: set CALICO_ROUTER_ID to an IPv4 address or to "hash"`);
}
