/**
 * iproute2's batch language for kernel routes, generated only from typed, validated values, and
 * its replies parsed back. Pure functions: the process handling is in kernel.ts.
 *
 * Why validate first: a line `ip -batch` cannot parse aborts the whole batch even with -force,
 * while a line the kernel refuses only fails itself (`Command failed -:N`).
 */
import type { SinkRoute } from '../model.js';
import { familyOf, isIpv4, isIpv6, parsePrefix4, parsePrefix6 } from '../../proto/prefix.js';

export interface LineOptions {
  /** Routing protocol name or number (bird = 12). */
  readonly protocol: string;
  readonly table?: number | string;
}

const DEV_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,14}$/;
const WORD_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,31}$/;

/** Why `r` cannot be written as a batch line, or undefined when it can. */
export function invalidReason(r: SinkRoute, opts: LineOptions): string | undefined {
  let family: 4 | 6;
  try {
    family = familyOf(r.prefix);
    if (family === 4) parsePrefix4(r.prefix);
    else parsePrefix6(r.prefix);
  } catch (e) {
    return `bad prefix: ${(e as Error).message}`;
  }
  if (r.type !== 'blackhole' && r.type !== 'unicast') return `unsupported route type '${String(r.type)}'`;
  if (r.type === 'unicast') {
    if (r.via === undefined && r.dev === undefined) return 'a unicast route needs a gateway or a device';
    if (r.via !== undefined && !(family === 4 ? isIpv4(r.via) : isIpv6(r.via))) return `bad gateway '${r.via}' for an IPv${family} route`;
    if (r.dev !== undefined && !DEV_RE.test(r.dev)) return `bad device name '${r.dev}'`;
    if (r.onlink && r.via === undefined) return 'onlink needs a gateway';
  }
  if (r.metric !== undefined && !(Number.isInteger(r.metric) && r.metric >= 0 && r.metric <= 0xffffffff)) return `bad metric ${r.metric}`;
  if (!WORD_RE.test(opts.protocol)) return `bad protocol '${opts.protocol}'`;
  if (opts.table !== undefined && !WORD_RE.test(String(opts.table))) return `bad table '${opts.table}'`;
  return undefined;
}

function tail(r: SinkRoute, opts: LineOptions): string {
  let s = ` proto ${opts.protocol}`;
  if (opts.table !== undefined) s += ` table ${opts.table}`;
  if (r.metric !== undefined) s += ` metric ${r.metric}`;
  return s;
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
