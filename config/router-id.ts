import { nodeCrypto } from './crypto.js';
import { isIpv4 } from '../proto/prefix.js';

/**
 * Calico's router id choice: CALICO_ROUTER_ID=<ipv4> as given; `hash` → the first four bytes of
 * SHA-256(node name) with a first octet above 223 lowered by 32 (so it is never multicast or
 * reserved); otherwise the node's IPv4 address. IPv6-only nodes must set CALICO_ROUTER_ID.
 */
export function chooseRouterId(nodeName: string, ipv4Address: string | undefined, env: { CALICO_ROUTER_ID?: string } = {}): string {
  const fromEnv = env.CALICO_ROUTER_ID?.trim();
  if (fromEnv === 'hash') {
    const d = nodeCrypto().createHash('sha256').update(nodeName).digest();
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

/** The SHA-256 derivation of `CALICO_ROUTER_ID=hash`, of any seed. */
function hashId(seed: string): string {
  return chooseRouterId(seed, undefined, { CALICO_ROUTER_ID: 'hash' });
}

/**
 * The router id of a node in its cluster. As chooseRouterId, except that an IPv6-only node without
 * CALICO_ROUTER_ID gets an id derived from its name (issue 9) instead of an error. The derived id
 * must not be 0.0.0.0 nor another node's id: every node's IPv4 address is taken first, then the
 * IPv6-only nodes claim theirs in name order, a clash moving on to SHA-256 of `<name>#<n>`. Every
 * node runs the same assignment over the same datastore, so all agree on every id.
 */
export function clusterRouterId(
  nodes: readonly { readonly name: string; readonly ipv4Address: string | undefined }[],
  nodeName: string,
  ipv4Address: string | undefined,
  env: { CALICO_ROUTER_ID?: string } = {},
): string {
  if (env.CALICO_ROUTER_ID?.trim() || ipv4Address) return chooseRouterId(nodeName, ipv4Address, env);
  const taken = new Set(nodes.map((n) => n.ipv4Address).filter((a): a is string => a !== undefined));
  taken.add('0.0.0.0');
  const v6Only = [...new Set([...nodes.filter((n) => n.ipv4Address === undefined).map((n) => n.name), nodeName])].sort();
  for (const name of v6Only) {
    let id = hashId(name);
    for (let n = 1; taken.has(id); n++) id = hashId(`${name}#${n}`);
    if (name === nodeName) return id;
    taken.add(id);
  }
  throw new Error(`node "${nodeName}" is missing from its own cluster`);
}
