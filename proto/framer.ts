/**
 * Incremental framer: TCP chunks in, whole BGP messages out. Chunks are kept in a list and only
 * copied when a message spans chunk boundaries (at most one copy per message), or when they are
 * small: tiny reads are coalesced so a byte-by-byte trickle stays linear.
 */
import { HEADER_LENGTH } from './constants.js';
import { checkLengthAndType, checkMarker } from './header.js';

export interface FramerOptions {
  extendedMessage?: boolean;
}

/** Chunks shorter than this are copied into a shared buffer instead of queued one by one. */
const SMALL_CHUNK = 512;
/** Size of that buffer: a trickle of tiny reads costs one list entry per this many bytes. */
const COALESCE_SIZE = 4096;

export class MessageFramer {
  /** Buffered chunks; the live ones are chunks[first..]. An index (not shift()) keeps dropping O(1). */
  private readonly chunks: Uint8Array[] = [];
  private first = 0;
  /** Read offset into chunks[first]. */
  private head = 0;
  private buffered = 0;
  /** The buffer the last chunk is a view into (from offset 0) when small chunks are being coalesced. */
  private spare: Uint8Array | undefined;
  private copied = 0;
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
    // Kept as plain Uint8Array views (a socket hands out Buffers): every chunk then has the map of
    // the ones the framer makes itself (joined headers, coalesced reads), and the code reading them
    // is not thrown away for a wrong map the first time one of those is read.
    if (chunk.constructor !== Uint8Array) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.buffered > 0 && this.buffered < HEADER_LENGTH && this.buffered + chunk.length >= HEADER_LENGTH) chunk = this.joinHeader(chunk);
    this.buffered += chunk.length;
    if (chunk.length >= SMALL_CHUNK) {
      this.chunks.push(chunk);
      this.spare = undefined;
      return;
    }
    // Small reads (a peer trickling bytes) are appended to one buffer so the list stays short.
    // Bytes already in the buffer are never overwritten: views handed out by next() stay valid.
    const last = this.chunks.length - 1;
    const tail = this.chunks[last];
    if (this.spare && last >= this.first && tail && tail.buffer === this.spare.buffer && tail.length + chunk.length <= this.spare.length) {
      this.spare.set(chunk, tail.length);
      this.chunks[last] = this.spare.subarray(0, tail.length + chunk.length);
    } else {
      this.spare = new Uint8Array(COALESCE_SIZE);
      this.spare.set(chunk);
      this.chunks.push(this.spare.subarray(0, chunk.length));
    }
    this.copied += chunk.length;
  }

  /**
   * A header cut by a read boundary: its first bytes (all that is buffered) and the rest, from
   * `chunk`, become one chunk of their own; returns what is left of `chunk`. Then next() finds
   * every header whole in its first chunk whenever it is called after each push, as a session
   * does: it never takes its split-header path, which a table first needed part way through, when
   * that code was compiled without it and was thrown away (with the session's read loop) to take it.
   */
  private joinHeader(chunk: Uint8Array): Uint8Array {
    const header = new Uint8Array(HEADER_LENGTH);
    const have = this.buffered;
    let filled = 0;
    let off = this.head;
    for (let i = this.first; i < this.chunks.length; i++) {
      const c = this.chunks[i] as Uint8Array;
      header.set(c.subarray(off), filled);
      filled += c.length - off;
      off = 0;
    }
    const need = HEADER_LENGTH - have;
    header.set(chunk.subarray(0, need), have);
    this.chunks.length = 0;
    this.first = 0;
    this.head = 0;
    this.spare = undefined;
    this.chunks.push(header);
    this.buffered = HEADER_LENGTH;
    this.copied += HEADER_LENGTH;
    return new Uint8Array(chunk.buffer, chunk.byteOffset + need, chunk.length - need);
  }

  /** Bytes received and not yet returned as a message. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Chunks currently held (a bound on the framer's bookkeeping, for tests and diagnostics). */
  get chunkCount(): number {
    return this.chunks.length - this.first;
  }

  /** Bytes copied so far (coalescing small reads, messages spanning chunks): a bound on work. */
  get copiedBytes(): number {
    return this.copied;
  }

  /**
   * The next whole message (header included), or null when more bytes are needed. Throws a
   * BgpError (1/1, 1/2, 1/3) on a bad header; the framer is unusable after that. The returned
   * array may be a view into a pushed chunk.
   */
  next(): Uint8Array | null {
    if (this.buffered < HEADER_LENGTH) return null;
    const first = this.chunks[this.first] as Uint8Array;
    const h = this.head;
    let length: number;
    let type: number;
    if (first.length - h >= HEADER_LENGTH) {
      // The header inside one chunk (almost always): read in place, no view object.
      checkMarker(first, h);
      length = (first[h + 16]! << 8) | first[h + 17]!;
      type = first[h + 18]!;
    } else {
      const header = this.peek(HEADER_LENGTH);
      checkMarker(header, 0);
      length = ((header[16] ?? 0) << 8) | (header[17] ?? 0);
      type = header[18] ?? 0;
    }
    checkLengthAndType(length, type, this.extended);
    if (this.buffered < length) return null;
    return this.consume(length);
  }

  /** The first n buffered bytes without consuming them (n ≤ buffered). */
  private peek(n: number): Uint8Array {
    const first = this.chunks[this.first] as Uint8Array;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = n === HEADER_LENGTH ? this.headerScratch : new Uint8Array(n);
    let filled = 0;
    let off = this.head;
    for (let i = this.first; i < this.chunks.length && filled < n; i++) {
      const c = this.chunks[i] as Uint8Array;
      const take = Math.min(n - filled, c.length - off);
      out.set(c.subarray(off, off + take), filled);
      filled += take;
      off = 0;
    }
    this.copied += n;
    return out;
  }

  private consume(n: number): Uint8Array {
    const first = this.chunks[this.first] as Uint8Array;
    this.buffered -= n;
    if (first.length - this.head >= n) {
      // A plain Uint8Array view, also of a Buffer: subarray would build a Buffer through its
      // species constructor, several times the cost, once per message.
      const out = new Uint8Array(first.buffer, first.byteOffset + this.head, n);
      this.head += n;
      if (this.head === first.length) this.dropFirst();
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first] as Uint8Array;
      const take = Math.min(n - filled, c.length - this.head);
      out.set(c.subarray(this.head, this.head + take), filled);
      filled += take;
      this.head += take;
      if (this.head === c.length) this.dropFirst();
    }
    this.copied += n;
    return out;
  }

  /** Drops the fully read chunks[first]; compacts the list once most of it is dead. */
  private dropFirst(): void {
    this.chunks[this.first] = EMPTY;
    this.first++;
    this.head = 0;
    // The list is emptied and compacted in place, never replaced: V8 takes a field that keeps its
    // first value for a constant, and code compiled with it is thrown away at the first new array.
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
      this.spare = undefined;
    } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.first);
      this.first = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
