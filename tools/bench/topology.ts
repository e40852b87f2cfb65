/**
 * The namespaces a cell runs in. Every name starts with `pt-bench-<pid>-` so parallel runs never
 * collide, and `teardown()` removes all of them (and whatever still runs inside).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { addBridge, addNamespace, addVethPair, attachToBridge, deleteNamespace, nsExec } from '../lab/netns.js';

export const NS_PREFIX = `pt-bench-${process.pid}-`;

export class Topology {
  private readonly namespaces: string[] = [];

  constructor(readonly tag: string) {}

  name(role: string): string {
    return `${NS_PREFIX}${this.tag}-${role}`;
  }

  async namespace(role: string): Promise<string> {
    const ns = this.name(role);
    await addNamespace(ns);
    this.namespaces.push(ns);
    return ns;
  }

  async teardown(): Promise<void> {
    for (const ns of this.namespaces.splice(0).reverse()) await deleteNamespace(ns).catch(() => undefined);
  }
}

/** Addresses of the hub layout: speaker .0.1, injector .0.2, extra peers from 10.200.1.1 on, all in 10.200.0.0/16. */
export const HUB = {
  speaker: '10.200.0.1',
  injector: '10.200.0.2',
  prefixLen: 16,
  peer: (i: number) => `10.200.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
} as const;

export interface HubTopology {
  readonly speakerNs: string;
  readonly agentNs: string;
}

/** Two namespaces joined by one veth: the speaker, and the agent holding the injector and `extraPeers` addresses. */
export async function buildHub(t: Topology, extraPeers: number): Promise<HubTopology> {
  const speakerNs = await t.namespace('spk');
  const agentNs = await t.namespace('agt');
  await addVethPair([speakerNs, 'eth0', `${HUB.speaker}/${HUB.prefixLen}`], [agentNs, 'eth0', `${HUB.injector}/${HUB.prefixLen}`]);
  if (extraPeers > 0) {
    const batch = Array.from({ length: extraPeers }, (_, i) => `addr add ${HUB.peer(i)}/${HUB.prefixLen} dev eth0`).join('\n');
    await nsExec(agentNs, 'ip', ['-batch', '-'], { input: `${batch}\n` });
  }
  return { speakerNs, agentNs };
}

export const MESH = {
  address: (i: number) => `10.201.${Math.floor((i + 1) / 250)}.${1 + ((i + 1) % 250)}`,
  prefixLen: 16,
  pool: '10.48.0.0/16',
  /** Node i's /26 block inside the pool. */
  block: (i: number) => `10.48.${Math.floor(i / 4)}.${(i % 4) * 64}/26`,
} as const;

/** M node namespaces on one bridge (in a hub namespace). */
export async function buildMesh(t: Topology, nodes: number): Promise<string[]> {
  const hub = await t.namespace('hub');
  await addBridge(hub, 'br0');
  const out: string[] = [];
  for (let i = 0; i < nodes; i++) {
    const ns = await t.namespace(`n${i}`);
    await attachToBridge(hub, 'br0', ns, 'eth0', `${MESH.address(i)}/${MESH.prefixLen}`);
    out.push(ns);
  }
  return out;
}

/**
 * Counts IPv4 routes in a namespace's main table matching `ip route show` filter args, streaming the
 * output so 100k routes cost one pass and no big string.
 */
export function countKernelRoutes(ns: string, filter: readonly string[] = [], linePredicate?: (line: string) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, '-4', 'route', 'show', ...filter], { stdio: ['ignore', 'pipe', 'pipe'] });
    let n = 0;
    let tail = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (!linePredicate) {
        for (let i = 0; i < d.length; i++) if (d[i] === 10) n++;
        return;
      }
      const text = tail + d.toString();
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      for (const l of lines) if (linePredicate(l)) n++;
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (tail && linePredicate?.(tail)) n++;
      if (code === 0) resolve(n);
      else reject(new Error(`ip -n ${ns} route show: ${err.trim()}`));
    });
  });
}

/** Removes every `proto bird` route (BIRD's persist and Petrel's sink both use proto bird). */
export async function flushBirdRoutes(ns: string): Promise<void> {
  // `ip route flush` dumps, then deletes in rounds, and gives up on the first delete that fails:
  // a route someone else removed meanwhile (a stopped speaker's last removals still reaching the
  // kernel) ends the flush with routes left over. Those would count as the next run's baseline,
  // so flush until none is left, and say so if that does not happen.
  let left = 0;
  for (let round = 0; round < 20; round++) {
    await nsExec(ns, 'ip', ['-4', 'route', 'flush', 'proto', 'bird']).catch(() => undefined);
    const out = await nsExec(ns, 'ip', ['-4', '-o', 'route', 'show', 'proto', 'bird']);
    left = out.split('\n').filter((l) => l.trim().length > 0).length;
    if (left === 0) return;
  }
  throw new Error(`${left} proto bird routes still in ${ns} after 20 flushes`);
}

/**
 * Prefixes in the main IPv4 FIB of the namespace process `pid` lives in, from
 * /proc/<pid>/net/fib_triestat: no process spawn and no dump, so it can be polled every few ms.
 */
export function mainTablePrefixes(pid: number): number {
  const text = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
  const main = text.indexOf('Main:');
  const m = /Prefixes:\s+(\d+)/.exec(text.slice(main));
  if (main < 0 || !m) throw new Error(`no Main table in /proc/${pid}/net/fib_triestat`);
  return Number(m[1]);
}
