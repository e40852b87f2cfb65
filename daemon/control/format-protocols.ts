/**
 * `show protocols [all]` in BIRD 2.0's layout (bird2) and Calico's BIRD 1.6 fork layout (bird1).
 * Pure: protocol views in, reply lines out.
 */
import type { CapabilitySummary, RouteCounters } from '../model.js';
import type { BgpProtocolView, ChannelView, SystemProtocolView } from './backend.js';
import { line, type Dialect, type ReplyLine } from './framing.js';
import { formatShortTime, formatTimer } from './timefmt.js';

export type ProtocolEntry =
  | { readonly type: 'bgp'; readonly view: BgpProtocolView }
  | { readonly type: 'system'; readonly view: SystemProtocolView };

export interface FormatContext {
  readonly dialect: Dialect;
  readonly now: Date;
}

export const entryName = (e: ProtocolEntry): string => e.view.name;

const padEnd = (s: string, n: number) => s.padEnd(n, ' ');
const padStart = (s: string, n: number) => s.padStart(n, ' ');

export function heading(dialect: Dialect): ReplyLine {
  return line(2002, dialect === 'bird2'
    ? 'Name       Proto      Table      State  Since         Info'
    : 'name     proto    table    state  since       info');
}

function isDown(p: BgpProtocolView): boolean {
  return p.protoState === 'down' || p.protoState === 'flush';
}

/** `Socket: Connection refused`, or '' when there is none or the protocol was disabled by hand. */
export function lastErrorText(p: BgpProtocolView): string {
  if (!p.lastError || p.disabled) return '';
  return `${p.lastError.errorClass}: ${p.lastError.message}`;
}

/** BGP info column: the state padded to 14, then the last error; only the error when down. */
export function bgpInfo(p: BgpProtocolView): string {
  const err = lastErrorText(p);
  return isDown(p) ? err : padEnd(p.bgpState, 14) + err;
}

function bgpStateWord(p: BgpProtocolView): string {
  return isDown(p) ? 'Down' : p.bgpState;
}

function isIpv6(addr: string): boolean {
  return addr.includes(':');
}

function row(ctx: FormatContext, name: string, proto: string, table: string, state: string, since: Date, info: string): string {
  const t = formatShortTime(since, ctx.now, ctx.dialect);
  return ctx.dialect === 'bird2'
    ? `${padEnd(name, 10)} ${padEnd(proto, 10)} ${padEnd(table, 10)} ${padEnd(state, 6)} ${padEnd(t, 12)}  ${info}`
    : `${padEnd(name, 8)} ${padEnd(proto, 8)} ${padEnd(table, 8)} ${padEnd(state, 5)}  ${padEnd(t, 10)}  ${info}`;
}

export function protocolRow(e: ProtocolEntry, ctx: FormatContext): string {
  if (e.type === 'bgp') {
    const p = e.view;
    return row(ctx, p.name, 'BGP', ctx.dialect === 'bird2' ? '---' : 'master', p.protoState, p.since, bgpInfo(p));
  }
  const s = e.view;
  const table = ctx.dialect === 'bird1' ? 'master' : (s.channels.length === 1 && (s.proto === 'Static' || s.proto === 'Kernel') ? s.channels[0]!.table : '---');
  return row(ctx, s.name, s.proto, table, s.state, s.since, '');
}

/** The BGP channel (of `family`, default the peer address's) a view implies when the backend gives none. */
export function defaultBgpChannel(p: BgpProtocolView, family?: 4 | 6): ChannelView {
  const v6 = family === undefined ? isIpv6(p.peerIp) : family === 6;
  const internal = (p.session ?? (p.peerAs === p.localAs ? 'internal' : 'external')) === 'internal';
  const multihop = p.multihop ?? internal;
  // A family of a multiprotocol session the neighbour did not announce stays down, as in BIRD.
  const refused = family !== undefined && p.protoState === 'up' && p.peerCaps !== undefined && !p.peerCaps.multiprotocol.includes(v6 ? 'ipv6' : 'ipv4');
  const state = p.protoState === 'up' && !refused ? 'UP' : p.neighborGracefulRestartActive ? 'START' : 'DOWN';
  // Over the other family's transport the next hop is not the session address: only a given one is shown.
  const nextHop = family === undefined || v6 === isIpv6(p.peerIp) ? (p.nextHop ?? p.sourceAddress) : undefined;
  return {
    name: v6 ? 'ipv6' : 'ipv4',
    state,
    table: v6 ? 'master6' : 'master4',
    preference: 100,
    inputFilter: 'ACCEPT',
    outputFilter: p.exportFilter ?? 'calico_export_to_bgp_peers',
    counters: p.counters,
    ...(nextHop !== undefined ? { bgpNextHop: nextHop } : {}),
    ...(multihop ? { igpTable: v6 ? 'master6' : 'master4' } : {}),
  };
}

const n10 = (n: number) => padStart(String(n), 10);
const DASH10 = '       ---';

/** Route counters: `Routes:` and the change statistics, at the given indent. */
function counterLines(c: RouteCounters, indent: string): string[] {
  return [
    `${indent}Routes:         ${c.imported} imported, ${c.exported} exported, ${c.preferred} preferred`,
    `${indent}Route change stats:     received   rejected   filtered    ignored   accepted`,
    `${indent}  Import updates:     ${n10(c.importUpdates.received)} ${n10(c.importUpdates.rejected)} ${n10(c.importUpdates.filtered)} ${n10(c.importUpdates.ignored)} ${n10(c.importUpdates.accepted)}`,
    `${indent}  Import withdraws:   ${n10(c.importWithdraws.received)} ${n10(c.importWithdraws.rejected)} ${DASH10} ${n10(c.importWithdraws.ignored)} ${n10(c.importWithdraws.accepted)}`,
    `${indent}  Export updates:     ${n10(c.exportUpdates.received)} ${n10(c.exportUpdates.rejected)} ${n10(c.exportUpdates.filtered)} ${DASH10} ${n10(c.exportUpdates.accepted)}`,
    `${indent}  Export withdraws:   ${n10(c.exportWithdraws.received)} ${DASH10} ${DASH10} ${DASH10} ${n10(c.exportWithdraws.accepted)}`,
  ];
}

/** BIRD 2's channel_show_info. */
function channelLines(c: ChannelView): string[] {
  const out = [
    `  Channel ${c.name}`,
    `    State:          ${c.state}`,
    `    Table:          ${c.table}`,
    `    Preference:     ${c.preference}`,
    `    Input filter:   ${c.inputFilter}`,
    `    Output filter:  ${c.outputFilter}`,
  ];
  if (c.state !== 'DOWN' && c.counters) out.push(...counterLines(c.counters, '    '));
  return out;
}

function afiList(label: string, afs: readonly string[]): string {
  return label + afs.map((a) => ' ' + a).join('');
}

/** BIRD 2's capability tree. */
function capabilityLines(caps: CapabilitySummary): string[] {
  const out: string[] = [];
  if (caps.multiprotocol.length > 0) out.push('      Multiprotocol', afiList('        AF announced:', caps.multiprotocol));
  if (caps.routeRefresh) out.push('      Route refresh');
  if (caps.extendedMessage) out.push('      Extended message');
  const gr = caps.gracefulRestart;
  if (gr) {
    out.push('      Graceful restart');
    if (gr.families.length > 0) {
      out.push(`        Restart time: ${gr.restartTime}`);
      if (gr.restarting) out.push('        Restart recovery');
      out.push(afiList('        AF supported:', gr.families), afiList('        AF preserved:', gr.preserved));
    }
  }
  if (caps.as4) out.push('      4-octet AS numbers');
  if (caps.addPath && (caps.addPath.rx.length > 0 || caps.addPath.tx.length > 0)) {
    out.push('      ADD-PATH', afiList('        RX:', caps.addPath.rx), afiList('        TX:', caps.addPath.tx));
  }
  if (caps.enhancedRefresh) out.push('      Enhanced refresh');
  if (caps.llgr) out.push('      Long-lived graceful restart');
  if (caps.hostname !== undefined) out.push(`      Hostname: ${caps.hostname}`);
  return out;
}

function sessionWords(p: BgpProtocolView, dialect: Dialect): string {
  const internal = (p.session ?? (p.peerAs === p.localAs ? 'internal' : 'external')) === 'internal';
  const multihop = p.multihop ?? internal;
  const as4 = (p.localCaps?.as4 ?? true) && (p.peerCaps?.as4 ?? false);
  let s = internal ? 'internal' : 'external';
  if (multihop) s += ' multihop';
  if (as4) s += ' AS4';
  if (dialect === 'bird1') {
    if (p.peerCaps?.addPath?.tx.length && p.localCaps?.addPath?.rx.length) s += ' add-path-rx';
    if (p.peerCaps?.addPath?.rx.length && p.localCaps?.addPath?.tx.length) s += ' add-path-tx';
  }
  return s;
}

/** BIRD 1.6's one-line `Neighbor caps:`. */
function neighborCaps16(caps: CapabilitySummary | undefined): string {
  if (!caps) return '';
  let s = '';
  if (caps.routeRefresh) s += ' refresh';
  if (caps.enhancedRefresh) s += ' enhanced-refresh';
  if (caps.gracefulRestart) s += caps.gracefulRestart.families.length > 0 ? ' restart-able' : ' restart-aware';
  if (caps.as4) s += ' AS4';
  if (caps.addPath?.rx.length) s += ' add-path-rx';
  if (caps.addPath?.tx.length) s += ' add-path-tx';
  if (caps.extendedMessage) s += ' ext-messages';
  return s;
}

function bgpDetailLines(p: BgpProtocolView, ctx: FormatContext): string[] {
  const d = ctx.dialect;
  const out: string[] = [];
  if (p.description) out.push(`  Description:    ${p.description}`);
  if (d === 'bird2' && p.message !== undefined) out.push(`  Message:        ${p.message}`);
  const channels = p.channels ?? (p.families && p.families.length > 0 ? p.families.map((f) => defaultBgpChannel(p, f)) : [defaultBgpChannel(p)]);
  if (d === 'bird1') {
    const c = channels[0]!;
    out.push(`  Preference:     ${c.preference}`, `  Input filter:   ${c.inputFilter}`, `  Output filter:  ${c.outputFilter}`);
    if (!isDown(p)) out.push(...counterLines(p.counters, '  '));
  }
  out.push(`  BGP state:          ${bgpStateWord(p)}`);
  out.push(p.neighborRange !== undefined && d === 'bird2' ? `    Neighbor range:   ${p.neighborRange}` : `    Neighbor address: ${p.peerIp}`);
  if (d === 'bird2' && p.peerPort !== 179) out.push(`    Neighbor port:    ${p.peerPort}`);
  out.push(`    Neighbor AS:      ${p.peerAs}`);
  if (d === 'bird2') out.push(`    Local AS:         ${p.localAs}`);
  if (p.neighborGracefulRestartActive) out.push('    Neighbor graceful restart active');
  if (p.protoState === 'start') {
    if (p.errorWait) out.push(`    Error wait:       ${formatTimer(p.errorWait.left, d)}/${p.errorWait.total}`);
    if (p.connectDelay) out.push(`    Connect delay:    ${formatTimer(p.connectDelay.left, d)}/${p.connectDelay.total}`);
    if (p.restartTimerLeft !== undefined) out.push(`    Restart timer:    ${formatTimer(p.restartTimerLeft, d)}/-`);
  } else if (p.protoState === 'up') {
    out.push(`    Neighbor ID:      ${p.neighborId ?? p.peerIp}`);
    if (d === 'bird2') {
      out.push('    Local capabilities');
      if (p.localCaps) out.push(...capabilityLines(p.localCaps));
      out.push('    Neighbor capabilities');
      if (p.peerCaps) out.push(...capabilityLines(p.peerCaps));
    } else {
      out.push(`    Neighbor caps:   ${neighborCaps16(p.peerCaps)}`);
    }
    out.push(`    Session:          ${sessionWords(p, d)}`);
    if (p.sourceAddress !== undefined) out.push(`    Source address:   ${p.sourceAddress}`);
    const hold = p.holdTime ?? 240;
    const keep = p.keepaliveTime ?? Math.floor(hold / 3);
    out.push(`    Hold timer:       ${formatTimer(p.holdTimerLeft ?? hold, d)}/${hold}`);
    out.push(`    Keepalive timer:  ${formatTimer(p.keepaliveTimerLeft ?? keep, d)}/${keep}`);
  }
  const err = lastErrorText(p);
  if (err) out.push(`    Last error:       ${err}`);
  if (d === 'bird2') {
    for (const c of channels) {
      out.push(...channelLines(c));
      if (p.neighborGracefulRestartActive && c.neighborGr !== undefined) out.push(`    Neighbor GR:    ${c.neighborGr}`);
      if (c.state === 'UP' && c.bgpNextHop !== undefined) out.push(`    BGP Next hop:   ${c.bgpNextHop}`);
      if (c.igpTable !== undefined) out.push(`    IGP ${c.name === 'ipv6' ? 'IPv6' : 'IPv4'} table: ${c.igpTable}`);
    }
  }
  return out;
}

function systemDetailLines(s: SystemProtocolView, ctx: FormatContext): string[] {
  if (ctx.dialect === 'bird2') return s.channels.flatMap(channelLines);
  const c = s.channels[0];
  const out = [
    `  Preference:     ${c?.preference ?? 240}`,
    `  Input filter:   ${c?.inputFilter ?? 'ACCEPT'}`,
    `  Output filter:  ${c?.outputFilter ?? 'REJECT'}`,
  ];
  if (s.state !== 'down' && c?.counters) out.push(...counterLines(c.counters, '  '));
  return out;
}

/** The lines of `show protocols [all]` for the selected protocols (without the final line). */
export function* protocolLines(entries: Iterable<ProtocolEntry>, all: boolean, ctx: FormatContext): Generator<ReplyLine> {
  yield heading(ctx.dialect);
  for (const e of entries) {
    yield line(1002, protocolRow(e, ctx));
    if (!all) continue;
    const details = e.type === 'bgp' ? bgpDetailLines(e.view, ctx) : systemDetailLines(e.view, ctx);
    for (const d of details) yield line(1006, d);
    yield line(1006, '');
  }
}
