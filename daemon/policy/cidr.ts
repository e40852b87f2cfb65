/**
 * A list of CIDRs compiled to numbers, for the `net ~ cidr` tests of Calico's filters.
 * Order is kept: "the first pool containing the route" matters for kernel programming.
 */
import { familyOf, maskOf, parsePrefix4, parsePrefix6, prefix6Within } from '../../proto/prefix.js';
import { words6OfKey, type PrefixKey } from '../rib/keys.js';

export interface CompiledCidr<T> {
  readonly family: 4 | 6;
  readonly addr: number;
  readonly words: readonly [number, number, number, number];
  readonly len: number;
  readonly value: T;
}

/** Compiles `items`, skipping CIDRs that do not parse (config validation reports those). */
export function compileCidrs<T>(items: readonly T[], cidrOf: (item: T) => string): CompiledCidr<T>[] {
  const out: CompiledCidr<T>[] = [];
  for (const value of items) {
    const cidr = cidrOf(value);
    try {
      if (familyOf(cidr) === 4) {
        const p = parsePrefix4(cidr, false);
        out.push({ family: 4, addr: p.addr, words: [0, 0, 0, 0], len: p.len, value });
      } else {
        const p = parsePrefix6(cidr, false);
        out.push({ family: 6, addr: 0, words: p.words, len: p.len, value });
      }
    } catch {
      /* an invalid CIDR never matches */
    }
  }
  return out;
}

export type Relation = 'outside' | 'equal' | 'inside';

/** How the route `key` relates to `c`: equal to it, strictly inside it, or neither. */
export function relation(key: PrefixKey, c: CompiledCidr<unknown>): Relation {
  if (typeof key === 'number') {
    if (c.family !== 4) return 'outside';
    // Not `key % 64`: on a double that is a library call, and this runs per route and rule.
    const addr = Math.floor(key / 64);
    const len = key - addr * 64;
    if (len < c.len || ((addr & maskOf(c.len)) >>> 0) !== c.addr) return 'outside';
    return len === c.len ? 'equal' : 'inside';
  }
  if (c.family !== 6) return 'outside';
  const p = words6OfKey(key);
  if (!prefix6Within(p.words, p.len, c.words, c.len)) return 'outside';
  return p.len === c.len ? 'equal' : 'inside';
}

/** The first entry containing (or equal to) `key`. */
export function firstContaining<T>(key: PrefixKey, list: readonly CompiledCidr<T>[]): CompiledCidr<T> | undefined {
  for (const c of list) if (relation(key, c) !== 'outside') return c;
  return undefined;
}

/** True when the address `ip` lies inside `cidr` (both text; false when either does not parse). */
export function addressInCidr(ip: string, cidr: string): boolean {
  try {
    const [c] = compileCidrs([cidr], (x) => x);
    if (!c) return false;
    if (c.family === 4) return relation(parsePrefix4Key(ip), c) !== 'outside';
    const p = parsePrefix6(ip);
    return prefix6Within(p.words, p.len, c.words, c.len);
  } catch {
    return false;
  }
}

function parsePrefix4Key(ip: string): number {
  const p = parsePrefix4(ip);
  return p.addr * 64 + p.len;
}
