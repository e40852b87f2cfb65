/**
 * Incremental framer: TCP chunks in, whole BGP messages out. Chunks are kept in a list and only
 * copied when a message spans chunk boundaries (at most one copy per message).
 */
import { HEADER_LENGTH } from './constants.js';
import { checkLengthAndType, checkMarker } from './header.js';

export interface FramerOptions {
  extendedMessage?: boolean;
}

export class MessageFramer {
  private chunks: Uint8Array[] = [];
  /** Read offset into chunks[0]. */
  private head = 0;
  private buffered = 0;
  private extended: boolean;
  private readonly headerScratch = new Uint8Array(HEADER_LENGTH);

  constructor(opts: FramerOptions = {}) {
    this.extended = opts.extendedMessage ?? false;
  }

  /** RFC 8654: raise the length limit to 65535 once both sides advertised extended messages. */
  setExtendedMessage(on: boolean): void {
    this.extended = on;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes received and not yet returned as a message. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * The next whole message (header included), or null when more bytes are needed. Throws a
   * BgpError (1/1, 1/2, 1/3) on a bad header; the framer is unusable after that. The returned
   * array may be a view into a pushed chunk.
   */
  next(): Uint8Array | null {
    if (this.buffered < HEADER_LENGTH) return null;
    const header = this.peek(HEADER_LENGTH);
    checkMarker(header, 0);
    const length = ((header[16] ?? 0) << 8) | (header[17] ?? 0);
    checkLengthAndType(length, header[18] ?? 0, this.extended);
    if (this.buffered < length) return null;
    return this.consume(length);
  }

  /** The first n buffered bytes without consuming them (n ≤ buffered). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = n === HEADER_LENGTH ? this.headerScratch : new Uint8Array(n);
    let filled = 0;
    let off = this.head;
    for (const c of this.chunks) {
      const take = Math.min(n - filled, c.length - off);
      out.set(c.subarray(off, off + take), filled);
      filled += take;
      off = 0;
      if (filled === n) break;
    }
    return out;
  }

  private consume(n: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    this.buffered -= n;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Uint8Array;
      const take = Math.min(n - filled, c.length - this.head);
      out.set(c.subarray(this.head, this.head + take), filled);
      filled += take;
      this.head += take;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}
