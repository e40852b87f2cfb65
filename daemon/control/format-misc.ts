/** `show status`, `show memory` and `show interfaces [summary]` in both dialects, and defaults for them. */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { InterfaceView, MemoryView, StatusView } from './backend.js';
import { finalLine, line, type Dialect, type ReplyLine } from './framing.js';
import { formatBaseTime, formatTimer } from './timefmt.js';

export const DIALECT_VERSION: Record<Dialect, string> = { bird1: 'v0.3.3+birdv1.6.8', bird2: '2.0.12' };

export function greeting(dialect: Dialect, version?: string): string {
  return `0001 BIRD ${version ?? DIALECT_VERSION[dialect]} ready.\n`;
}

const PHASE_TEXT = { running: 'Daemon is up and running', shutdown: 'Shutdown in progress', reconfiguring: 'Reconfiguration in progress' } as const;

export function statusReply(s: StatusView, now: Date, dialect: Dialect): ReplyLine[] {
  const out: ReplyLine[] = [line(1000, `BIRD ${s.version ?? DIALECT_VERSION[dialect]}`), line(1011, `Router ID is ${s.routerId}`)];
  if (dialect === 'bird2') out.push(line(1011, `Hostname is ${s.hostname}`));
  out.push(
    line(1011, `Current server time is ${formatBaseTime(now, dialect)}`),
    line(1011, `Last reboot on ${formatBaseTime(s.startedAt, dialect)}`),
    line(1011, `Last reconfiguration on ${formatBaseTime(s.lastReconfig, dialect)}`),
  );
  const gr = s.gracefulRestart;
  if (gr) {
    out.push(
      line(24, 'Graceful restart recovery in progress'),
      line(24, `  Waiting for ${gr.waitingChannels} channels to recover`),
      line(24, `  Wait timer is ${formatTimer(gr.waitLeft, dialect)}/${gr.waitTotal}`),
    );
  }
  out.push(finalLine(13, PHASE_TEXT[s.phase ?? 'running']));
  return out;
}

const UNITS = [' B', 'kB', 'MB', 'GB', 'TB'];

/** BIRD 2's size format: `%4u.%u` in the largest unit that keeps the number under 10000. */
export function formatSize2(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 10000 && u < UNITS.length - 1) { v /= 1024; u++; }
  const tenths = Math.round(v * 10);
  return `${String(Math.floor(tenths / 10)).padStart(4, ' ')}.${tenths % 10} ${UNITS[u]}`;
}

/** BIRD 1.6's size format: `%4u %cB`, whole units rounded as BIRD does. */
export function formatSize1(bytes: number): string {
  let v = Math.round(bytes);
  let u = 0;
  while (v >= 10000 && u < 4) { v = Math.floor((v + 512) / 1024); u++; }
  return `${String(v).padStart(4, ' ')} ${' kMGT'[u]}B`;
}

/** A default memory view from the Node.js heap, split in BIRD's pools by rough shares. */
export function memoryFromProcess(): MemoryView {
  const m = process.memoryUsage();
  const used = m.heapUsed;
  const over = Math.max(0, m.heapTotal - m.heapUsed);
  const part = (share: number) => ({ effective: Math.round(used * share), overhead: Math.round(over * share) });
  return { routingTables: part(0.5), routeAttributes: part(0.2), protocols: part(0.2), currentConfig: part(0.1), standby: { effective: 0, overhead: 0 } };
}

export function memoryReply(m: MemoryView, dialect: Dialect): ReplyLine[] {
  const pools: [string, { effective: number; overhead: number }][] = [
    ['Routing tables:', m.routingTables],
    ['Route attributes:', m.routeAttributes],
    ['Protocols:', m.protocols],
  ];
  const out: ReplyLine[] = [line(1018, 'BIRD memory usage')];
  if (dialect === 'bird2') {
    pools.push(['Current config:', m.currentConfig], ['Standby memory:', m.standby]);
    const eff = m.total?.effective ?? pools.reduce((s, [, v]) => s + v.effective, 0);
    const over = m.total?.overhead ?? pools.reduce((s, [, v]) => s + v.overhead, 0);
    out.push(line(1018, `${''.padEnd(17)} Effective    Overhead`));
    for (const [name, v] of [...pools, ['Total:', { effective: eff, overhead: over }] as const]) {
      out.push(line(1018, `${name.padEnd(17)} ${formatSize2(v.effective)}   ${formatSize2(v.overhead)}`));
    }
  } else {
    const total = m.total ? m.total.effective + m.total.overhead : pools.reduce((s, [, v]) => s + v.effective + v.overhead, 0);
    for (const [name, v] of [...pools, ['Total:', { effective: total, overhead: 0 }] as const]) {
      out.push(line(1018, `${name.padEnd(17)} ${formatSize1(v.effective + v.overhead)}`));
    }
  }
  out.push(finalLine(0));
  return out;
}

function familyOfCidr(cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4;
}

export function interfacesReply(list: readonly InterfaceView[], summary: boolean, dialect: Dialect, families: readonly (4 | 6)[]): ReplyLine[] {
  const out: ReplyLine[] = [];
  const addrs = (i: InterfaceView) => i.addresses.filter((a) => families.includes(familyOfCidr(a.cidr)));
  if (summary) {
    out.push(line(2005, dialect === 'bird2' ? 'Interface  State  IPv4 address       IPv6 address' : 'Interface  State  Address'));
    for (const i of list) {
      const state = i.up ? 'up' : 'down';
      const pick = (f: 4 | 6) => addrs(i).find((a) => familyOfCidr(a.cidr) === f && a.preferred && a.scope !== 'link')?.cidr ?? '';
      out.push(line(1005, dialect === 'bird2'
        ? `${i.name.padEnd(10)} ${state.padEnd(6)} ${pick(4).padEnd(18)} ${pick(6)}`
        : `${i.name.padEnd(10)} ${state.padEnd(5)}  ${pick(families[0] ?? 4)}`));
    }
  } else {
    for (const i of list) {
      out.push(line(1001, `${i.name} ${i.up ? 'up' : 'down'} (index=${i.index})`));
      out.push(line(1004, `\t${[...i.flags, `MTU=${i.mtu}`].join(' ')}`));
      for (const a of addrs(i)) {
        const tag = dialect === 'bird2' ? (a.preferred ? 'Preferred' : 'Secondary') : (a.preferred ? 'Primary' : 'Secondary');
        out.push(line(1003, `\t${a.cidr} (${tag}, scope ${a.scope})`));
      }
    }
  }
  out.push(finalLine(0));
  return out;
}

function scopeOf(address: string): InterfaceView['addresses'][number]['scope'] {
  if (address.startsWith('127.') || address === '::1') return 'host';
  if (/^fe[89ab]/i.test(address)) return 'link';
  if (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|f[cd])/i.test(address)) return 'site';
  return 'univ';
}

function readSys(name: string, file: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The host's interfaces (os.networkInterfaces plus /sys) in BIRD's terms, for backends without their own. */
export function interfacesFromOs(): InterfaceView[] {
  const out: InterfaceView[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const loopback = (addrs ?? []).some((a) => a.internal);
    const flags = Number.parseInt(readSys(name, 'flags') ?? '0x1', 16);
    const up = (flags & 1) === 1;
    out.push({
      name,
      index: Number(readSys(name, 'ifindex') ?? out.length + 1),
      up,
      flags: loopback
        ? ['MultiAccess', 'AdminUp', 'LinkUp', 'Loopback', 'Ignored']
        : ['MultiAccess', 'Broadcast', 'Multicast', ...(up ? ['AdminUp', 'LinkUp'] : ['AdminDown', 'LinkDown'])],
      mtu: Number(readSys(name, 'mtu') ?? 1500),
      addresses: (addrs ?? []).filter((a) => a.cidr).map((a) => ({ cidr: a.cidr!, preferred: true, scope: scopeOf(a.address) })),
    });
  }
  return out.sort((a, b) => a.index - b.index);
}
