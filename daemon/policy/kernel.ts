/**
 * Calico's kernel programming filter `calico_kernel_programming` (calico-behaviour.md §4.4) as a
 * pure function from a Loc-RIB best route to the kernel route it becomes, or null for none.
 * Both sinks (kernel and mock) consume its output, so they hold the same table.
 *
 * 1. inside a reject CIDR → not installed;
 * 2. IPv4 with a node subnet (ipv4Network): the first pool containing the route decides —
 *    VXLAN (Always/CrossSubnet) → not installed (Felix owns those);
 *    IPIP Always → via the next hop on the IPIP device, onlink;
 *    IPIP CrossSubnet → plain when the next hop is inside ipv4Network, tunnelled otherwise;
 *    no encapsulation → plain `via <next hop>`;
 * 3. anything else → plain route.
 * IPv6: the reject CIDRs and VXLAN v6 pools only (no IPIP on v6).
 * Own blocks and service routes are blackholes; borrowed /32s are Felix's routes and never ours.
 */
import type { NodeIntent, PoolIntent, SinkRoute } from '../model.js';
import type { LocalKind } from '../rib/attrs.js';
import type { PrefixKey } from '../rib/keys.js';
import { KeyedRoute, keyedRoute, plainSinkRoute } from '../sink/route.js';
import { isIpv4, maskOf, parseIpv4 } from '../../proto/prefix.js';
import { compileCidrs, firstContaining, type CompiledCidr } from './cidr.js';

export interface KernelOptions {
  /** The IPIP tunnel device (Calico's tunl0); tests use an existing veth. */
  readonly ipipDevice: string;
  /** Route metric to program; undefined leaves the kernel's default. */
  readonly metric?: number;
  /**
   * The interface of the node's IPv6 sessions: where a link-local next hop lives. Without it a
   * route with only a link-local next hop is not installed (the kernel refuses one without a device).
   */
  readonly linkLocalDevice?: string;
}

export interface KernelPolicy {
  readonly rejects: readonly CompiledCidr<string>[];
  readonly pools: readonly CompiledCidr<PoolIntent>[];
  readonly ipv4Network: string | undefined;
  /** ipv4Network compiled, for the CrossSubnet test. */
  readonly localSubnet: CompiledCidr<string> | undefined;
  readonly ownAddresses: ReadonlySet<string>;
  readonly options: KernelOptions;
  /** Equal signatures mean every route maps the same way. */
  readonly signature: string;
}

export function compileKernelPolicy(intent: NodeIntent, options: KernelOptions): KernelPolicy {
  const poolModes = intent.pools.map((p) => [p.cidr, p.ipipMode, p.vxlanMode]);
  const own = [intent.ipv4Address, intent.ipv6Address].filter((a): a is string => a !== undefined);
  return {
    rejects: compileCidrs(intent.rejectCidrs, (c) => c),
    pools: compileCidrs(intent.pools, (p) => p.cidr),
    ipv4Network: intent.ipv4Network,
    localSubnet: intent.ipv4Network !== undefined ? compileCidrs([intent.ipv4Network], (c) => c)[0] : undefined,
    ownAddresses: new Set(own),
    options,
    signature: JSON.stringify([intent.rejectCidrs, poolModes, intent.ipv4Network ?? null, own, options]),
  };
}

/** What the Loc-RIB knows about the best route of a prefix, as far as the kernel cares. */
export interface BestRoute {
  /** Set for locally originated routes. */
  readonly local?: LocalKind;
  /** The BGP next hop of a learned route. */
  readonly nextHop?: string;
  /** The link-local second next hop of an IPv6 route (RFC 2545), when the peer sent one. */
  readonly nextHopLinkLocal?: string;
}

const isLinkLocal6 = (ip: string): boolean => /^fe[89ab]/i.test(ip);
const isUnspecified6 = (ip: string): boolean => /^[0:]*$/.test(ip);

/**
 * RFC 2545 §3: the global next hop is the one to route by; a link-local one only when no usable
 * global one came (all zeros, or itself link-local), and then only with its interface.
 */
function ipv6Gateway(best: BestRoute, dev: string | undefined): { via: string; dev?: string } | null {
  const global = best.nextHop !== undefined && !isUnspecified6(best.nextHop) && !isLinkLocal6(best.nextHop) ? best.nextHop : undefined;
  if (global !== undefined) return { via: global };
  const ll = best.nextHop !== undefined && isLinkLocal6(best.nextHop) ? best.nextHop : best.nextHopLinkLocal;
  if (ll === undefined || !isLinkLocal6(ll) || dev === undefined) return null;
  return { via: ll, dev };
}

function onSubnet(ip: string, subnet: CompiledCidr<string> | undefined): boolean {
  if (!subnet || !isIpv4(ip)) return false;
  return ((parseIpv4(ip) & maskOf(subnet.len)) >>> 0) === subnet.addr;
}

/**
 * The kernel route of the best route `best` of prefix `key`, or null for none: what the engine
 * hands to its sink (the prefix kept as the key, its text made only if asked for: sink/route.ts).
 */
export function kernelRoute(policy: KernelPolicy, key: PrefixKey, best: BestRoute): SinkRoute | null {
  if (best.local === 'borrowed') return null;
  if (firstContaining(key, policy.rejects)) return null;
  const pool = firstContaining(key, policy.pools)?.value;
  const v4 = typeof key === 'number';
  if (pool && pool.vxlanMode !== 'Never' && (!v4 || policy.ipv4Network !== undefined)) return null;
  const metric = policy.options.metric;
  if (best.local !== undefined) return keyedRoute(key, 'blackhole', undefined, undefined, undefined, metric);
  if (!v4) {
    const gw = ipv6Gateway(best, policy.options.linkLocalDevice);
    if (gw === null || policy.ownAddresses.has(gw.via)) return null;
    return keyedRoute(key, 'unicast', gw.via, gw.dev, undefined, metric);
  }
  const nh = best.nextHop;
  if (nh === undefined || policy.ownAddresses.has(nh)) return null;
  if (pool && policy.ipv4Network !== undefined) {
    const tunnel =
      pool.ipipMode === 'Always' || (pool.ipipMode === 'CrossSubnet' && !onSubnet(nh, policy.localSubnet));
    if (tunnel) return keyedRoute(key, 'unicast', nh, policy.options.ipipDevice, true, metric);
  }
  return keyedRoute(key, 'unicast', nh, undefined, undefined, metric);
}

/** kernelRoute as a plain object with CIDR text (for status output and tests). */
export function toSinkRoute(policy: KernelPolicy, key: PrefixKey, best: BestRoute): SinkRoute | null {
  const r = kernelRoute(policy, key, best);
  return r === null ? null : plainSinkRoute(r);
}

/** Two sink routes program the same kernel route. */
export function sameSinkRoute(a: SinkRoute | null | undefined, b: SinkRoute | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return (
    // Two engine routes compare their keys: no prefix text is made for it.
    (a instanceof KeyedRoute && b instanceof KeyedRoute ? a.key === b.key : a.prefix === b.prefix) &&
    a.type === b.type &&
    a.via === b.via &&
    a.dev === b.dev &&
    (a.onlink ?? false) === (b.onlink ?? false) &&
    a.metric === b.metric
  );
}

/**
 * The kernel route `actual` (as dumped) is what `wanted` programs: a route without a device lets
 * the kernel pick one, and a missing metric is the kernel's default (0 for IPv4, 1024 for IPv6).
 */
export function sinkRouteSatisfies(wanted: SinkRoute, actual: SinkRoute): boolean {
  const dflt = wanted.prefix.includes(':') ? 1024 : 0;
  return (
    wanted.prefix === actual.prefix &&
    wanted.type === actual.type &&
    wanted.via === actual.via &&
    (wanted.dev === undefined || wanted.dev === actual.dev) &&
    (wanted.onlink ?? false) === (actual.onlink ?? false) &&
    (wanted.metric ?? dflt) === (actual.metric ?? dflt)
  );
}
