/**
 * Cell 4, mesh convergence: M nodes on one bridge in a full iBGP mesh (Calico's config and timers),
 * each originating one /26. The figure is the time from starting all daemons until every node's
 * kernel holds the M-1 blocks learned from the others. Memory per node is read after convergence.
 */
import type { CellPart } from '../harness.js';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { birdMeshConfig, spawnBird } from '../bird.js';
import { petrelMeshResources, spawnPetrel } from '../petrel.js';
import { MESH, Topology, buildMesh, countKernelRoutes, flushBirdRoutes } from '../topology.js';
import { monoMs, summarise } from '../clock.js';
import { NotReadyError, newVariant, runAlternating, type BenchOptions, type VariantResult } from '../harness.js';
import type { SpeakerKind, SpeakerProcess } from '../speaker.js';

const ASN = 64512;

/** Learned blocks in a node's kernel: proto bird routes with a gateway (the own block is a blackhole). */
export const countLearned = (ns: string) => countKernelRoutes(ns, ['proto', 'bird'], (l) => l.includes(' via '));

export interface MeshRun {
  readonly startedAt: number;
  /** When the last control socket answered: the daemons' own start-up time is readyAt - startedAt. */
  readonly readyAt: number;
  readonly speakers: SpeakerProcess[];
  readonly dirs: string[];
  /** Petrel's shared datastore file (unused for BIRD). */
  readonly datastoreFile: string;
}

export interface MeshNode {
  readonly ns: string;
  readonly nodeName: string;
  readonly address: string;
  readonly block: string;
}

export function meshNodes(namespaces: readonly string[]): MeshNode[] {
  return namespaces.map((ns, i) => ({ ns, nodeName: `bench-node-${i}`, address: MESH.address(i), block: MESH.block(i) }));
}

/** BIRD's config for node `n` of the mesh, with `extraBlocks` affine besides its own block. */
export function birdConfigFor(n: MeshNode, all: readonly MeshNode[], dir: string, extraBlocks: readonly string[] = []): string {
  return birdMeshConfig({ nodeName: n.nodeName, address: n.address, asn: ASN, block: n.block, extraBlocks, meshPeers: all.filter((o) => o !== n).map((o) => o.address), poolCidr: MESH.pool }, join(dir, 'bird.log'));
}

/** The shared datastore of a Petrel mesh, with `extraBlocks(i)` affine to node i besides its own. */
export function petrelDatastoreFor(nodes: readonly MeshNode[], extraBlocks: (i: number) => readonly string[] = () => []): string {
  return petrelMeshResources(ASN, MESH.pool, MESH.prefixLen, nodes.map((n, i) => ({ ...n, extraBlocks: extraBlocks(i) })));
}

/** Spawns one speaker per namespace, as close together as possible, and waits for their sockets. */
export async function startMesh(kind: SpeakerKind, namespaces: readonly string[]): Promise<MeshRun> {
  const nodes = meshNodes(namespaces);
  const dirs = nodes.map(() => mkdtempSync(join(tmpdir(), `pt-bench-mesh-${kind}-`)));
  const shared = join(dirs[0]!, 'datastore.yaml');
  const petrelYaml = kind === 'petrel' ? petrelDatastoreFor(nodes) : '';
  const configs = nodes.map((n, i) => (kind === 'bird' ? birdConfigFor(n, nodes, dirs[i]!) : ''));
  const startedAt = monoMs();
  const speakers: SpeakerProcess[] = [];
  try {
    for (const [i, n] of nodes.entries()) {
      speakers.push(kind === 'bird' ? spawnBird(n.ns, dirs[i]!, configs[i]!) : spawnPetrel(n.ns, dirs[i]!, n.nodeName, n.address, petrelYaml, 'kernel', shared));
    }
    // Thirty daemons starting at once on two busy cores can take a while; the clock runs meanwhile.
    await Promise.all(speakers.map((s) => s.waitReady(90_000)));
  } catch (e) {
    const died = speakers.find((s) => !s.running);
    await Promise.all(speakers.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (kind === 'petrel' && died) throw new NotReadyError(`daemon not ready: ${died.stderr.trim().slice(-400)}`);
    throw e;
  }
  return { startedAt, readyAt: monoMs(), speakers, dirs, datastoreFile: shared };
}

export async function stopMesh(run: MeshRun, namespaces: readonly string[]): Promise<void> {
  await Promise.all(run.speakers.map((s) => s.stop()));
  for (const ns of namespaces) await flushBirdRoutes(ns);
  for (const d of run.dirs) rmSync(d, { recursive: true, force: true });
}

/**
 * Routes with a gateway in the main IPv4 table of the namespace process `pid` runs in, from
 * /proc/<pid>/net/route: a file read instead of an `ip` process, so polling it costs the speakers
 * under test next to no CPU. (The mesh namespaces have no other gatewayed route than learned blocks.)
 */
/**
 * Proportional set size (kB) of process `pid`: its private pages plus its share of pages it shares.
 * RSS counts the pages of the Node binary every daemon maps (about 35 MB, shared by all of them) in
 * full for each; PSS divides them among the processes mapping them, so M daemons add up to what
 * they really take.
 */
export function pssKb(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU time (ms, user + system) of process `pid` and its live descendants (e.g. the netlink helper). */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  const walk = (p: number): void => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      return;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tids) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(' ')) if (k.trim()) walk(Number(k));
    }
  };
  walk(pid);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

export function gatewayRoutes(pid: number): number {
  const RTF_GATEWAY = 0x2;
  let n = 0;
  for (const line of readFileSync(`/proc/${pid}/net/route`, 'utf8').split('\n').slice(1)) {
    const flags = line.split('\t')[3];
    if (flags !== undefined && (parseInt(flags, 16) & RTF_GATEWAY) !== 0) n++;
  }
  return n;
}

/**
 * Polls every node until it holds `expect` learned blocks; returns per-node times (ms since start).
 * With `pids` (the speaker of each namespace, already running in it) nodes are watched through
 * /proc (gatewayRoutes) every 10 ms and each count is confirmed once with `ip route`; without, `ip`
 * is run for every probe.
 */
export async function waitConverged(namespaces: readonly string[], expect: number, since: number, timeoutMs: number, pids?: readonly number[]): Promise<number[]> {
  const done = new Array<number | undefined>(namespaces.length).fill(undefined);
  const deadline = monoMs() + timeoutMs;
  for (;;) {
    const pending = namespaces.map((ns, i) => ({ ns, i })).filter(({ i }) => done[i] === undefined);
    if (pending.length === 0) return done as number[];
    if (pids) {
      for (const { ns, i } of pending) {
        const seenAt = monoMs() - since;
        if (gatewayRoutes(pids[i]!) >= expect && (await countLearned(ns)) >= expect) done[i] = seenAt;
      }
      if (monoMs() > deadline) throw notConverged(done, expect, timeoutMs);
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    // A few probes at a time: each is one `ip` process.
    for (let k = 0; k < pending.length; k += 6) {
      await Promise.all(
        pending.slice(k, k + 6).map(async ({ ns, i }) => {
          const n = await countLearned(ns);
          if (n >= expect && done[i] === undefined) done[i] = monoMs() - since;
        }),
      );
    }
    if (monoMs() > deadline) throw notConverged(done, expect, timeoutMs);
  }
}

function notConverged(done: readonly (number | undefined)[], expect: number, timeoutMs: number): Error {
  const missing = done.map((d, i) => (d === undefined ? i : -1)).filter((i) => i >= 0);
  return new Error(`mesh not converged after ${timeoutMs} ms: nodes ${missing.join(',')} short of ${expect} blocks`);
}

async function meshOnce(namespaces: readonly string[], kind: SpeakerKind, timeoutMs: number): Promise<{ value: number; extra: Record<string, number> }> {
  const run = await startMesh(kind, namespaces);
  try {
    const cpuAtReady = run.speakers.map((s) => treeCpuMs(s.pid));
    const times = await waitConverged(namespaces, namespaces.length - 1, run.startedAt, timeoutMs, run.speakers.map((s) => s.pid));
    // CPU each speaker (with its children) spent from its control socket answering to convergence
    // (the session phase; read after the last node converged), and in all: means over the nodes.
    const cpuAtEnd = run.speakers.map((s) => treeCpuMs(s.pid));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const mem = run.speakers.map((s) => s.memory());
    const rss = summarise(mem.map((x) => x.rssKb / 1024))!;
    const pss = summarise(run.speakers.map((s) => pssKb(s.pid) / 1024))!;
    return { value: Math.max(...times), extra: { startupMs: run.readyAt - run.startedAt, medianNodeMs: summarise(times)!.median, rssPerNodeMB: rss.median, pssPerNodeMB: pss.median, peakRssMaxMB: Math.max(...mem.map((x) => x.peakKb / 1024)), sessionCpuMsPerNode: mean(cpuAtEnd.map((c, i) => c - cpuAtReady[i]!)), cpuMsPerNode: mean(cpuAtEnd) } };
  } finally {
    await stopMesh(run, namespaces);
  }
}

export async function runMesh(opts: BenchOptions): Promise<CellPart> {
  const variants: VariantResult[] = [];
  // PETREL_BENCH_MESH_SIZES=30 (comma-separated) runs only those sizes; the default is the cell's.
  const env = process.env.PETREL_BENCH_MESH_SIZES;
  const sizes = env ? env.split(',').map(Number).filter((n) => n >= 2) : opts.quick ? [4] : [10, 30];
  for (const m of sizes) {
    const topo = new Topology(`mesh${m}`);
    try {
      const namespaces = await buildMesh(topo, m);
      const v = newVariant(`M=${m}`, 'start of all daemons to every kernel holding M-1 learned blocks');
      variants.push(v);
      await runAlternating(opts, v, (kind) => meshOnce(namespaces, kind, opts.quick ? 30_000 : 60_000));
    } finally {
      await topo.teardown();
    }
  }
  return { cell: 'mesh', title: 'Cell 4: mesh convergence', variants };
}
