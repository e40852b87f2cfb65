/**
 * iproute2's batch language for kernel routes, generated only from typed, validated values, and
 * its replies parsed back. Pure functions: the processes are run by batch-process.ts and kernel.ts.
 *
 * Why validate first: a line `ip -batch` cannot parse aborts the whole batch even with -force,
 * while a line the kernel refuses only fails itself (`Command failed -:N`).
 */
import type { SinkRoute } from '../model.js';
import { KeyedRoute } from './route.js';
import { familyOf, isIpv6, maskOf, parsePrefix4, parsePrefix6 } from '../../proto/prefix.js';

export interface LineOptions {
  /** Routing protocol name or number (bird = 12). */
  readonly protocol: string;
  readonly table?: number | string;
}

const DEV_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,14}$/;
const WORD_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,31}$/;

/**
 * The value of the dotted quad in text[from, to), or -1 when it is not one. Runs once or twice per
 * route, so it scans character codes instead of matching regexes. Leading zeros are refused: ip
 * would read `010` as octal.
 */
function scanIpv4(text: string, from: number, to: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** 4 for `a.b.c.d/len` with host bits clear, 6 for a valid IPv6 prefix, or why it is neither. */
function prefixFamily(prefix: string): 4 | 6 | string {
  const slash = prefix.indexOf('/');
  if (slash > 0 && prefix.length - slash <= 3 && prefix.indexOf(':') < 0) {
    const addr = scanIpv4(prefix, 0, slash);
    let len = 0;
    for (let i = slash + 1; i < prefix.length; i++) {
      const c = prefix.charCodeAt(i);
      len = c >= 48 && c <= 57 ? len * 10 + (c - 48) : 99;
    }
    if (addr >= 0 && slash + 1 < prefix.length && len <= 32 && (addr & maskOf(len)) >>> 0 === addr) return 4;
  }
  // The slow path also explains what is wrong.
  try {
    const family = familyOf(prefix);
    if (family === 4) parsePrefix4(prefix);
    else parsePrefix6(prefix);
    return family;
  } catch (e) {
    return `bad prefix: ${(e as Error).message}`;
  }
}

const validWords = new Set<string>();

/** Protocol and table names are few: each is checked once. */
function isWord(text: string): boolean {
  if (validWords.has(text)) return true;
  if (!WORD_RE.test(text)) return false;
  validWords.add(text);
  return true;
}

/** Why `r` cannot be written as a batch line, or undefined when it can. */
export function invalidReason(r: SinkRoute, opts: LineOptions): string | undefined {
  return routeInvalidReason(r) ?? optionsInvalidReason(opts);
}

/** The IPv4 gateway checked last and found valid: a peer's routes share their next hop, checked once. */
let validVia4: string | undefined;

/** What is wrong with the route itself (invalidReason without the options, which a batch checks once). */
export function routeInvalidReason(r: SinkRoute): string | undefined {
  // An engine route's prefix is a RIB key: valid by construction, and no text to scan.
  const family = r instanceof KeyedRoute ? (typeof r.key === 'number' ? 4 : 6) : prefixFamily(r.prefix);
  if (typeof family === 'string') return family;
  if (r.type !== 'blackhole' && r.type !== 'unicast') return `unsupported route type '${String(r.type)}'`;
  if (r.type === 'unicast') {
    const via = r.via;
    if (via === undefined && r.dev === undefined) return 'a unicast route needs a gateway or a device';
    if (via !== undefined && !(family === 4 && via === validVia4)) {
      if (!(family === 4 ? scanIpv4(via, 0, via.length) >= 0 : isIpv6(via))) return `bad gateway '${via}' for an IPv${family} route`;
      if (family === 4) validVia4 = via;
    }
    if (r.dev !== undefined && !DEV_RE.test(r.dev)) return `bad device name '${r.dev}'`;
    if (r.onlink && via === undefined) return 'onlink needs a gateway';
  }
  if (r.metric !== undefined && !(Number.isInteger(r.metric) && r.metric >= 0 && r.metric <= 0xffffffff)) return `bad metric ${r.metric}`;
  return undefined;
}

/** What is wrong with the protocol or table every route of a batch is written with. */
export function optionsInvalidReason(opts: LineOptions): string | undefined {
  if (!isWord(opts.protocol)) return `bad protocol '${opts.protocol}'`;
  if (opts.table !== undefined && !isWord(String(opts.table))) return `bad table '${opts.table}'`;
  return undefined;
}

const tails = new WeakMap<LineOptions, string>();

/** ` proto P [table T] [metric M]`; the part from the options is built once per options object. */
function tail(r: SinkRoute, opts: LineOptions): string {
  let s = tails.get(opts);
  if (s === undefined) {
    s = ` proto ${opts.protocol}`;
    if (opts.table !== undefined) s += ` table ${opts.table}`;
    tails.set(opts, s);
  }
  return r.metric === undefined ? s : `${s} metric ${r.metric}`;
}

/** `route replace ...` for a validated route (replace keeps retries idempotent). */
export function replaceLine(r: SinkRoute, opts: LineOptions): string {
  if (r.type === 'blackhole') return `route replace blackhole ${r.prefix}${tail(r, opts)}`;
  let s = `route replace ${r.prefix}`;
  if (r.via !== undefined) s += ` via ${r.via}`;
  if (r.dev !== undefined) s += ` dev ${r.dev}`;
  if (r.onlink) s += ' onlink';
  return s + tail(r, opts);
}

/** `route del ...`: prefix, protocol, table and metric identify our route (any type, any next hop). */
export function deleteLine(r: SinkRoute, opts: LineOptions): string {
  return `route del ${r.prefix}${tail(r, opts)}`;
}

/**
 * The command a long-lived batch sends after each submission: cheap, harmless, and answered with
 * exactly one line under `-o` (every namespace has `lo`). Seeing its answer, or its own failure,
 * means ip has dealt with every line before it.
 */
export const SENTINEL_LINE = 'link show dev lo';

export type BatchOutput = { readonly kind: 'failed'; readonly line: number } | { readonly kind: 'sentinel' } | { readonly kind: 'text'; readonly text: string };

/**
 * One line of a batch's merged output: the end of a failed command (`Command failed -:N`), the
 * sentinel's answer, or text (an error message that belongs to the next failure; '' for blank).
 */
export function classifyBatchOutput(raw: string): BatchOutput {
  const line = raw.trim();
  const failed = /^Command failed -:(\d+)$/.exec(line);
  if (failed) return { kind: 'failed', line: Number(failed[1]) };
  if (/^\d+:\s+lo[:@]/.test(line)) return { kind: 'sentinel' };
  return { kind: 'text', text: line.replace(/^RTNETLINK answers: /, '').replace(/^Error: /, '') };
}

/** A delete that failed because the route is already gone is not a failure. */
export function isAlreadyGone(reason: string): boolean {
  return /No such process|No such file or directory/.test(reason);
}

interface JsonRoute {
  readonly type?: string;
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly metric?: number;
  readonly flags?: readonly string[];
}

/**
 * Routes from `ip -json route show` output. Prefixes are normalised to CIDR text (`default` →
 * /0, a bare host → /32 or /128); the kernel's default metric (0, or 1024 for IPv6) is omitted.
 */
export function parseRouteDump(json: string, family: 4 | 6): SinkRoute[] {
  const text = json.trim();
  if (!text) return [];
  const rows = JSON.parse(text) as JsonRoute[];
  const out: SinkRoute[] = [];
  for (const row of rows) {
    if (!row.dst) continue;
    let prefix = row.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : row.dst;
    if (!prefix.includes('/')) prefix += family === 4 ? '/32' : '/128';
    const route: { -readonly [K in keyof SinkRoute]: SinkRoute[K] } = { prefix, type: row.type === 'blackhole' ? 'blackhole' : 'unicast' };
    if (row.gateway !== undefined) route.via = row.gateway;
    if (row.dev !== undefined && route.type === 'unicast') route.dev = row.dev;
    if (row.flags?.includes('onlink')) route.onlink = true;
    const dflt = family === 4 ? 0 : 1024;
    if (row.metric !== undefined && row.metric !== dflt) route.metric = row.metric;
    out.push(route);
  }
  return out;
}
