/**
 * The judge for one fuzz case (a byte stream, how it is cut into TCP chunks, the codec context):
 * frame it as a session would, decode every message, and check that each outcome is one of the
 * three allowed ones: a clean decode, an RFC 7606 treat-as-withdraw / attribute-discard recorded
 * on the UPDATE, or a thrown BgpError whose NOTIFICATION code/subcode is valid for that message
 * type. Anything else (another exception type, a wrong code, a broken invariant of the decoded
 * value, chunking changing the result, a slow decode) is a finding.
 */
import {
  BgpError,
  bytesEqual,
  decodeMessage,
  encodeMessage,
  MessageFramer,
  toHex,
  type BgpMessage,
  type CodecContext,
  type UpdateMessage,
} from '../../proto/index.js';
import { ctxName } from './seeds.js';

export interface FuzzCase {
  readonly stream: Uint8Array;
  /** Chunk sizes summing to stream.length. */
  readonly chunks: readonly number[];
  readonly ctx: CodecContext;
}

export type FindingKind = 'crash' | 'bad-notification' | 'invariant' | 'framer-mismatch' | 'slow' | 'roundtrip';

export interface Finding {
  readonly kind: FindingKind;
  readonly detail: string;
  /** The single message that triggered it (hex), when there is one; else the stream. */
  readonly hex: string;
  readonly ctx: string;
}

/** What happened to one framed message (or to the framer). */
export type Outcome =
  | { kind: 'clean'; type: BgpMessage['type'] }
  | { kind: 'treat-as-withdraw' }
  | { kind: 'attribute-discard' }
  | { kind: 'error'; code: number; subcode: number; where: 'framer' | 'decoder' };

export interface CaseResult {
  readonly messages: number;
  readonly outcomes: Outcome[];
  readonly findings: Finding[];
}

/** Decodes slower than this are findings (a hang shows up as one; GC pauses are far shorter). */
export const SLOW_MS = 250;

const HEADER_ERRORS = new Set([0x0101, 0x0102, 0x0103]);
/** NOTIFICATIONs a decoder may ask for, by message type (header errors are valid for all). */
const VALID_BY_TYPE: Readonly<Record<number, ReadonlySet<number>>> = {
  1: new Set([0x0200, 0x0201, 0x0202, 0x0203, 0x0204, 0x0206, 0x0207]),
  2: new Set([0x0301, 0x0302, 0x0303, 0x0304, 0x0305, 0x0306, 0x0308, 0x0309, 0x030a, 0x030b]),
  3: new Set(),
  4: new Set(),
  5: new Set([0x0701]),
};

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 4).join('\n')}` : String(e);
}

/** Frames `stream` cut into `chunks`, the way a session reads a socket. */
export function frame(stream: Uint8Array, chunks: readonly number[], extended: boolean): { messages: Uint8Array[]; error?: BgpError; crash?: unknown } {
  const f = new MessageFramer({ extendedMessage: extended });
  const messages: Uint8Array[] = [];
  let o = 0;
  try {
    for (const size of chunks) {
      f.push(stream.subarray(o, o + size));
      o += size;
      for (let m = f.next(); m !== null; m = f.next()) messages.push(m);
    }
  } catch (e) {
    if (e instanceof BgpError) return { messages, error: e };
    return { messages, crash: e };
  }
  // Memory bound: what is left buffered is less than one maximum-size message.
  if (f.bufferedBytes >= (extended ? 65535 : 4096)) return { messages, crash: new Error(`framer holds ${f.bufferedBytes} bytes without a message`) };
  return { messages };
}

function sameFraming(a: ReturnType<typeof frame>, b: ReturnType<typeof frame>): boolean {
  if (a.messages.length !== b.messages.length) return false;
  for (let i = 0; i < a.messages.length; i++) if (!bytesEqual(a.messages[i] as Uint8Array, b.messages[i] as Uint8Array)) return false;
  return (a.error?.code ?? -1) === (b.error?.code ?? -1) && (a.error?.subcode ?? -1) === (b.error?.subcode ?? -1);
}

function prefixesOk(p: Uint32Array, afi: number): string | undefined {
  const stride = afi === 2 ? 5 : 2;
  if (p.length % stride !== 0) return `prefix array length ${p.length} is not a multiple of ${stride}`;
  const maxLen = afi === 2 ? 128 : 32;
  for (let i = 0; i < p.length; i += stride) {
    const len = p[i + stride - 1] as number;
    if (len > maxLen) return `prefix length ${len}`;
    if (afi !== 2) {
      const addr = p[i] as number;
      const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      if ((addr & ~mask) >>> 0 !== 0) return `host bits set in ${addr >>> 0}/${len}`;
    }
  }
  return undefined;
}

/** Invariants every decoded UPDATE must satisfy; returns what is broken. */
export function updateInvariants(u: UpdateMessage, ctx: CodecContext): string[] {
  const bad: string[] = [];
  for (const e of u.errors) {
    if (!(e instanceof BgpError)) bad.push('recorded error is not a BgpError');
    else {
      if (e.code !== 3 || !VALID_BY_TYPE[2]?.has(e.code * 256 + e.subcode)) bad.push(`recorded error ${e.code}/${e.subcode}`);
      if (e.handling === 'session-reset') bad.push(`session-reset error recorded instead of thrown: ${e.message}`);
    }
  }
  if (u.treatAsWithdraw !== u.errors.some((e) => e.handling === 'treat-as-withdraw')) bad.push('treatAsWithdraw disagrees with the recorded errors');
  const check = (label: string, p: Uint32Array, afi: number) => {
    const why = prefixesOk(p, afi);
    if (why) bad.push(`${label}: ${why}`);
  };
  check('withdrawn', u.withdrawn, 1);
  check('nlri', u.nlri, 1);
  if (u.mpReach) check('mpReach', u.mpReach.nlri, u.mpReach.afi);
  if (u.mpUnreach) check('mpUnreach', u.mpUnreach.withdrawn, u.mpUnreach.afi);
  if (ctx.addPathRx.ipv4) {
    if ((u.withdrawnPathIds?.length ?? 0) * 2 !== u.withdrawn.length) bad.push('withdrawn path ids do not match the prefixes');
    if ((u.nlriPathIds?.length ?? 0) * 2 !== u.nlri.length) bad.push('nlri path ids do not match the prefixes');
  }
  if (u.endOfRib && (u.nlri.length > 0 || u.withdrawn.length > 0 || (u.mpReach?.nlri.length ?? 0) > 0)) bad.push('End-of-RIB with routes');
  const announces = u.nlri.length > 0 || (u.mpReach?.nlri.length ?? 0) > 0;
  if (announces && !u.treatAsWithdraw && u.attrs === null) bad.push('routes announced without attributes and not withdrawn');
  return bad;
}

/** For an UPDATE or OPEN that decoded without any error: encode it back and decode again; the values must agree. */
function roundTrip(m: BgpMessage, ctx: CodecContext): string | undefined {
  if (m.type === 'UPDATE' && (m.errors.length > 0 || m.discarded.length > 0)) return undefined;
  const tx: CodecContext = { ...ctx, addPathTx: { ...ctx.addPathRx } };
  let again: BgpMessage;
  try {
    again = decodeMessage(encodeMessage(m, tx), ctx);
  } catch (e) {
    return `re-encoding a clean decode failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  const a = stable(m);
  const b = stable(again);
  return a === b ? undefined : `decode(encode(x)) differs: ${a.slice(0, 300)} vs ${b.slice(0, 300)}`;
}

/** JSON of a decoded message with sorted keys; unknown attributes sorted by code, as the encoder writes them in code order. */
function stable(m: BgpMessage): string {
  const sorted = m.type === 'UPDATE' && m.attrs ? { ...m, attrs: { ...m.attrs, unknown: [...m.attrs.unknown].sort((x, y) => x.code - y.code) } } : m;
  return JSON.stringify(sorted, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array || v instanceof Uint32Array) return Array.from(v).join(',');
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return v;
  });
}

function timeDecode(msg: Uint8Array, ctx: CodecContext): number {
  const t0 = performance.now();
  try {
    decodeMessage(msg, ctx);
  } catch {
    // judged already
  }
  return performance.now() - t0;
}

export interface CheckOptions {
  /** Also check decode(encode(decode(x))) == decode(x) for clean decodes. */
  roundTrip?: boolean;
}

/** Frames and decodes one case; every message is decoded (not only up to the first error) to reach more code. */
export function checkCase(c: FuzzCase, opts: CheckOptions = {}): CaseResult {
  const findings: Finding[] = [];
  const outcomes: Outcome[] = [];
  const ctxLabel = ctxName(c.ctx);
  const add = (kind: FindingKind, detail: string, bytes: Uint8Array) => findings.push({ kind, detail, hex: toHex(bytes), ctx: ctxLabel });

  const whole = frame(c.stream, [c.stream.length], c.ctx.extendedMessage);
  const cut = frame(c.stream, c.chunks, c.ctx.extendedMessage);
  if (whole.crash !== undefined || cut.crash !== undefined) add('crash', `framer: ${describe(whole.crash ?? cut.crash)}`, c.stream);
  else if (!sameFraming(whole, cut)) add('framer-mismatch', `chunks ${c.chunks.join(',')} frame differently from one chunk`, c.stream);
  if (whole.error) {
    const key = whole.error.code * 256 + whole.error.subcode;
    if (!HEADER_ERRORS.has(key)) add('bad-notification', `framer raised ${whole.error.code}/${whole.error.subcode}`, c.stream);
    outcomes.push({ kind: 'error', code: whole.error.code, subcode: whole.error.subcode, where: 'framer' });
  }

  for (const msg of whole.messages) {
    const type = msg[18] ?? 0;
    const t0 = performance.now();
    let decoded: BgpMessage | undefined;
    try {
      decoded = decodeMessage(msg, c.ctx);
    } catch (e) {
      if (!(e instanceof BgpError)) {
        add('crash', `decodeMessage threw ${describe(e)}`, msg);
        continue;
      }
      const key = e.code * 256 + e.subcode;
      if (!HEADER_ERRORS.has(key) && !VALID_BY_TYPE[type]?.has(key)) add('bad-notification', `type ${type} raised ${e.code}/${e.subcode} (${e.message})`, msg);
      if (e.handling !== 'session-reset') add('invariant', `thrown error has handling ${e.handling}: ${e.message}`, msg);
      if (key === 0x0102 && !(e.data.length === 2)) add('invariant', '1/2 without the 2-octet length as data', msg);
      if (key === 0x0103 && !(e.data.length === 1 && e.data[0] === type)) add('invariant', '1/3 without the type as data', msg);
      outcomes.push({ kind: 'error', code: e.code, subcode: e.subcode, where: 'decoder' });
    }
    const ms = performance.now() - t0;
    // A slow decode is timed again: a GC pause or a busy machine does not repeat, a hang does.
    if (ms > SLOW_MS) {
      const again = Math.min(timeDecode(msg, c.ctx), timeDecode(msg, c.ctx));
      if (again > SLOW_MS) add('slow', `decode took ${again.toFixed(0)} ms`, msg);
    }
    if (!decoded) continue;
    if (decoded.type === 'UPDATE') {
      for (const why of updateInvariants(decoded, c.ctx)) add('invariant', why, msg);
      if (decoded.treatAsWithdraw) outcomes.push({ kind: 'treat-as-withdraw' });
      else if (decoded.discarded.length > 0) outcomes.push({ kind: 'attribute-discard' });
      else outcomes.push({ kind: 'clean', type: decoded.type });
    } else outcomes.push({ kind: 'clean', type: decoded.type });
    if (opts.roundTrip && (decoded.type === 'UPDATE' || decoded.type === 'OPEN')) {
      const why = roundTrip(decoded, c.ctx);
      if (why) add('roundtrip', why, msg);
    }
  }
  return { messages: whole.messages.length, outcomes, findings };
}

/** A short label for counting outcomes. */
export function outcomeLabel(o: Outcome): string {
  return o.kind === 'error' ? `${o.where} ${o.code}/${o.subcode}` : o.kind === 'clean' ? `clean ${o.type}` : o.kind;
}
