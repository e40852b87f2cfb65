/**
 * NLRI fields as numbers: IPv4 prefixes decode into a Uint32Array of [addr, len, ...] pairs and
 * IPv6 prefixes into [w0, w1, w2, w3, len, ...] quintuples; ADD-PATH path identifiers go into a
 * parallel Uint32Array. No object per prefix. Decoding goes through one shared scratch array and
 * copies out exactly the used part.
 */
import { updateError, UpdateSubcode } from './errors.js';

/** Worst case: 65535 one-byte prefixes of 5 words each. */
let scratch = new Uint32Array(0);
let idScratch = new Uint32Array(0);

function ensureScratch(): void {
  if (scratch.length === 0) {
    scratch = new Uint32Array(65536 * 5);
    idScratch = new Uint32Array(65536);
  }
}

export interface DecodedPrefixes {
  prefixes: Uint32Array;
  pathIds?: Uint32Array;
}

/** The first n words of a scratch array as a new array: a loop for the few words of a small UPDATE (cheaper than slice). */
function copyOut(src: Uint32Array, n: number): Uint32Array {
  if (n > 32) return src.slice(0, n);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = src[i]!;
  return out;
}

const NO_WORDS = new Uint32Array(0);
/** Shared results for an empty field (frozen: nobody may add to them). */
const NONE: DecodedPrefixes = Object.freeze({ prefixes: NO_WORDS });
const NONE_WITH_IDS: DecodedPrefixes = Object.freeze({ prefixes: NO_WORDS, pathIds: NO_WORDS });

function malformed(subcode: number, detail: string): never {
  throw updateError(subcode, 'session-reset', undefined, detail);
}

/** IPv4 prefixes in b[off, end). Host bits beyond the length are cleared. Throws `subcode` on a bad length or overrun. */
export function decodePrefixes4(b: Uint8Array, off: number, end: number, addPath: boolean, subcode: number = UpdateSubcode.INVALID_NETWORK_FIELD): DecodedPrefixes {
  // An empty field (the withdrawn routes of almost every UPDATE): no scratch, no copy.
  if (off >= end) return addPath ? NONE_WITH_IDS : NONE;
  ensureScratch();
  // In runs of at most RUN4 prefixes per call: a table UPDATE carries up to ~1,000, and a long
  // loop here would be compiled by V8 on the stack (OSR) during the first UPDATEs of a cold
  // daemon and then again as a whole; the small run function is compiled once.
  let o = off;
  run4N = 0;
  run4K = 0;
  while (o < end) o = addPath ? decodeRun4AddPath(b, o, end, subcode) : decodeRun4(b, o, end, subcode);
  const result: DecodedPrefixes = { prefixes: copyOut(scratch, run4N) };
  if (addPath) result.pathIds = copyOut(idScratch, run4K);
  return result;
}

/** Prefixes per call of decodeRun4 (see decodePrefixes4). */
const RUN4 = 256;
/** Words written to scratch, and path identifiers to idScratch, by the runs so far. */
let run4N = 0;
let run4K = 0;

/** Up to RUN4 plain IPv4 prefixes from b[o, end) into scratch at run4N; returns where it stopped. */
function decodeRun4(b: Uint8Array, o: number, end: number, subcode: number): number {
  const out = scratch;
  let n = run4N;
  const stop = n + 2 * RUN4;
  while (o < end && n < stop) {
    const len = b[o++]!;
    if (len > 32) malformed(subcode, `IPv4 prefix length ${len}`);
    const nb = (len + 7) >> 3;
    if (o + nb > end) malformed(subcode, 'prefix overruns the field');
    let a = 0;
    if (nb > 0) a = b[o]! << 24;
    if (nb > 1) a |= b[o + 1]! << 16;
    if (nb > 2) a |= b[o + 2]! << 8;
    if (nb > 3) a |= b[o + 3]!;
    o += nb;
    out[n++] = len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0;
    out[n++] = len;
  }
  run4N = n;
  return o;
}

/**
 * decodeRun4 for ADD-PATH NLRI (RFC 7911): each prefix after its path identifier, into idScratch at
 * run4K. The prefix read is written out in both on purpose: a per-prefix helper call is what the
 * interpreter pays for every prefix of a cold daemon's first UPDATEs (issue 10, ingest at 100k), and
 * two loops that each see one NLRI form stay monomorphic.
 */
function decodeRun4AddPath(b: Uint8Array, o: number, end: number, subcode: number): number {
  const out = scratch;
  const ids = idScratch;
  let n = run4N;
  let k = run4K;
  const stop = n + 2 * RUN4;
  while (o < end && n < stop) {
    if (o + 4 > end) malformed(subcode, 'truncated path identifier');
    ids[k++] = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    o += 4;
    if (o >= end) malformed(subcode, 'path identifier without a prefix');
    const len = b[o++]!;
    if (len > 32) malformed(subcode, `IPv4 prefix length ${len}`);
    const nb = (len + 7) >> 3;
    if (o + nb > end) malformed(subcode, 'prefix overruns the field');
    let a = 0;
    if (nb > 0) a = b[o]! << 24;
    if (nb > 1) a |= b[o + 1]! << 16;
    if (nb > 2) a |= b[o + 2]! << 8;
    if (nb > 3) a |= b[o + 3]!;
    o += nb;
    out[n++] = len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0;
    out[n++] = len;
  }
  run4N = n;
  run4K = k;
  return o;
}

/** IPv6 prefixes in b[off, end) as quintuples. */
export function decodePrefixes6(b: Uint8Array, off: number, end: number, addPath: boolean, subcode: number = UpdateSubcode.INVALID_NETWORK_FIELD): DecodedPrefixes {
  ensureScratch();
  const out = scratch;
  const ids = idScratch;
  let o = off;
  let n = 0;
  let k = 0;
  while (o < end) {
    if (addPath) {
      if (o + 4 > end) malformed(subcode, 'truncated path identifier');
      ids[k++] = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      o += 4;
      if (o >= end) malformed(subcode, 'path identifier without a prefix');
    }
    const len = b[o++]!;
    if (len > 128) malformed(subcode, `IPv6 prefix length ${len}`);
    const nb = (len + 7) >> 3;
    if (o + nb > end) malformed(subcode, 'prefix overruns the field');
    for (let w = 0; w < 4; w++) {
      let v = 0;
      for (let i = 0; i < 4; i++) {
        const bi = w * 4 + i;
        v = (v << 8) | (bi < nb ? b[o + bi]! : 0);
      }
      const bits = len - w * 32;
      out[n + w] = bits >= 32 ? v >>> 0 : bits <= 0 ? 0 : (v & (0xffffffff << (32 - bits))) >>> 0;
    }
    out[n + 4] = len;
    n += 5;
    o += nb;
  }
  const result: DecodedPrefixes = { prefixes: out.slice(0, n) };
  if (addPath) result.pathIds = ids.slice(0, k);
  return result;
}

/** Bytes one IPv4 prefix takes on the wire (without a path id). */
export function prefix4WireSize(len: number): number {
  return 1 + ((len + 7) >> 3);
}

/** Writes one IPv4 prefix at out[o]; returns the new offset. */
export function writePrefix4(out: Uint8Array, o: number, addr: number, len: number): number {
  out[o++] = len;
  const nb = (len + 7) >> 3;
  if (nb > 0) out[o++] = addr >>> 24;
  if (nb > 1) out[o++] = (addr >>> 16) & 255;
  if (nb > 2) out[o++] = (addr >>> 8) & 255;
  if (nb > 3) out[o++] = addr & 255;
  return o;
}

/** Writes one IPv6 prefix from words p[i..i+3], length p[i+4]; returns the new offset. */
export function writePrefix6(out: Uint8Array, o: number, p: ArrayLike<number>, i: number): number {
  const len = p[i + 4]!;
  out[o++] = len;
  const nb = (len + 7) >> 3;
  for (let bi = 0; bi < nb; bi++) out[o++] = (p[i + (bi >> 2)]! >>> (24 - 8 * (bi & 3))) & 255;
  return o;
}

export function writeU32(out: Uint8Array, o: number, v: number): number {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 255;
  out[o + 2] = (v >>> 8) & 255;
  out[o + 3] = v & 255;
  return o + 4;
}

/** Words per prefix in the packed arrays: 2 for IPv4, 5 for IPv6. */
export function prefixStride(afi: number): 2 | 5 {
  return afi === 2 ? 5 : 2;
}

/**
 * Writes prefixes from p (stride by afi) starting at index `from` (in prefixes) into out[o, limit);
 * stops before the first one that does not fit. Returns [next offset, next prefix index].
 */
export function writePrefixes(
  out: Uint8Array,
  o: number,
  limit: number,
  afi: number,
  p: ArrayLike<number>,
  from: number,
  count: number,
  pathIds: ArrayLike<number> | undefined,
  addPath: boolean,
): [number, number] {
  let i = from;
  if (afi === 2) {
    for (; i < count; i++) {
      const need = (addPath ? 4 : 0) + 1 + ((p[i * 5 + 4]! + 7) >> 3);
      if (o + need > limit) break;
      if (addPath) o = writeU32(out, o, pathIds?.[i] ?? 0);
      o = writePrefix6(out, o, p, i * 5);
    }
  } else {
    for (; i < count; i++) {
      const len = p[i * 2 + 1]!;
      const need = (addPath ? 5 : 1) + ((len + 7) >> 3);
      if (o + need > limit) break;
      if (addPath) o = writeU32(out, o, pathIds?.[i] ?? 0);
      o = writePrefix4(out, o, p[i * 2]!, len);
    }
  }
  return [o, i];
}
