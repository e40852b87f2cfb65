/**
 * OPEN capabilities (RFC 5492): one row per capability code with decode/encode, unknown
 * capabilities kept as bytes.
 */
import { ByteWriter, readU16, readU32 } from './bytes.js';
import { CapCode } from './constants.js';
import { openError } from './errors.js';

export interface AfiSafi {
  afi: number;
  safi: number;
}

export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number }
  | { kind: 'routeRefresh' }
  | { kind: 'enhancedRouteRefresh' }
  | { kind: 'extendedMessage' }
  | { kind: 'as4'; asn: number }
  | {
      kind: 'gracefulRestart';
      /** R bit: the sender has restarted. */
      restartState: boolean;
      /** N bit (RFC 8538): graceful restart also covers NOTIFICATIONs. */
      notification: boolean;
      restartTime: number;
      families: { afi: number; safi: number; forwardingPreserved: boolean }[];
    }
  | { kind: 'addPath'; families: { afi: number; safi: number; sendReceive: 1 | 2 | 3 }[] }
  | { kind: 'fqdn'; hostname: string; domain: string }
  | { kind: 'llgr'; families: { afi: number; safi: number; forwardingPreserved: boolean; staleTime: number }[] }
  | { kind: 'unknown'; code: number; bytes: Uint8Array };

type Decoder = (b: Uint8Array, off: number, len: number) => Capability;
type Encoder = (c: Capability, w: ByteWriter) => void;

interface CapRow {
  name: string;
  code: number;
  /** Allowed value lengths: an exact length, or a multiple of `unit` plus `base`. */
  fits: (len: number) => boolean;
  decode: Decoder;
  encode: Encoder;
}

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

function familyList<T>(b: Uint8Array, off: number, len: number, unit: number, one: (o: number) => T): T[] {
  const out: T[] = [];
  for (let o = off; o + unit <= off + len; o += unit) out.push(one(o));
  return out;
}

const ROWS: CapRow[] = [
  {
    name: 'multiprotocol',
    code: CapCode.MULTIPROTOCOL,
    fits: (l) => l === 4,
    decode: (b, o) => ({ kind: 'multiprotocol', afi: readU16(b, o), safi: b[o + 3] ?? 0 }),
    encode: (c, w) => {
      if (c.kind === 'multiprotocol') w.u16(c.afi).u8(0).u8(c.safi);
    },
  },
  { name: 'routeRefresh', code: CapCode.ROUTE_REFRESH, fits: (l) => l === 0, decode: () => ({ kind: 'routeRefresh' }), encode: () => {} },
  {
    name: 'enhancedRouteRefresh',
    code: CapCode.ENHANCED_ROUTE_REFRESH,
    fits: (l) => l === 0,
    decode: () => ({ kind: 'enhancedRouteRefresh' }),
    encode: () => {},
  },
  { name: 'extendedMessage', code: CapCode.EXTENDED_MESSAGE, fits: (l) => l === 0, decode: () => ({ kind: 'extendedMessage' }), encode: () => {} },
  {
    name: 'as4',
    code: CapCode.AS4,
    fits: (l) => l === 4,
    decode: (b, o) => ({ kind: 'as4', asn: readU32(b, o) }),
    encode: (c, w) => {
      if (c.kind === 'as4') w.u32(c.asn);
    },
  },
  {
    name: 'gracefulRestart',
    code: CapCode.GRACEFUL_RESTART,
    fits: (l) => l >= 2 && (l - 2) % 4 === 0,
    decode: (b, o, len) => {
      const flagsTime = readU16(b, o);
      return {
        kind: 'gracefulRestart',
        restartState: (flagsTime & 0x8000) !== 0,
        notification: (flagsTime & 0x4000) !== 0,
        restartTime: flagsTime & 0x0fff,
        families: familyList(b, o + 2, len - 2, 4, (f) => ({
          afi: readU16(b, f),
          safi: b[f + 2] ?? 0,
          forwardingPreserved: ((b[f + 3] ?? 0) & 0x80) !== 0,
        })),
      };
    },
    encode: (c, w) => {
      if (c.kind !== 'gracefulRestart') return;
      w.u16((c.restartState ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff));
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingPreserved ? 0x80 : 0);
    },
  },
  {
    name: 'addPath',
    code: CapCode.ADD_PATH,
    fits: (l) => l % 4 === 0,
    decode: (b, o, len) => ({
      kind: 'addPath',
      families: familyList(b, o, len, 4, (f) => ({ afi: readU16(b, f), safi: b[f + 2] ?? 0, sendReceive: ((b[f + 3] ?? 0) & 3) as 1 | 2 | 3 })),
    }),
    encode: (c, w) => {
      if (c.kind === 'addPath') for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.sendReceive);
    },
  },
  {
    name: 'fqdn',
    code: CapCode.FQDN,
    fits: (l) => l >= 2,
    decode: (b, o, len) => {
      const hl = b[o] ?? 0;
      const dl = b[o + 1 + hl] ?? 0;
      if (1 + hl + 1 + dl > len) throw openError.malformed('FQDN capability overruns its length');
      return {
        kind: 'fqdn',
        hostname: utf8.decode(b.subarray(o + 1, o + 1 + hl)),
        domain: utf8.decode(b.subarray(o + 2 + hl, o + 2 + hl + dl)),
      };
    },
    encode: (c, w) => {
      if (c.kind !== 'fqdn') return;
      const h = utf8enc.encode(c.hostname).subarray(0, 255);
      const d = utf8enc.encode(c.domain).subarray(0, 255);
      w.u8(h.length).raw(h).u8(d.length).raw(d);
    },
  },
  {
    name: 'llgr',
    code: CapCode.LLGR,
    fits: (l) => l % 7 === 0,
    decode: (b, o, len) => ({
      kind: 'llgr',
      families: familyList(b, o, len, 7, (f) => ({
        afi: readU16(b, f),
        safi: b[f + 2] ?? 0,
        forwardingPreserved: ((b[f + 3] ?? 0) & 0x80) !== 0,
        staleTime: ((b[f + 4] ?? 0) << 16) | readU16(b, f + 5),
      })),
    }),
    encode: (c, w) => {
      if (c.kind === 'llgr') for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingPreserved ? 0x80 : 0).u24(f.staleTime);
    },
  },
];

const BY_CODE = new Map(ROWS.map((r) => [r.code, r]));
const BY_KIND = new Map(ROWS.map((r) => [r.name, r]));

/** Decodes the capabilities inside one Capabilities optional parameter value. Throws 2/0 on overrun. */
export function decodeCapabilities(b: Uint8Array, off: number, end: number, out: Capability[]): void {
  let o = off;
  while (o < end) {
    if (o + 2 > end) throw openError.malformed('truncated capability header');
    const code = b[o] ?? 0;
    const len = b[o + 1] ?? 0;
    const v = o + 2;
    if (v + len > end) throw openError.malformed(`capability ${code} overruns its parameter`);
    const row = BY_CODE.get(code);
    // A known code with a length we cannot read is kept as unknown bytes rather than failing the session.
    out.push(row && row.fits(len) ? row.decode(b, v, len) : { kind: 'unknown', code, bytes: b.slice(v, v + len) });
    o = v + len;
  }
}

export function capabilityCode(c: Capability): number {
  return c.kind === 'unknown' ? c.code : (BY_KIND.get(c.kind) as CapRow).code;
}

/** Writes one capability as code, length, value. */
export function encodeCapability(c: Capability, w: ByteWriter): void {
  const start = w.length;
  w.u8(capabilityCode(c)).u8(0);
  if (c.kind === 'unknown') w.raw(c.bytes);
  else (BY_KIND.get(c.kind) as CapRow).encode(c, w);
  w.patchU8(start + 1, w.length - start - 2);
}

export function encodeCapabilityBytes(caps: readonly Capability[]): Uint8Array {
  const w = new ByteWriter(64);
  for (const c of caps) encodeCapability(c, w);
  return w.bytes();
}

export function capabilityName(c: Capability): string {
  return c.kind === 'unknown' ? `capability ${c.code}` : c.kind;
}
