/**
 * `show route [all] [for ..] [protocol ..] [table ..] [count]` in BIRD 2.0's layout (a `Table` line,
 * next hops on their own lines) and BIRD 1.6's (one line per route, no table line).
 * Routes are pulled lazily from the backend: the reply is a generator the server drains at the
 * client's pace.
 */
import { parsePrefix4, parsePrefix6, prefix4Within, prefix6Within } from '../../proto/prefix.js';
import type { BgpRouteAttrs, RouteQuery, RouteView } from './backend.js';
import { finalLine, line, type Dialect, type ReplyLine } from './framing.js';
import type { ShowRouteArgs } from './parser.js';
import { formatShortTime } from './timefmt.js';

export interface RouteFormatContext {
  readonly dialect: Dialect;
  readonly now: Date;
  /** Tables this socket serves, in order (bird2: master4, master6; bird1: one of them). */
  readonly tables: readonly string[];
  /** The tables a protocol's channels feed: `show route protocol X` looks only there. */
  readonly protocolTables?: (name: string) => readonly string[];
}

export type RouteSource = (query: RouteQuery) => Iterable<RouteView>;

export const tableOf = (r: RouteView): string => r.table ?? (r.prefix.includes(':') ? 'master6' : 'master4');

const ORIGIN_CHAR: Record<BgpRouteAttrs['origin'], string> = { IGP: 'i', EGP: 'e', Incomplete: '?' };

/** The text after the `[proto time]` part: ` (pref[/metric]) [AS<n><origin>]` for BGP, ` (pref)` otherwise. */
function routeInfo(r: RouteView): string {
  if (!r.bgp) return ` (${r.preference})`;
  const metric = r.igpMetric !== undefined ? `/${r.igpMetric}` : '';
  const last = r.bgp.asPath.length > 0 ? `AS${r.bgp.asPath[r.bgp.asPath.length - 1]}` : '';
  return ` (${r.preference}${metric}) [${last}${ORIGIN_CHAR[r.bgp.origin]}]`;
}

function bracket(r: RouteView, ctx: RouteFormatContext): string {
  const gw = r.nextHops?.[0]?.gateway;
  const from = r.from !== undefined && r.from !== gw ? ` from ${r.from}` : '';
  const best = r.primary ? (r.kernelRejected ? ' !' : ' *') : '';
  return `[${r.protocol} ${formatShortTime(r.since, ctx.now, ctx.dialect)}${from}]${best}${routeInfo(r)}`;
}

function nextHopText(nh: NonNullable<RouteView['nextHops']>[number], multipath: boolean): string {
  const onlink = nh.onlink ? ' onlink' : '';
  const weight = multipath ? ` weight ${nh.weight ?? 1}` : '';
  return nh.gateway !== undefined ? `via ${nh.gateway} on ${nh.dev}${onlink}${weight}` : `dev ${nh.dev}${onlink}${weight}`;
}

/** `BGP.*` attribute lines of `show route all`, in attribute-code order. */
export function bgpAttributeLines(a: BgpRouteAttrs): string[] {
  const out = [`\tBGP.origin: ${a.origin}`, `\tBGP.as_path: ${a.asPath.join(' ')}`, `\tBGP.next_hop: ${a.nextHop}`];
  if (a.med !== undefined) out.push(`\tBGP.med: ${a.med}`);
  if (a.localPref !== undefined) out.push(`\tBGP.local_pref: ${a.localPref}`);
  if (a.atomicAggregate) out.push('\tBGP.atomic_aggr: ');
  if (a.communities?.length) out.push(`\tBGP.community: ${a.communities.map(([x, y]) => `(${x},${y})`).join(' ')}`);
  if (a.originatorId !== undefined) out.push(`\tBGP.originator_id: ${a.originatorId}`);
  if (a.clusterList?.length) out.push(`\tBGP.cluster_list: ${a.clusterList.join(' ')}`);
  if (a.largeCommunities?.length) out.push(`\tBGP.large_community: ${a.largeCommunities.map(([x, y, z]) => `(${x}, ${y}, ${z})`).join(' ')}`);
  return out;
}

/** The lines of one route; `label` is the network for the first shown route of a network, else ''. */
export function routeLines(r: RouteView, label: string, all: boolean, ctx: RouteFormatContext): ReplyLine[] {
  const out: ReplyLine[] = [];
  const hops = r.nextHops ?? [];
  const multipath = hops.length > 1;
  if (ctx.dialect === 'bird2') {
    out.push(line(1007, `${label.padEnd(20, ' ')} ${r.dest} ${bracket(r, ctx)}`));
    if (r.dest === 'unicast') for (const nh of hops) out.push(line(1007, '\t' + nextHopText(nh, multipath)));
    if (all) out.push(line(1008, `\tType: ${r.source} univ`));
  } else {
    const first = hops[0];
    const via = r.dest !== 'unicast' ? r.dest : multipath ? 'multipath' : first ? nextHopText(first, false) : 'dev ?';
    out.push(line(1007, `${label.padEnd(18, ' ')} ${via} ${bracket(r, ctx)}`));
    if (r.dest === 'unicast' && multipath) for (const nh of hops) out.push(line(1007, '\t' + nextHopText(nh, true)));
    if (all) out.push(line(1008, `\tType: ${r.source} unicast univ`));
  }
  if (all && r.bgp) for (const l of bgpAttributeLines(r.bgp)) out.push(line(1012, l));
  return out;
}

/** `a.b.c.d/len` from the RIB (already valid) without regexes; undefined for IPv6. */
function quickPrefix4(text: string): { addr: number; len: number } | undefined {
  let addr = 0;
  let octet = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) octet = octet * 10 + (c - 48);
    else if (c === 46) { addr = addr * 256 + octet; octet = 0; }
    else if (c === 47) break;
    else return undefined;
  }
  addr = addr * 256 + octet;
  const len = i < text.length ? Number(text.slice(i + 1)) : 32;
  return { addr, len };
}

type Matcher = (prefix: string) => number; // -1: no match, else the prefix length (for longest match)

/** A matcher for `for <addr|net>` (containment) or `<net>` (equality). */
function prefixMatcher(target: string, exact: boolean): Matcher {
  if (target.includes(':')) {
    const t = parsePrefix6(target, false);
    return (prefix) => {
      if (!prefix.includes(':')) return -1;
      const p = parsePrefix6(prefix, false);
      if (exact) return p.len === t.len && prefix6Within(t.words, t.len, p.words, p.len) ? p.len : -1;
      return prefix6Within(t.words, t.len, p.words, p.len) ? p.len : -1;
    };
  }
  const t = parsePrefix4(target, false);
  return (prefix) => {
    const p = quickPrefix4(prefix);
    if (!p) return -1;
    if (exact) return p.len === t.len && p.addr === t.addr ? p.len : -1;
    return prefix4Within(t.addr, t.len, p.addr, p.len) ? p.len : -1;
  };
}

interface TableResult {
  readonly table: string;
  /** Routes to print (already filtered), grouped by network. */
  readonly shown: Iterable<RouteView>;
}

/** Routes of one table that pass the filters; with `for`, only the longest matching network. */
function selectRoutes(source: RouteSource, table: string, args: ShowRouteArgs, counters: Counters): TableResult {
  const query: RouteQuery = {
    table,
    ...(args.protocol !== undefined ? { protocol: args.protocol } : {}),
    ...(args.forAddress !== undefined ? { forAddress: args.forAddress } : {}),
    ...(args.primary ? { primaryOnly: true } : {}),
  };
  const passes = (r: RouteView) => (args.protocol === undefined || r.protocol === args.protocol) && (!args.primary || r.primary);
  const target = args.forAddress ?? args.net;
  if (target === undefined) {
    return {
      table,
      shown: (function* () {
        let lastNet: string | undefined;
        for (const r of source(query)) {
          if (tableOf(r) !== table) continue;
          counters.routes++;
          if (r.prefix !== lastNet) { counters.nets++; lastNet = r.prefix; }
          if (passes(r)) { counters.shown++; yield r; }
        }
      })(),
    };
  }
  // Longest match needs the whole table scanned before anything is printed.
  const match = prefixMatcher(target, args.net !== undefined && args.forAddress === undefined);
  let bestLen = -1;
  let best: RouteView[] = [];
  for (const r of source(query)) {
    if (tableOf(r) !== table) continue;
    const len = match(r.prefix);
    if (len < 0 || len < bestLen) continue;
    if (len > bestLen || (best[0] && best[0].prefix !== r.prefix)) { bestLen = len; best = []; }
    best.push(r);
  }
  if (best.length > 0) counters.nets++;
  counters.routes += best.length;
  const shown = best.filter(passes);
  counters.shown += shown.length;
  return { table, shown };
}

interface Counters { shown: number; routes: number; nets: number }

/** The whole reply of `show route ...`, including its final line. */
export function* showRouteReply(source: RouteSource, args: ShowRouteArgs, ctx: RouteFormatContext): Generator<ReplyLine> {
  const explicit = args.tables.length > 0 && !args.tables.includes('*');
  let tables = explicit ? args.tables : ctx.tables;
  if (!explicit && !args.tables.includes('*') && args.protocol !== undefined && ctx.protocolTables) {
    const own = ctx.protocolTables(args.protocol);
    tables = tables.filter((t) => own.includes(t));
  }
  const total: Counters = { shown: 0, routes: 0, nets: 0 };
  let printedTables = 0;
  for (const table of tables) {
    const c: Counters = { shown: 0, routes: 0, nets: 0 };
    const { shown } = selectRoutes(source, table, args, c);
    let headerDone = ctx.dialect !== 'bird2' || args.count;
    const header = (): ReplyLine[] => {
      headerDone = true;
      return printedTables++ > 0 ? [line(1007, ''), line(1007, `Table ${table}:`)] : [line(1007, `Table ${table}:`)];
    };
    let lastNet: string | undefined;
    for (const r of shown) {
      if (args.count) continue;
      if (!headerDone) yield* header();
      const label = r.prefix !== lastNet ? r.prefix : '';
      lastNet = r.prefix;
      const lines = routeLines(r, label, args.all, ctx);
      // Most routes are one or two lines: avoid the iterator protocol of yield* for them.
      yield lines[0]!;
      for (let i = 1; i < lines.length; i++) yield lines[i]!;
    }
    if (explicit && !headerDone) yield* header();
    if (args.count && ctx.dialect === 'bird2') yield line(1007, `${c.shown} of ${c.routes} routes for ${c.nets} networks in table ${table}`);
    total.shown += c.shown; total.routes += c.routes; total.nets += c.nets;
  }
  if (args.count) {
    if (ctx.dialect === 'bird1') {
      yield finalLine(14, `${total.shown} of ${total.routes} routes for ${total.nets} networks`);
    } else if (tables.length > 1) {
      yield finalLine(14, `Total: ${total.shown} of ${total.routes} routes for ${total.nets} networks in ${tables.length} tables`);
    } else {
      yield finalLine(0);
    }
    return;
  }
  if ((args.forAddress !== undefined || args.net !== undefined) && total.routes === 0) {
    yield finalLine(8001, ctx.dialect === 'bird2' ? 'Network not found' : 'Network not in table');
    return;
  }
  yield finalLine(0);
}
