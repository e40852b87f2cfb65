/**
 * Mutations as plain data, so that the same operations can be drawn by fast-check (which then
 * shrinks a failing case to a short list) or by the seeded PRNG of the long run, and so that a
 * finding can be written down and replayed. Positions are taken modulo the current length, so
 * every operation applies to every message.
 *
 * Besides blind byte edits there are structure-aware ones that lie in exactly one length field
 * (header, withdrawn routes, path attributes, one attribute) or rewrite one attribute's flags,
 * duplicate or drop it: those reach the decoder's deeper checks instead of dying at the header.
 */
import { pick, type Rand } from './rng.js';
import { concatBytes } from '../../proto/bytes.js';

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'headerLength'; delta: number }
  | { op: 'headerType'; value: number }
  | { op: 'withdrawnLength'; delta: number }
  | { op: 'attrsLength'; delta: number }
  | { op: 'attrLength'; index: number; value: number }
  | { op: 'attrFlags'; index: number; value: number }
  | { op: 'attrCode'; index: number; value: number }
  | { op: 'attrDuplicate'; index: number }
  | { op: 'attrDrop'; index: number }
  | { op: 'attrAppend'; flags: number; code: number; value: number[] }
  | { op: 'nlriAppend'; bytes: number[] }
  /** Make the header length agree with the real length again (so later checks are reached). */
  | { op: 'fixHeader' };

const HEADER = 19;

function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

function put16(b: Uint8Array, o: number, v: number): void {
  if (o + 1 >= b.length) return;
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

interface AttrSpan {
  /** Offset of the flags octet. */
  at: number;
  /** Offset just past the value. */
  end: number;
  ext: boolean;
}

interface UpdateLayout {
  attrLenAt: number;
  attrStart: number;
  attrEnd: number;
  attrs: AttrSpan[];
}

/** Where an UPDATE's fields are, as far as they are consistent; undefined for other types or nonsense. */
export function updateLayout(b: Uint8Array): UpdateLayout | undefined {
  if (b.length < HEADER + 4 || b[18] !== 2) return undefined;
  const wl = u16(b, HEADER);
  const attrLenAt = HEADER + 2 + wl;
  if (attrLenAt + 2 > b.length) return undefined;
  const attrStart = attrLenAt + 2;
  const attrEnd = Math.min(b.length, attrStart + u16(b, attrLenAt));
  const attrs: AttrSpan[] = [];
  let o = attrStart;
  while (o + 3 <= attrEnd) {
    const ext = ((b[o] ?? 0) & 0x10) !== 0;
    const hdr = ext ? 4 : 3;
    if (o + hdr > attrEnd) break;
    const len = ext ? u16(b, o + 2) : (b[o + 2] ?? 0);
    const end = o + hdr + len;
    if (end > attrEnd) break;
    attrs.push({ at: o, end, ext });
    o = end;
  }
  return { attrLenAt, attrStart, attrEnd, attrs };
}

/** Adds `delta` to the path attribute length and the header length (after inserting/removing attribute bytes). */
function growAttrs(b: Uint8Array, lay: UpdateLayout, delta: number): void {
  put16(b, lay.attrLenAt, u16(b, lay.attrLenAt) + delta);
  put16(b, 16, u16(b, 16) + delta);
}

/** Applies one mutation; returns a new array (the input is never changed). */
export function applyMutation(input: Uint8Array, m: Mutation): Uint8Array {
  const b = input.slice();
  const n = b.length;
  const pos = (at: number) => (n === 0 ? 0 : at % n);
  switch (m.op) {
    case 'flip':
      if (n > 0) b[pos(m.at)] = (b[pos(m.at)] ?? 0) ^ (1 << (m.bit & 7));
      return b;
    case 'set':
      if (n > 0) b[pos(m.at)] = m.value & 255;
      return b;
    case 'insert': {
      const at = n === 0 ? 0 : m.at % (n + 1);
      return concat(b.subarray(0, at), Uint8Array.from(m.bytes), b.subarray(at));
    }
    case 'delete': {
      const at = pos(m.at);
      return concat(b.subarray(0, at), b.subarray(Math.min(n, at + m.count)));
    }
    case 'truncate':
      return b.slice(0, n === 0 ? 0 : m.at % n);
    case 'headerLength':
      put16(b, 16, u16(b, 16) + m.delta);
      return b;
    case 'headerType':
      if (n > 18) b[18] = m.value & 255;
      return b;
    case 'withdrawnLength':
      if (b[18] === 2) put16(b, HEADER, u16(b, HEADER) + m.delta);
      return b;
    case 'attrsLength': {
      const lay = updateLayout(b);
      if (lay) put16(b, lay.attrLenAt, u16(b, lay.attrLenAt) + m.delta);
      return b;
    }
    case 'attrLength':
    case 'attrFlags':
    case 'attrCode': {
      const lay = updateLayout(b);
      const a = lay && lay.attrs.length > 0 ? lay.attrs[m.index % lay.attrs.length] : undefined;
      if (!a) return b;
      if (m.op === 'attrFlags') b[a.at] = m.value & 255;
      else if (m.op === 'attrCode') b[a.at + 1] = m.value & 255;
      else if (a.ext) put16(b, a.at + 2, m.value & 0xffff);
      else b[a.at + 2] = m.value & 255;
      return b;
    }
    case 'attrDuplicate':
    case 'attrDrop': {
      const lay = updateLayout(b);
      const a = lay && lay.attrs.length > 0 ? lay.attrs[m.index % lay.attrs.length] : undefined;
      if (!lay || !a) return b;
      const span = b.slice(a.at, a.end);
      const delta = m.op === 'attrDuplicate' ? span.length : -span.length;
      growAttrs(b, lay, delta);
      return m.op === 'attrDuplicate' ? concat(b.subarray(0, a.end), span, b.subarray(a.end)) : concat(b.subarray(0, a.at), b.subarray(a.end));
    }
    case 'attrAppend': {
      const lay = updateLayout(b);
      if (!lay) return b;
      const value = Uint8Array.from(m.value);
      const ext = value.length > 255 || (m.flags & 0x10) !== 0;
      const head = ext ? Uint8Array.of(m.flags | 0x10, m.code, value.length >>> 8, value.length & 255) : Uint8Array.of(m.flags & ~0x10 & 255, m.code, value.length);
      const attr = concat(head, value);
      growAttrs(b, lay, attr.length);
      return concat(b.subarray(0, lay.attrEnd), attr, b.subarray(lay.attrEnd));
    }
    case 'nlriAppend': {
      if (b[18] !== 2) return b;
      const out = concat(b, Uint8Array.from(m.bytes));
      put16(out, 16, u16(out, 16) + m.bytes.length);
      return out;
    }
    case 'fixHeader':
      put16(b, 16, n);
      return b;
  }
}

export function applyMutations(input: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = input;
  for (const m of ms) b = applyMutation(b, m);
  return b;
}

// ---------------------------------------------------------------- drawing mutations with a PRNG

/** Values that sit on boundaries the decoder cares about (prefix lengths, length octets, flags). */
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 24, 25, 31, 32, 33, 64, 127, 128, 129, 254, 255];
const FLAGS = [0x00, 0x40, 0x50, 0x80, 0x90, 0xc0, 0xd0, 0xe0, 0xf0, 0x20, 0x10];
const CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 99, 255];

function bytes(r: Rand, max: number): number[] {
  const len = r.int(max + 1);
  const out: number[] = [];
  for (let i = 0; i < len; i++) out.push(r.int(3) === 0 ? pick(r, INTERESTING) : r.int(256));
  return out;
}

function delta(r: Rand): number {
  return pick(r, [-65536, -256, -19, -4, -3, -2, -1, 1, 2, 3, 4, 19, 256, 4096]) + (r.int(4) === 0 ? r.int(65536) : 0);
}

/** One mutation drawn from `r`. */
export function randomMutation(r: Rand): Mutation {
  switch (r.int(17)) {
    case 0:
    case 1:
      return { op: 'flip', at: r.int(1 << 16), bit: r.int(8) };
    case 2:
    case 3:
      return { op: 'set', at: r.int(1 << 16), value: r.int(2) ? pick(r, INTERESTING) : r.int(256) };
    case 4:
      return { op: 'insert', at: r.int(1 << 16), bytes: bytes(r, 8) };
    case 5:
      return { op: 'delete', at: r.int(1 << 16), count: 1 + r.int(8) };
    case 6:
      return { op: 'truncate', at: r.int(1 << 16) };
    case 7:
      return { op: 'headerLength', delta: delta(r) };
    case 8:
      return { op: 'headerType', value: r.int(8) };
    case 9:
      return { op: 'withdrawnLength', delta: delta(r) };
    case 10:
      return { op: 'attrsLength', delta: delta(r) };
    case 11:
      return { op: 'attrLength', index: r.int(16), value: r.int(2) ? pick(r, INTERESTING) : r.int(65536) };
    case 12:
      return { op: 'attrFlags', index: r.int(16), value: pick(r, FLAGS) | (r.int(4) === 0 ? r.int(16) : 0) };
    case 13:
      return { op: 'attrCode', index: r.int(16), value: pick(r, CODES) };
    case 14:
      return r.int(2) ? { op: 'attrDuplicate', index: r.int(16) } : { op: 'attrDrop', index: r.int(16) };
    case 15:
      return { op: 'attrAppend', flags: pick(r, FLAGS), code: pick(r, CODES), value: bytes(r, r.int(8) === 0 ? 300 : 12) };
    default:
      return { op: 'nlriAppend', bytes: bytes(r, 10) };
  }
}

/** 1–4 mutations, usually followed by a header fix so the damage reaches the body decoders. */
export function randomMutations(r: Rand): Mutation[] {
  const out: Mutation[] = [];
  const k = 1 + r.int(4);
  for (let i = 0; i < k; i++) out.push(randomMutation(r));
  if (r.int(10) < 7) out.push({ op: 'fixHeader' });
  return out;
}

/** Cut points for feeding a stream in chunks: sizes from 1 byte up, sometimes the whole stream at once. */
export function randomChunks(r: Rand, total: number): number[] {
  if (r.int(4) === 0) return [total];
  const out: number[] = [];
  let left = total;
  while (left > 0) {
    const size = Math.min(left, r.int(3) === 0 ? 1 + r.int(4) : 1 + r.int(300));
    out.push(size);
    left -= size;
  }
  return out;
}
