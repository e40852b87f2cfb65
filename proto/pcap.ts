/**
 * A small capture reader (pcapng and classic pcap) that pulls TCP payloads out of Ethernet, Linux
 * cooked or raw IP frames, reassembles each direction of each TCP connection in sequence order,
 * and frames the BGP messages in it. Pure: bytes in, records out.
 */
import { MessageFramer } from './framer.js';
import { formatIpv4, formatIpv6 } from './prefix.js';

export interface CapturedPacket {
  /** 1-based frame number, as Wireshark counts. */
  frame: number;
  /** Seconds since the epoch. */
  time: number;
  linkType: number;
  data: Uint8Array;
}

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Reads every packet of a pcapng or classic pcap file. */
export function readCapture(file: Uint8Array): CapturedPacket[] {
  if (file.length < 24) throw new CaptureFormatError('file too short for a capture');
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = dv.getUint32(0, false);
  if (magic === PCAPNG_SHB) return readPcapng(dv);
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(magic)) return readPcap(dv, magic);
  throw new CaptureFormatError('not a pcap or pcapng file');
}

function readPcap(dv: DataView, magic: number): CapturedPacket[] {
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const linkType = dv.getUint32(20, le) & 0xffff;
  const out: CapturedPacket[] = [];
  let o = 24;
  while (o + 16 <= dv.byteLength) {
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const incl = dv.getUint32(o + 8, le);
    if (o + 16 + incl > dv.byteLength) throw new CaptureFormatError('truncated packet record');
    out.push({
      frame: out.length + 1,
      time: sec + frac / (nano ? 1e9 : 1e6),
      linkType,
      data: new Uint8Array(dv.buffer, dv.byteOffset + o + 16, incl),
    });
    o += 16 + incl;
  }
  return out;
}

function readPcapng(dv: DataView): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  let le = true;
  let interfaces: { linkType: number; tsPerSecond: number }[] = [];
  let o = 0;
  while (o + 12 <= dv.byteLength) {
    const typeBE = dv.getUint32(o, false);
    if (typeBE === PCAPNG_SHB) {
      // Each section header sets the byte order and starts a new interface list.
      le = dv.getUint32(o + 8, true) === BYTE_ORDER_MAGIC;
      interfaces = [];
    }
    const type = dv.getUint32(o, le);
    const len = dv.getUint32(o + 4, le);
    if (len < 12 || o + len > dv.byteLength) throw new CaptureFormatError(`bad block length ${len} at offset ${o}`);
    const body = o + 8;
    if (type === 1) {
      interfaces.push({ linkType: dv.getUint16(body, le), tsPerSecond: interfaceResolution(dv, body + 8, o + len - 4, le) });
    } else if (type === 6 || type === 3) {
      const enhanced = type === 6;
      const ifIndex = enhanced ? dv.getUint32(body, le) : 0;
      const iface = interfaces[ifIndex];
      if (!iface) throw new CaptureFormatError(`packet on undeclared interface ${ifIndex}`);
      const captured = enhanced ? dv.getUint32(body + 12, le) : Math.min(dv.getUint32(body, le), len - 16);
      const dataStart = enhanced ? body + 20 : body + 4;
      const ts = enhanced ? dv.getUint32(body + 4, le) * 2 ** 32 + dv.getUint32(body + 8, le) : 0;
      out.push({
        frame: out.length + 1,
        time: ts / iface.tsPerSecond,
        linkType: iface.linkType,
        data: new Uint8Array(dv.buffer, dv.byteOffset + dataStart, captured),
      });
    }
    o += len;
  }
  return out;
}

/** if_tsresol (option 9): a power of ten, or of two when the top bit is set; default microseconds. */
function interfaceResolution(dv: DataView, o: number, end: number, le: boolean): number {
  while (o + 4 <= end) {
    const code = dv.getUint16(o, le);
    const len = dv.getUint16(o + 2, le);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      const v = dv.getUint8(o + 4);
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}

export interface TcpSegment {
  frame: number;
  time: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags: number;
  payload: Uint8Array;
}

/** The IP packet inside a link-layer frame, or null for non-IP frames. */
function ipPayload(p: CapturedPacket): Uint8Array | null {
  const d = p.data;
  let etherType: number;
  let o: number;
  switch (p.linkType) {
    case 1: // Ethernet, with any 802.1Q tags
      o = 12;
      etherType = (d[o]! << 8) | d[o + 1]!;
      while (etherType === 0x8100 || etherType === 0x88a8) {
        o += 4;
        etherType = (d[o]! << 8) | d[o + 1]!;
      }
      o += 2;
      break;
    case 113: // Linux cooked v1
      etherType = (d[14]! << 8) | d[15]!;
      o = 16;
      break;
    case 276: // Linux cooked v2
      etherType = (d[0]! << 8) | d[1]!;
      o = 20;
      break;
    case 0: // BSD loopback: 4-byte address family in host order
      etherType = d[4]! >> 4 === 6 ? 0x86dd : 0x0800;
      o = 4;
      break;
    case 12:
    case 101:
    case 228:
    case 229: // raw IP
      etherType = d[0]! >> 4 === 6 ? 0x86dd : 0x0800;
      o = 0;
      break;
    default:
      return null;
  }
  if (etherType !== 0x0800 && etherType !== 0x86dd) return null;
  return d.subarray(o);
}

/** Every TCP segment in the capture (IPv4 and IPv6 without extension headers; fragments skipped). */
export function tcpSegments(packets: readonly CapturedPacket[]): TcpSegment[] {
  const out: TcpSegment[] = [];
  for (const p of packets) {
    const ip = ipPayload(p);
    if (!ip || ip.length < 20) continue;
    let src: string;
    let dst: string;
    let t: number;
    let end: number;
    if (ip[0]! >> 4 === 4) {
      const ihl = (ip[0]! & 15) * 4;
      const fragment = ((ip[6]! & 0x1f) << 8) | ip[7]!;
      if (ip[9] !== 6 || fragment !== 0 || (ip[6]! & 0x20) !== 0) continue;
      // The IP total length, not the frame length: Ethernet pads short frames.
      end = Math.min(ip.length, (ip[2]! << 8) | ip[3]!);
      src = formatIpv4(((ip[12]! << 24) | (ip[13]! << 16) | (ip[14]! << 8) | ip[15]!) >>> 0);
      dst = formatIpv4(((ip[16]! << 24) | (ip[17]! << 16) | (ip[18]! << 8) | ip[19]!) >>> 0);
      t = ihl;
    } else {
      if (ip.length < 40 || ip[6] !== 6) continue;
      end = Math.min(ip.length, 40 + ((ip[4]! << 8) | ip[5]!));
      const words = (at: number) => [0, 1, 2, 3].map((i) => ((ip[at + i * 4]! << 24) | (ip[at + i * 4 + 1]! << 16) | (ip[at + i * 4 + 2]! << 8) | ip[at + i * 4 + 3]!) >>> 0);
      src = formatIpv6(words(8));
      dst = formatIpv6(words(24));
      t = 40;
    }
    if (t + 20 > end) continue;
    const dataOff = t + (ip[t + 12]! >> 4) * 4;
    out.push({
      frame: p.frame,
      time: p.time,
      src,
      dst,
      srcPort: (ip[t]! << 8) | ip[t + 1]!,
      dstPort: (ip[t + 2]! << 8) | ip[t + 3]!,
      seq: ((ip[t + 4]! << 24) | (ip[t + 5]! << 16) | (ip[t + 6]! << 8) | ip[t + 7]!) >>> 0,
      flags: ip[t + 13]!,
      payload: ip.subarray(Math.min(dataOff, end), end),
    });
  }
  return out;
}

export interface CapturedBgpMessage {
  /** The frame that completed the message. */
  frame: number;
  time: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** The whole message, header included. */
  bytes: Uint8Array;
}

interface Stream {
  next: number | null;
  pending: Map<number, TcpSegment>;
  framer: MessageFramer;
}

/**
 * The BGP messages of every TCP connection touching `port`, in capture order. Each direction is
 * reassembled by sequence number (retransmissions trimmed, out-of-order segments held back) and
 * framed; a SYN starts a fresh stream.
 */
export function bgpMessagesFromSegments(segments: readonly TcpSegment[], port = 179): CapturedBgpMessage[] {
  const streams = new Map<string, Stream>();
  const out: CapturedBgpMessage[] = [];
  for (const seg of segments) {
    if (seg.srcPort !== port && seg.dstPort !== port) continue;
    const key = `${seg.src}|${seg.srcPort}|${seg.dst}|${seg.dstPort}`;
    let st = streams.get(key);
    if (seg.flags & 2) {
      st = { next: (seg.seq + 1) >>> 0, pending: new Map(), framer: new MessageFramer() };
      streams.set(key, st);
      continue;
    }
    if (seg.payload.length === 0) continue;
    if (!st) {
      st = { next: null, pending: new Map(), framer: new MessageFramer() };
      streams.set(key, st);
    }
    if (st.next === null) st.next = seg.seq;
    st.pending.set(seg.seq, seg);
    deliver(st, seg, out);
  }
  return out;
}

function deliver(st: Stream, current: TcpSegment, out: CapturedBgpMessage[]): void {
  for (let progress = true; progress; ) {
    progress = false;
    for (const [seq, seg] of st.pending) {
      const next = st.next as number;
      // Offset of this segment's first byte relative to what we expect (mod 2^32).
      const rel = (seq - next) | 0;
      if (rel > 0) continue;
      st.pending.delete(seq);
      const skip = -rel;
      if (skip < seg.payload.length) {
        st.framer.push(seg.payload.subarray(skip));
        st.next = (next + seg.payload.length - skip) >>> 0;
        progress = true;
      }
    }
  }
  for (let m = st.framer.next(); m !== null; m = st.framer.next()) {
    out.push({ frame: current.frame, time: current.time, src: current.src, srcPort: current.srcPort, dst: current.dst, dstPort: current.dstPort, bytes: m });
  }
}

/** All BGP messages in a capture file. */
export function bgpMessagesFromCapture(file: Uint8Array, port = 179): CapturedBgpMessage[] {
  return bgpMessagesFromSegments(tcpSegments(readCapture(file)), port);
}
