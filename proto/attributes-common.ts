/**
 * A one-pass encoder for the attribute sets a route server exports most: ORIGIN, AS_PATH,
 * NEXT_HOP (IPv4), MED, LOCAL_PREF, ATOMIC_AGGREGATE, COMMUNITIES, ORIGINATOR_ID and CLUSTER_LIST,
 * with 4-octet AS numbers. Its bytes are exactly encodeAttributeParts' (attributes.ts) for those
 * sets; any other set (an aggregator, extended or large communities, unknown attributes, 2-octet
 * AS sessions) gets undefined, and the caller uses encodeAttributeParts.
 *
 * Why: encodeAttributeParts builds a small array per attribute and sorts them; for a table with
 * a new attribute set every few prefixes that is most of the cost of exporting it.
 */
import { parseIpv4 } from './prefix.js';
import { AttrFlag, AttrType } from './constants.js';
import type { EncodedAttributes, PathAttributes } from './attributes.js';

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPT_TRANS = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPT_NON_TRANS = AttrFlag.OPTIONAL;

const EMPTY = new Uint8Array(0);
let scratch = new Uint8Array(4096);

/** Parsed dotted quads: a table's sets share a few next hops and router ids. */
const quads = new Map<string, number>();

function quad(s: string): number {
  let v = quads.get(s);
  if (v === undefined) {
    v = parseIpv4(s);
    if (quads.size >= 1024) quads.clear();
    quads.set(s, v);
  }
  return v;
}

/** Encodes the set in one pass, or undefined when it holds anything this encoder does not cover. */
export function encodeCommonAttributes(a: PathAttributes, as4: boolean): EncodedAttributes | undefined {
  if (!as4 || a.unknown.length > 0 || a.aggregator || a.extCommunities || a.largeCommunities) return undefined;
  let pathLen = 0;
  for (const seg of a.asPath) pathLen += Math.ceil(seg.asns.length / 255) * 2 + seg.asns.length * 4;
  // Nine attribute headers of at most 4 bytes, five 4-byte values, ORIGIN, and the lists.
  const size = 64 + pathLen + ((a.communities?.length ?? 0) + (a.clusterList?.length ?? 0)) * 4;
  if (scratch.length < size) scratch = new Uint8Array(size * 2);
  const b = scratch;
  let o = 0;
  const u32 = (v: number) => {
    b[o++] = v >>> 24;
    b[o++] = v >>> 16;
    b[o++] = v >>> 8;
    b[o++] = v;
  };
  /** Writes the attribute header for a value of `len` bytes. */
  const header = (flags: number, code: number, len: number) => {
    if (len > 255) {
      b[o++] = flags | AttrFlag.EXTENDED_LENGTH;
      b[o++] = code;
      b[o++] = len >>> 8;
      b[o++] = len & 255;
    } else {
      b[o++] = flags & ~AttrFlag.EXTENDED_LENGTH;
      b[o++] = code;
      b[o++] = len;
    }
  };
  header(WELL_KNOWN, AttrType.ORIGIN, 1);
  b[o++] = a.origin;
  header(WELL_KNOWN, AttrType.AS_PATH, pathLen);
  for (const seg of a.asPath) {
    for (let start = 0; start < seg.asns.length; start += 255) {
      const end = Math.min(seg.asns.length, start + 255);
      b[o++] = seg.type;
      b[o++] = end - start;
      for (let i = start; i < end; i++) u32(seg.asns[i]! >>> 0);
    }
  }
  // An IPv6 next hop travels in MP_REACH_NLRI, not in NEXT_HOP.
  if (a.nextHop !== undefined && !a.nextHop.includes(':')) {
    header(WELL_KNOWN, AttrType.NEXT_HOP, 4);
    u32(quad(a.nextHop));
  }
  if (a.med !== undefined) {
    header(OPT_NON_TRANS, AttrType.MULTI_EXIT_DISC, 4);
    u32(a.med);
  }
  if (a.localPref !== undefined) {
    header(WELL_KNOWN, AttrType.LOCAL_PREF, 4);
    u32(a.localPref);
  }
  if (a.atomicAggregate) header(WELL_KNOWN, AttrType.ATOMIC_AGGREGATE, 0);
  if (a.communities && a.communities.length > 0) {
    header(OPT_TRANS, AttrType.COMMUNITIES, a.communities.length * 4);
    for (const c of a.communities) u32(c >>> 0);
  }
  if (a.originatorId !== undefined) {
    header(OPT_NON_TRANS, AttrType.ORIGINATOR_ID, 4);
    u32(quad(a.originatorId));
  }
  if (a.clusterList && a.clusterList.length > 0) {
    header(OPT_NON_TRANS, AttrType.CLUSTER_LIST, a.clusterList.length * 4);
    for (const c of a.clusterList) u32(quad(c));
  }
  return { below: b.slice(0, o), above: EMPTY };
}
