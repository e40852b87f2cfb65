/**
 * Prefix keys of the RIB. An IPv4 prefix is one safe integer (proto/prefix.ts `prefix4Key`);
 * an IPv6 prefix is the compact string of `prefix6Key`. The key's JavaScript type therefore tells
 * the family, and both kinds live in the same Maps without a wrapper object per prefix.
 */
import type { Family } from '../model.js';
import {
  familyOf,
  formatPrefix4,
  formatPrefix6,
  parsePrefix4,
  parsePrefix6,
  prefix4FromKey,
  prefix4Key,
  prefix6Key,
} from '../../proto/prefix.js';

export type PrefixKey = number | string;

export function familyOfKey(key: PrefixKey): Family {
  return typeof key === 'number' ? 4 : 6;
}

/** The four words and length of an IPv6 key ('hhhhhhhh'×4 + '/len'). */
export function words6OfKey(key: string): { words: [number, number, number, number]; len: number } {
  const w = (i: number) => parseInt(key.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return { words: [w(0), w(1), w(2), w(3)], len: Number(key.slice(33)) };
}

export function keyToCidr(key: PrefixKey): string {
  if (typeof key === 'number') {
    const p = prefix4FromKey(key);
    return formatPrefix4(p.addr, p.len);
  }
  const p = words6OfKey(key);
  return formatPrefix6(p.words, p.len);
}

/** Parses CIDR text (strict: host bits clear) to a key; throws PrefixParseError. */
export function cidrToKey(cidr: string): PrefixKey {
  if (familyOf(cidr) === 4) {
    const p = parsePrefix4(cidr);
    return prefix4Key(p.addr, p.len);
  }
  const p = parsePrefix6(cidr);
  return prefix6Key(p.words, p.len);
}

export function prefixLenOfKey(key: PrefixKey): number {
  return typeof key === 'number' ? key % 64 : Number(key.slice(33));
}

/** Packs keys of one family into the codec's NLRI layout: v4 [addr,len,...], v6 [w0,w1,w2,w3,len,...]. */
export function packKeys(family: Family, keys: readonly PrefixKey[]): Uint32Array {
  if (family === 4) {
    const out = new Uint32Array(keys.length * 2);
    let i = 0;
    for (const k of keys) {
      const n = k as number;
      const addr = Math.floor(n / 64);
      out[i++] = addr;
      out[i++] = n - addr * 64;
    }
    return out;
  }
  const out = new Uint32Array(keys.length * 5);
  let i = 0;
  for (const k of keys) {
    const p = words6OfKey(k as string);
    out[i++] = p.words[0];
    out[i++] = p.words[1];
    out[i++] = p.words[2];
    out[i++] = p.words[3];
    out[i++] = p.len;
  }
  return out;
}

/** Calls `fn` with each key of a packed NLRI array (the inverse of packKeys). */
export function forEachPackedKey(family: Family, packed: Uint32Array, fn: (key: PrefixKey, index: number) => void): void {
  if (family === 4) {
    for (let i = 0, n = 0; i + 1 < packed.length; i += 2, n++) fn(prefix4Key(packed[i]!, packed[i + 1]!), n);
    return;
  }
  for (let i = 0, n = 0; i + 4 < packed.length; i += 5, n++) {
    fn(prefix6Key([packed[i]!, packed[i + 1]!, packed[i + 2]!, packed[i + 3]!], packed[i + 4]!), n);
  }
}
