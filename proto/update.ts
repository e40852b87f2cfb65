/**
 * UPDATE (RFC 4271 §4.3) with MP_REACH/MP_UNREACH (RFC 4760), ADD-PATH (RFC 7911), End-of-RIB
 * (RFC 4724) and RFC 7606 error classification. Prefixes stay numeric end to end.
 */
import { AttrFlag, AttrType, HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MsgType, UpdateSubcode } from './constants.js';
import { type CodecContext, defaultCodecContext } from './context.js';
import { type BgpError, updateError } from './errors.js';
import { writeHeader } from './header.js';
import { ipv4Bytes, ipv6Bytes, readU16 } from './bytes.js';
import {
  type AttrParseState,
  type EncodedAttributes,
  type MpReach,
  type MpUnreach,
  type PathAttributes,
  attributeBytes,
  decodeAttributes,
  encodeAttributeParts,
  encodedAttributes,
  finishAs4,
  newAttributes,
  NO_CODES,
  NO_ERRORS,
  noteError,
} from './attributes.js';
import { decodePrefixes4, prefixStride, writePrefixes } from './nlri.js';

export interface UpdateMessage {
  type: 'UPDATE';
  /** IPv4 withdrawn routes as [addr, len, ...]. */
  withdrawn: Uint32Array;
  withdrawnPathIds?: Uint32Array;
  /** Null when the UPDATE carries no path attributes other than MP_UNREACH_NLRI. */
  attrs: PathAttributes | null;
  /** IPv4 NLRI as [addr, len, ...]. */
  nlri: Uint32Array;
  nlriPathIds?: Uint32Array;
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  endOfRib?: { afi: number; safi: number };
  /** RFC 7606: treat every route of this UPDATE (nlri and mpReach.nlri) as withdrawn. */
  treatAsWithdraw: boolean;
  /** Attribute codes dropped (attribute-discard, repeats, AS4_* on a 4-octet session). */
  discarded: number[];
  /** The non-fatal errors found (treat-as-withdraw and attribute-discard), for logging. */
  errors: BgpError[];
}

const EMPTY_U32 = new Uint32Array(0);

/** Decodes an UPDATE (whole message). Throws session-reset BgpErrors; records milder ones on the result. */
export function decodeUpdate(msg: Uint8Array, ctx: CodecContext): UpdateMessage {
  const b = msg;
  const end = b.length;
  let o = HEADER_LENGTH;
  const withdrawnLen = readU16(b, o);
  o += 2;
  if (o + withdrawnLen + 2 > end) throw updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'session-reset', undefined, 'withdrawn routes length overruns the message');
  const w = decodePrefixes4(b, o, o + withdrawnLen, ctx.addPathRx.ipv4);
  o += withdrawnLen;
  const attrLen = readU16(b, o);
  o += 2;
  if (o + attrLen > end) throw updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'session-reset', undefined, 'path attribute length overruns the message');
  const s = parseState(b, ctx);
  decodeAttributes(s, o, o + attrLen);
  o += attrLen;
  const n = o < end ? decodePrefixes4(b, o, end, ctx.addPathRx.ipv4) : null;
  if (!ctx.as4) finishAs4(s);

  const msgOut: UpdateMessage = {
    type: 'UPDATE',
    withdrawn: w.prefixes,
    attrs: s.sawPathAttributes ? s.attrs : null,
    nlri: n ? n.prefixes : EMPTY_U32,
    treatAsWithdraw: s.treatAsWithdraw,
    discarded: s.discarded,
    errors: s.errors,
  };
  if (w.pathIds) msgOut.withdrawnPathIds = w.pathIds;
  if (n?.pathIds) msgOut.nlriPathIds = n.pathIds;
  else if (ctx.addPathRx.ipv4) msgOut.nlriPathIds = EMPTY_U32;
  if (s.mpReach) msgOut.mpReach = s.mpReach;
  if (s.mpUnreach) msgOut.mpUnreach = s.mpUnreach;

  checkMandatory(s, msgOut);

  // RFC 4724 §2: End-of-RIB is an empty UPDATE (IPv4) or one holding only an empty MP_UNREACH_NLRI.
  if (end === HEADER_LENGTH + 4) msgOut.endOfRib = { afi: 1, safi: 1 };
  else if (
    withdrawnLen === 0 &&
    !n &&
    !s.sawPathAttributes &&
    s.mpUnreach &&
    s.mpUnreach.withdrawn.length === 0 &&
    s.discarded.length === 0
  )
    msgOut.endOfRib = { afi: s.mpUnreach.afi, safi: s.mpUnreach.safi };
  // The message and the set now belong to the caller alone.
  STATE.b = EMPTY_BYTES;
  STATE.attrs = DETACHED;
  return msgOut;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const EMPTY_BYTES = new Uint8Array(0);
const DETACHED = newAttributes();
const STATE: Mutable<AttrParseState> = {
  b: EMPTY_BYTES,
  ctx: defaultCodecContext(),
  attrs: DETACHED,
  sawPathAttributes: false,
  sawOrigin: false,
  sawAsPath: false,
  mpReach: undefined,
  mpUnreach: undefined,
  as4Path: undefined,
  as4Aggregator: undefined,
  treatAsWithdraw: false,
  discarded: NO_CODES,
  errors: NO_ERRORS,
};

/** The parse state of one UPDATE: one object for every call (nothing keeps it; only its values go into the result). */
function parseState(b: Uint8Array, ctx: CodecContext): AttrParseState {
  const s = STATE;
  s.b = b;
  s.ctx = ctx;
  s.attrs = newAttributes();
  s.sawPathAttributes = false;
  s.sawOrigin = false;
  s.sawAsPath = false;
  s.mpReach = undefined;
  s.mpUnreach = undefined;
  s.as4Path = undefined;
  s.as4Aggregator = undefined;
  s.treatAsWithdraw = false;
  s.discarded = NO_CODES;
  s.errors = NO_ERRORS;
  return s;
}

/** RFC 4271 §6.3 missing well-known attributes; RFC 7606 §3d: treat-as-withdraw, data = the missing code. */
function checkMandatory(s: AttrParseState, m: UpdateMessage): void {
  const reach = m.nlri.length > 0 || (m.mpReach !== undefined && m.mpReach.nlri.length > 0);
  if (!reach) return;
  const missing = (code: number, name: string) => {
    s.treatAsWithdraw = true;
    m.treatAsWithdraw = true;
    noteError(m, updateError(UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, 'treat-as-withdraw', Uint8Array.of(code), name));
  };
  if (!s.sawOrigin) missing(AttrType.ORIGIN, 'ORIGIN');
  if (!s.sawAsPath) missing(AttrType.AS_PATH, 'AS_PATH');
  if (m.nlri.length > 0 && s.attrs.nextHop === undefined) missing(AttrType.NEXT_HOP, 'NEXT_HOP');
}

// ---------------------------------------------------------------- encoding

function maxLength(ctx: CodecContext): number {
  return ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

function addPathTx(ctx: CodecContext, afi: number): boolean {
  return afi === 2 ? ctx.addPathTx.ipv6 : ctx.addPathTx.ipv4;
}

function prefixesBytes(afi: number, p: Uint32Array, ids: Uint32Array | undefined, addPath: boolean): Uint8Array {
  const count = p.length / prefixStride(afi);
  const out = new Uint8Array(count * (afi === 2 ? 21 : 9));
  const [len, done] = writePrefixes(out, 0, out.length, afi, p, 0, count, ids, addPath);
  if (done !== count) throw new Error('internal: prefix buffer too small');
  return out.subarray(0, len);
}

function nextHopBytes(afi: number, nextHop: readonly string[]): Uint8Array {
  const parts = nextHop.map((h) => (h.includes(':') ? ipv6Bytes(h) : ipv4Bytes(h)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  if (afi === 2 && out.length !== 16 && out.length !== 32) throw new Error('an IPv6 next hop is one or two IPv6 addresses');
  return out;
}

function mpReachValue(r: MpReach, ctx: CodecContext): Uint8Array {
  const nh = nextHopBytes(r.afi, r.nextHop);
  const nl = prefixesBytes(r.afi, r.nlri, r.pathIds, addPathTx(ctx, r.afi));
  const out = new Uint8Array(5 + nh.length + nl.length);
  out[0] = r.afi >>> 8;
  out[1] = r.afi & 255;
  out[2] = r.safi;
  out[3] = nh.length;
  out.set(nh, 4);
  out.set(nl, 5 + nh.length);
  return out;
}

function mpUnreachValue(u: MpUnreach, ctx: CodecContext): Uint8Array {
  const nl = prefixesBytes(u.afi, u.withdrawn, u.pathIds, addPathTx(ctx, u.afi));
  const out = new Uint8Array(3 + nl.length);
  out[0] = u.afi >>> 8;
  out[1] = u.afi & 255;
  out[2] = u.safi;
  out.set(nl, 3);
  return out;
}

/**
 * Encodes one UPDATE as given (attributes in code order, MP attributes between codes 10 and 16).
 * Throws a plain Error when it would exceed the negotiated maximum length.
 */
export function encodeUpdate(m: Omit<UpdateMessage, 'type' | 'treatAsWithdraw' | 'discarded' | 'errors'>, ctx: CodecContext): Uint8Array {
  const wd = prefixesBytes(1, m.withdrawn, m.withdrawnPathIds, ctx.addPathTx.ipv4);
  const nl = prefixesBytes(1, m.nlri, m.nlriPathIds, ctx.addPathTx.ipv4);
  const parts = m.attrs ? encodeAttributeParts(m.attrs, ctx.as4) : { below: new Uint8Array(0), above: new Uint8Array(0) };
  const mpr = m.mpReach ? attributeBytes(AttrFlag.OPTIONAL, AttrType.MP_REACH_NLRI, mpReachValue(m.mpReach, ctx)) : new Uint8Array(0);
  const mpu = m.mpUnreach ? attributeBytes(AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, mpUnreachValue(m.mpUnreach, ctx)) : new Uint8Array(0);
  const attrLen = parts.below.length + mpr.length + mpu.length + parts.above.length;
  const total = HEADER_LENGTH + 2 + wd.length + 2 + attrLen + nl.length;
  if (total > maxLength(ctx)) throw new Error(`UPDATE of ${total} bytes exceeds the maximum message length`);
  const out = new Uint8Array(total);
  writeHeader(out, total, MsgType.UPDATE);
  let o = HEADER_LENGTH;
  out[o++] = wd.length >>> 8;
  out[o++] = wd.length & 255;
  out.set(wd, o);
  o += wd.length;
  out[o++] = attrLen >>> 8;
  out[o++] = attrLen & 255;
  for (const p of [parts.below, mpr, mpu, parts.above]) {
    out.set(p, o);
    o += p.length;
  }
  out.set(nl, o);
  return out;
}

/** One scratch buffer for the batch encoders; every message is copied out of it at its exact size. */
const scratch = new Uint8Array(MAX_EXTENDED_MESSAGE_LENGTH);

/**
 * Announces `prefixes` (IPv4 pairs or IPv6 quintuples) with one attribute set, packing as many
 * NLRI per UPDATE as the negotiated size allows. IPv4 uses the NLRI field and NEXT_HOP; IPv6 uses
 * MP_REACH_NLRI with attrs.nextHop (and attrs.nextHopLinkLocal). Attribute bytes are encoded once
 * per attribute-set object (see encodedAttributes).
 */
export function encodeUpdates(attrs: PathAttributes, afi: 1 | 2, prefixes: Uint32Array, ctx: CodecContext, pathIds?: Uint32Array): Uint8Array[] {
  return encodeUpdatesWith(encodedAttributes(attrs, ctx.as4), attrs, afi, prefixes, ctx, pathIds);
}

/**
 * encodeUpdates with the attribute bytes already at hand: `enc` must be what
 * encodeAttributeParts(attrs, ctx.as4) returns, `nextHops` the set's IPv6 next hops (used for
 * afi 2 only). For callers that keep each set's encoding themselves (one per exported set).
 */
export function encodeUpdatesWith(
  enc: EncodedAttributes,
  nextHops: Pick<PathAttributes, 'nextHop' | 'nextHopLinkLocal'>,
  afi: 1 | 2,
  prefixes: Uint32Array,
  ctx: CodecContext,
  pathIds?: Uint32Array,
): Uint8Array[] {
  const attrs = nextHops;
  const addPath = addPathTx(ctx, afi);
  const max = maxLength(ctx);
  const count = prefixes.length / prefixStride(afi);
  const out: Uint8Array[] = [];
  const buf = scratch;
  if (afi === 1) {
    const fixed = HEADER_LENGTH + 4 + enc.below.length + enc.above.length;
    buf.set(enc.below, HEADER_LENGTH + 4);
    buf.set(enc.above, HEADER_LENGTH + 4 + enc.below.length);
    const attrLen = enc.below.length + enc.above.length;
    buf[HEADER_LENGTH] = 0;
    buf[HEADER_LENGTH + 1] = 0;
    buf[HEADER_LENGTH + 2] = attrLen >>> 8;
    buf[HEADER_LENGTH + 3] = attrLen & 255;
    let i = 0;
    while (i < count) {
      const [end, next] = writePrefixes(buf, fixed, max, 1, prefixes, i, count, pathIds, addPath);
      if (next === i) throw new Error('attributes leave no room for NLRI');
      writeHeader(buf, end, MsgType.UPDATE);
      out.push(buf.slice(0, end));
      i = next;
    }
    return out;
  }
  if (attrs.nextHop === undefined) throw new Error('IPv6 routes need attrs.nextHop');
  const nh = nextHopBytes(2, attrs.nextHopLinkLocal ? [attrs.nextHop, attrs.nextHopLinkLocal] : [attrs.nextHop]);
  let i = 0;
  while (i < count) {
    // Layout: header, withdrawn len 0, attr len, below, MP_REACH (4-byte header, ext length), above.
    let o = HEADER_LENGTH + 4;
    buf.set(enc.below, o);
    o += enc.below.length;
    const mpStart = o;
    o += 4;
    buf[o++] = 0;
    buf[o++] = 2;
    buf[o++] = 1;
    buf[o++] = nh.length;
    buf.set(nh, o);
    o += nh.length;
    buf[o++] = 0;
    const [end, next] = writePrefixes(buf, o, max - enc.above.length, 2, prefixes, i, count, pathIds, addPath);
    if (next === i) throw new Error('attributes leave no room for NLRI');
    const valueLen = end - mpStart - 4;
    let mpEnd = end;
    if (valueLen <= 255) {
      // Short enough for a one-octet length: close the gap so the bytes match a canonical encoder.
      buf.copyWithin(mpStart + 3, mpStart + 4, end);
      buf[mpStart] = AttrFlag.OPTIONAL;
      buf[mpStart + 2] = valueLen;
      mpEnd = end - 1;
    } else {
      buf[mpStart] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
      buf[mpStart + 2] = valueLen >>> 8;
      buf[mpStart + 3] = valueLen & 255;
    }
    buf[mpStart + 1] = AttrType.MP_REACH_NLRI;
    buf.set(enc.above, mpEnd);
    const total = mpEnd + enc.above.length;
    const attrLen = total - HEADER_LENGTH - 4;
    buf[HEADER_LENGTH] = 0;
    buf[HEADER_LENGTH + 1] = 0;
    buf[HEADER_LENGTH + 2] = attrLen >>> 8;
    buf[HEADER_LENGTH + 3] = attrLen & 255;
    writeHeader(buf, total, MsgType.UPDATE);
    out.push(buf.slice(0, total));
    i = next;
  }
  return out;
}

/** Withdraws `prefixes`, as many per UPDATE as fit: the withdrawn routes field for IPv4, MP_UNREACH_NLRI for IPv6. */
export function encodeWithdrawals(afi: 1 | 2, prefixes: Uint32Array, ctx: CodecContext, pathIds?: Uint32Array): Uint8Array[] {
  const addPath = addPathTx(ctx, afi);
  const max = maxLength(ctx);
  const count = prefixes.length / prefixStride(afi);
  const out: Uint8Array[] = [];
  const buf = scratch;
  let i = 0;
  while (i < count) {
    if (afi === 1) {
      const [end, next] = writePrefixes(buf, HEADER_LENGTH + 2, max - 2, 1, prefixes, i, count, pathIds, addPath);
      const wl = end - HEADER_LENGTH - 2;
      buf[HEADER_LENGTH] = wl >>> 8;
      buf[HEADER_LENGTH + 1] = wl & 255;
      buf[end] = 0;
      buf[end + 1] = 0;
      writeHeader(buf, end + 2, MsgType.UPDATE);
      out.push(buf.slice(0, end + 2));
      i = next;
    } else {
      const mpStart = HEADER_LENGTH + 4;
      const [end, next] = writePrefixes(buf, mpStart + 4 + 3, max, 2, prefixes, i, count, pathIds, addPath);
      const valueLen = end - mpStart - 4;
      let mpEnd = end;
      buf[mpStart + 4] = 0;
      buf[mpStart + 5] = 2;
      buf[mpStart + 6] = 1;
      if (valueLen <= 255) {
        buf.copyWithin(mpStart + 3, mpStart + 4, end);
        buf[mpStart] = AttrFlag.OPTIONAL;
        buf[mpStart + 2] = valueLen;
        mpEnd = end - 1;
      } else {
        buf[mpStart] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
        buf[mpStart + 2] = valueLen >>> 8;
        buf[mpStart + 3] = valueLen & 255;
      }
      buf[mpStart + 1] = AttrType.MP_UNREACH_NLRI;
      const attrLen = mpEnd - mpStart;
      buf[HEADER_LENGTH] = 0;
      buf[HEADER_LENGTH + 1] = 0;
      buf[HEADER_LENGTH + 2] = attrLen >>> 8;
      buf[HEADER_LENGTH + 3] = attrLen & 255;
      writeHeader(buf, mpEnd, MsgType.UPDATE);
      out.push(buf.slice(0, mpEnd));
      i = next;
    }
  }
  return out;
}

/** RFC 4724 End-of-RIB marker for a family. */
export function encodeEndOfRib(afi: number, safi: number): Uint8Array {
  if (afi === 1 && safi === 1) {
    const out = new Uint8Array(HEADER_LENGTH + 4);
    writeHeader(out, out.length, MsgType.UPDATE);
    return out;
  }
  const out = new Uint8Array(HEADER_LENGTH + 4 + 6);
  writeHeader(out, out.length, MsgType.UPDATE);
  out.set([0, 0, 0, 6, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, 3, afi >>> 8, afi & 255, safi], HEADER_LENGTH);
  return out;
}
