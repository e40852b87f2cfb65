/**
 * Numeric IP prefixes: the representation every hot path uses.
 *
 * IPv4 addresses are unsigned 32-bit numbers; an IPv4 prefix is (addr, len) with host bits clear.
 * A prefix packs into one safe integer key: addr * 64 + len (< 2^38).
 * IPv6 addresses are four uint32 words, most significant first; the canonical text form is RFC 5952.
 */

export class PrefixParseError extends Error {
  override readonly name = 'PrefixParseError';
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text to an unsigned 32-bit number; throws PrefixParseError on bad input. */
export function parseIpv4(text: string): number {
  const m = V4_RE.exec(text);
  if (!m) throw new PrefixParseError(`'${text}' is not an IPv4 address`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) throw new PrefixParseError(`'${text}' is not an IPv4 address`);
    value = value * 256 + octet;
  }
  return value;
}

export function isIpv4(text: string): boolean {
  const m = V4_RE.exec(text);
  return m !== null && [1, 2, 3, 4].every((i) => Number(m[i]) <= 255);
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** The netmask of a prefix length as an unsigned 32-bit number (0 for /0). */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export interface Prefix4 {
  readonly addr: number;
  readonly len: number;
}

/** Parses `a.b.c.d/len` (or a bare address, as /32). With `strict`, host bits must be clear. */
export function parsePrefix4(text: string, strict = true): Prefix4 {
  const slash = text.indexOf('/');
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  const lenText = slash < 0 ? '32' : text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) throw new PrefixParseError(`'${text}' has a bad prefix length`);
  const len = Number(lenText);
  const masked = (addr & maskOf(len)) >>> 0;
  if (strict && masked !== addr) throw new PrefixParseError(`'${text}' has host bits set`);
  return { addr: masked, len };
}

export function formatPrefix4(addr: number, len: number): string {
  return `${formatIpv4(addr)}/${len}`;
}

/** One safe integer per IPv4 prefix. */
export function prefix4Key(addr: number, len: number): number {
  return addr * 64 + len;
}

export function prefix4FromKey(key: number): Prefix4 {
  return { addr: Math.floor(key / 64), len: key % 64 };
}

/** True when prefix (addr,len) lies inside (or equals) prefix (outerAddr, outerLen). */
export function prefix4Within(addr: number, len: number, outerAddr: number, outerLen: number): boolean {
  return len >= outerLen && ((addr & maskOf(outerLen)) >>> 0) === outerAddr;
}

// ---------------------------------------------------------------- IPv6

export type Ipv6Words = [number, number, number, number];

/** Parses IPv6 text (any RFC 4291 form, including an embedded IPv4 tail) to four uint32 words. */
export function parseIpv6(text: string): Ipv6Words {
  const bad = () => new PrefixParseError(`'${text}' is not an IPv6 address`);
  let s = text;
  const groups: number[] = [];
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const parts = s.split('::');
  if (parts.length > 2) throw bad();
  const parseGroups = (p: string): number[] => {
    if (p === '') return [];
    return p.split(':').map((g) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
      return parseInt(g, 16);
    });
  };
  const head = parseGroups(parts[0] ?? '');
  if (parts.length === 2) {
    const tail = parseGroups(parts[1] ?? '');
    const fill = 8 - head.length - tail.length;
    if (fill < 1) throw bad();
    groups.push(...head, ...new Array<number>(fill).fill(0), ...tail);
  } else {
    if (head.length !== 8) throw bad();
    groups.push(...head);
  }
  const w = (i: number) => (((groups[i] ?? 0) << 16) | (groups[i + 1] ?? 0)) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

export function isIpv6(text: string): boolean {
  try {
    parseIpv6(text);
    return true;
  } catch {
    return false;
  }
}

/** RFC 5952 canonical text: lower case, longest run (≥2) of zero groups compressed, first on ties. */
export function formatIpv6(words: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = (words[i] ?? 0) >>> 0;
    groups.push(w >>> 16, w & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export interface Prefix6 {
  readonly words: Ipv6Words;
  readonly len: number;
}

export function parsePrefix6(text: string, strict = true): Prefix6 {
  const slash = text.indexOf('/');
  const words = parseIpv6(slash < 0 ? text : text.slice(0, slash));
  const lenText = slash < 0 ? '128' : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > 128) throw new PrefixParseError(`'${text}' has a bad prefix length`);
  const len = Number(lenText);
  const masked = maskWords6(words, len);
  if (strict && masked.some((w, i) => w !== words[i])) throw new PrefixParseError(`'${text}' has host bits set`);
  return { words: masked, len };
}

export function maskWords6(words: ArrayLike<number>, len: number): Ipv6Words {
  const out: Ipv6Words = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, len - i * 32));
    out[i] = ((words[i] ?? 0) & maskOf(bits)) >>> 0;
  }
  return out;
}

export function formatPrefix6(words: ArrayLike<number>, len: number): string {
  return `${formatIpv6(words)}/${len}`;
}

/** A compact string key for an IPv6 prefix (hex words and length). */
export function prefix6Key(words: ArrayLike<number>, len: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += ((words[i] ?? 0) >>> 0).toString(16).padStart(8, '0');
  return `${s}/${len}`;
}

export function prefix6Within(words: ArrayLike<number>, len: number, outer: ArrayLike<number>, outerLen: number): boolean {
  if (len < outerLen) return false;
  const m = maskWords6(words, outerLen);
  return m.every((w, i) => w === ((outer[i] ?? 0) >>> 0));
}

/** Family of an address or prefix text: 4, 6, or throws. */
export function familyOf(text: string): 4 | 6 {
  const host = text.includes('/') ? text.slice(0, text.indexOf('/')) : text;
  if (isIpv4(host)) return 4;
  if (isIpv6(host)) return 6;
  throw new PrefixParseError(`'${text}' is neither an IPv4 nor an IPv6 address`);
}
