/**
 * What the chaos tests compare against: the proto-bird table a node's kernel should hold given the
 * datastore (its own blocks as blackholes, every other running node's blocks and borrowed addresses
 * via that node, nothing else), a node's BGP protocols as its control socket lists them, and a
 * process's resident memory.
 */
import { readFile } from 'node:fs/promises';
import { borrowedOf, nodeAddress, ownBlocksOf } from '../../config/index.js';
import type { ClusterSnapshot } from '../../config/index.js';
import { run } from '../../tools/lab/netns.js';

/**
 * destination → gateway ('blackhole' for own blocks). `running` names the nodes with a daemon: a
 * node that is in the datastore but runs nothing announces nothing.
 */
export function impliedRoutes(s: ClusterSnapshot, node: string, running: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of ownBlocksOf(s, node)) out.set(b, 'blackhole');
  for (const o of s.nodes) {
    const name = o.metadata.name;
    if (name === node || !running.has(name)) continue;
    const ip = nodeAddress(o, 4);
    if (!ip) continue;
    for (const p of advertisedBy(s, name)) out.set(p, ip);
  }
  return out;
}

/** What a node announces: its affine blocks, and as host routes the addresses it holds in blocks not affine to it. */
export function advertisedBy(s: ClusterSnapshot, node: string): string[] {
  return [...ownBlocksOf(s, node), ...borrowedOf(s, node)];
}

/** A kernel route map with `ip`'s bare host destinations written as /32, as the datastore spells them. */
export function withPrefixLengths(routes: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...routes].map(([dst, via]) => [dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`, via]));
}

/** Entries that differ between two route maps, for failure messages ("dst: want X, have Y"). */
export function routeDiff(want: ReadonlyMap<string, string>, have: ReadonlyMap<string, string>): string[] {
  const keys = [...new Set([...want.keys(), ...have.keys()])].sort();
  return keys.filter((k) => want.get(k) !== have.get(k)).map((k) => `${k}: want ${want.get(k) ?? '-'}, have ${have.get(k) ?? '-'}`);
}

export interface ProtocolRow {
  readonly name: string;
  readonly state: string;
  /** As the socket prints it (HH:MM:SS.mmm today): it changes whenever the session goes up or down. */
  readonly since: string;
  readonly info: string;
}

/** `show protocols` over a BIRD-compatible control socket, BGP rows only, by protocol name. */
export async function bgpProtocols(ctl: string): Promise<Map<string, ProtocolRow>> {
  const out = await run('birdc', ['-s', ctl, 'show', 'protocols'], { timeoutMs: 5000 });
  const rows = new Map<string, ProtocolRow>();
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] !== 'BGP' || cols.length < 5) continue;
    rows.set(cols[0]!, { name: cols[0]!, state: cols[3]!, since: cols[4]!, info: cols.slice(5).join(' ') });
  }
  return rows;
}

/** Calico's protocol name for a mesh peer. */
export const meshName = (ip: string) => `Mesh_${ip.replaceAll('.', '_')}`;

/** VmRSS of a process in kB (from /proc/<pid>/status). */
export async function vmRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** The PID of the petrel daemon inside a namespace (`ip netns exec` execs it, so it is the only node process there). */
export async function daemonPid(ns: string): Promise<number> {
  const pids = (await run('ip', ['netns', 'pids', ns])).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('petrel.mjs') || cmd.includes('daemon/main.js')) return pid;
  }
  throw new Error(`no petrel process in ${ns}`);
}
