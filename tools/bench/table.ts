/**
 * Synthetic full tables: N distinct IPv4 prefixes split over attribute sets, pre-encoded as the
 * UPDATE stream a peer would send, so the injector's own cost during a run is only socket writes.
 */
import { defaultCodecContext, encodeUpdates, formatIpv4, type PathAttributes } from '../../proto/index.js';

/** Base of the synthetic prefix space: /24s from 16.0.0.0 up (16.0.0.0/4 holds 1M of them). */
export const TABLE_BASE = 0x10000000;

export interface TableSpec {
  readonly prefixes: number;
  /** Prefixes per attribute set: N for one set, 4 for the "many attribute sets" shape. */
  readonly perSet: number;
  readonly nextHop: number;
  /** AS_PATH of every set (the injector's AS first for eBGP, empty for iBGP). */
  readonly asPath: readonly number[];
  readonly localPref?: number;
  /** Offset of the first /24 (lets two injectors send disjoint tables). */
  readonly firstIndex?: number;
}

/** addr,len pairs of the table's prefixes: consecutive /24s from TABLE_BASE. */
export function tablePrefixes(count: number, firstIndex = 0): Uint32Array {
  const out = new Uint32Array(2 * count);
  for (let i = 0; i < count; i++) {
    out[2 * i] = (TABLE_BASE + (firstIndex + i) * 256) >>> 0;
    out[2 * i + 1] = 24;
  }
  return out;
}

export interface EncodedTable {
  /** The whole UPDATE stream, concatenated, in chunks of roughly 1 MiB for the socket. */
  readonly chunks: Uint8Array[];
  readonly bytes: number;
  readonly updates: number;
  readonly attrSets: number;
  readonly prefixes: Uint32Array;
}

/**
 * Encodes the table. Set s carries MED = s, so sets are distinct after decoding (a speaker that
 * interns attributes sees `ceil(N / perSet)` of them).
 */
export function encodeTable(spec: TableSpec): EncodedTable {
  const prefixes = tablePrefixes(spec.prefixes, spec.firstIndex ?? 0);
  const chunks: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  let updates = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    const chunk = new Uint8Array(pendingBytes);
    let o = 0;
    for (const m of pending) {
      chunk.set(m, o);
      o += m.length;
    }
    chunks.push(chunk);
    pending = [];
    pendingBytes = 0;
  };
  const sink = (m: Uint8Array) => {
    pending.push(m);
    pendingBytes += m.length;
    bytes += m.length;
    updates++;
    if (pendingBytes >= 1 << 20) flush();
  };
  const perSet = Math.max(1, spec.perSet);
  const ctx = defaultCodecContext();
  const nextHop = formatIpv4(spec.nextHop);
  const asPath = spec.asPath.length ? [{ type: 2 as const, asns: [...spec.asPath] }] : [];
  let attrSets = 0;
  for (let from = 0; from < spec.prefixes; from += perSet) {
    const to = Math.min(spec.prefixes, from + perSet);
    const attrs: PathAttributes = { origin: 0, asPath, nextHop, med: attrSets, unknown: [], ...(spec.localPref !== undefined ? { localPref: spec.localPref } : {}) };
    for (const m of encodeUpdates(attrs, 1, prefixes.subarray(2 * from, 2 * to), ctx)) sink(m);
    attrSets++;
  }
  flush();
  return { chunks, bytes, updates, attrSets, prefixes };
}
