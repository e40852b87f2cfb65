/** Small byte helpers for the cold paths (OPEN, NOTIFICATION, formatting). Hot paths index bytes directly. */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './prefix.js';

/** A growable byte buffer with big-endian writers; `bytes()` returns exactly what was written. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v & 255;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
    return this;
  }

  u24(v: number): this {
    return this.u8(v >>> 16).u16(v & 0xffff);
  }

  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }

  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** Overwrites a 16-bit value already written (length back-patching). */
  patchU16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }

  patchU8(at: number, v: number): void {
    this.buf[at] = v & 255;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function readU16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

export function readU32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

export function ipv4At(b: Uint8Array, o: number): string {
  return formatIpv4(readU32(b, o));
}

export function ipv6At(b: Uint8Array, o: number): string {
  return formatIpv6([readU32(b, o), readU32(b, o + 4), readU32(b, o + 8), readU32(b, o + 12)]);
}

export function ipv4Bytes(text: string): Uint8Array {
  const v = parseIpv4(text);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

export function ipv6Bytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  parseIpv6(text).forEach((w, i) => dv.setUint32(i * 4, w));
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Hex text (whitespace, colons and a 0x prefix tolerated) to bytes; throws on odd length or junk. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new Error('not a hex string');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The byte strings one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
