/**
 * Family-agnostic address arithmetic for the lab (a dual-stack lab mixes IPv4 and IPv6 text
 * everywhere): which family a text is, and whether an address or prefix lies inside a prefix.
 * Thin over proto/prefix.ts.
 */
import { familyOf, parsePrefix4, parsePrefix6, prefix4Within, prefix6Within } from '../../proto/prefix.js';

export type Family = 4 | 6;

/** The family of an address or prefix text (throws PrefixParseError for neither). */
export const familyOfText = (text: string): Family => familyOf(text);

/** Parses a prefix of either family; `strict` refuses host bits. Throws PrefixParseError. */
export function parseCidrAny(text: string, strict = true): { family: Family; len: number } {
  if (familyOf(text) === 4) return { family: 4, len: parsePrefix4(text, strict).len };
  return { family: 6, len: parsePrefix6(text, strict).len };
}

/** True when `inner` (an address, or a prefix) lies inside `outer`; false across families. */
export function withinCidr(inner: string, outer: string): boolean {
  const family = familyOf(inner);
  if (family !== familyOf(outer)) return false;
  const full = family === 4 ? 32 : 128;
  const text = inner.includes('/') ? inner : `${inner}/${full}`;
  if (family === 4) {
    const a = parsePrefix4(text, false);
    const n = parsePrefix4(outer, false);
    return prefix4Within(a.addr, a.len, n.addr, n.len);
  }
  const a = parsePrefix6(text, false);
  const n = parsePrefix6(outer, false);
  return prefix6Within(a.words, a.len, n.words, n.len);
}

/** The address part of `addr/len`. */
export const hostPart = (withLen: string): string => withLen.split('/')[0]!;
