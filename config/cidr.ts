/**
 * CIDR arithmetic for configuration and IPAM, on bigint so IPv4 and IPv6 share one code path.
 * This is the cold path (validation, block claims); the RIB uses proto/prefix.ts numbers instead.
 */
import { formatIpv4, formatIpv6, isIpv4, isIpv6, parseIpv4, parseIpv6 } from '../proto/prefix.js';

export interface Cidr {
  readonly family: 4 | 6;
  /** Network address (host bits cleared unless parsed non-strictly). */
  readonly addr: bigint;
  readonly len: number;
}

export const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

export function parseAddress(text: string): { family: 4 | 6; addr: bigint } {
  if (isIpv4(text)) return { family: 4, addr: BigInt(parseIpv4(text)) };
  if (isIpv6(text)) {
    const w = parseIpv6(text);
    return { family: 6, addr: (BigInt(w[0]) << 96n) | (BigInt(w[1]) << 64n) | (BigInt(w[2]) << 32n) | BigInt(w[3]) };
  }
  throw new Error(`invalid IP address "${text}"`);
}

export function formatAddress(family: 4 | 6, addr: bigint): string {
  if (family === 4) return formatIpv4(Number(addr));
  const m = 0xffffffffn;
  return formatIpv6([Number((addr >> 96n) & m), Number((addr >> 64n) & m), Number((addr >> 32n) & m), Number(addr & m)]);
}

export function hostMask(family: 4 | 6, len: number): bigint {
  return (1n << BigInt(bitsOf(family) - len)) - 1n;
}

/** Parses `addr/len`; `hostBitsSet` says whether the text had bits set below the prefix length. */
export function parseCidrLoose(text: string): Cidr & { hostBitsSet: boolean } {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`invalid CIDR "${text}"`);
  const { family, addr } = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const len = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || len > bitsOf(family)) throw new Error(`invalid CIDR "${text}"`);
  const net = addr & ~hostMask(family, len);
  return { family, addr: net, len, hostBitsSet: net !== addr };
}

export function parseCidr(text: string): Cidr {
  const c = parseCidrLoose(text);
  return { family: c.family, addr: c.addr, len: c.len };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family, c.addr)}/${c.len}`;
}

/** Canonical text of a CIDR (`fd00:0::/64` → `fd00::/64`). */
export function canonicalCidr(text: string): string {
  return formatCidr(parseCidr(text));
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const len = Math.min(a.len, b.len);
  const m = ~hostMask(a.family, len);
  return (a.addr & m) === (b.addr & m);
}

/** True when `inner` lies inside (or equals) `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.len >= outer.len && (inner.addr & ~hostMask(outer.family, outer.len)) === outer.addr;
}

export function containsAddress(outer: Cidr, family: 4 | 6, addr: bigint): boolean {
  return outer.family === family && (addr & ~hostMask(family, outer.len)) === outer.addr;
}

/** Canonical address text (lower-case compressed IPv6), used for Calico's string comparisons. */
export function canonicalAddress(text: string): string {
  const a = parseAddress(text);
  return formatAddress(a.family, a.addr);
}
