/**
 * Simulation: many Petrel speakers in one process, to see how full mesh and route-reflector
 * topologies scale past what one machine can run as real daemons.
 *
 * What is real: the cluster is Calico v3 resources, each node's intent comes from config/
 * (computeNodeIntent: mesh rule, RR clusters, own blocks), and each node runs Petrel's RouteEngine
 * behind its RibBridge seam, so every route goes through the codec's encodeUpdates and
 * decodeUpdate, Adj-RIB-In, best path, export policy and Adj-RIB-Out, into a MockSink.
 * What is simulated: the sessions (sim-fabric.ts). Every session comes up at t0 (no TCP, FSM or
 * timers); what one side writes waits in the other node's inbox, and nodes read their inboxes one
 * at a time until nothing is in flight and every engine is idle.
 *
 * Figures per (topology, N): convergence time (all peer-ups to quiescence, every sink then holding
 * N-1 learned blocks), the busiest node's share of it, UPDATE messages and bytes, sessions, and
 * memory per node (JS heap, and typed-array stores outside it).
 *
 * `node dist/tools/bench/sim.js [--quick] [--sizes 100,300,1000] [--topologies mesh,rr]
 *   [--timeout=<s>] [--max-heap-mb=<MB>] [--no-json]`
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg, cpus, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import type { SinkRoute } from '../../daemon/model.js';
import { buildNodes, forEachSession, nodeBlock, type SimTopology } from './sim-cluster.js';
import { SimFabric, type FabricProgress } from './sim-fabric.js';
import { monoMs } from './clock.js';

export { simResources, nodeAddress, nodeBlock, type SimTopology } from './sim-cluster.js';

export interface SimResult {
  readonly topology: SimTopology;
  readonly nodes: number;
  readonly sessions: number;
  /** From the first peer-up to quiescence, on one thread doing every node's work. */
  readonly convergeMs: number;
  /** CPU time (user + system) of the process over convergeMs: moves far less than wall time on a shared machine. */
  readonly cpuMs: number;
  /** The part of convergeMs where sessions came up (each engine building its peers and sending its table). */
  readonly upMs: number;
  /** The busiest node's engine time within convergeMs (a cluster whose nodes run in parallel cannot beat it). */
  readonly busiestNodeMs: number;
  readonly medianNodeMs: number;
  /** Sum of every node's engine time: the rest of convergeMs is the harness and the garbage collector between nodes. */
  readonly totalNodeMs: number;
  readonly updates: number;
  readonly bytes: number;
  /** JS heap growth per node after a forced GC (with --expose-gc), cluster alive. */
  readonly heapPerNodeKB: number;
  /** Typed-array stores (outside the JS heap: the RIB's PrefixMaps, messages) per node. */
  readonly arrayBuffersPerNodeKB: number;
  /** Resident set size of the whole process at the end (MB). */
  readonly rssMB: number;
  /** Intents (config/) and engines with their own blocks originated. */
  readonly setupMs: number;
  readonly startedAt: string;
  readonly loadAvg: readonly [number, number];
}

export interface SimOptions {
  /** Returns every node's sink table (sorted by prefix) for comparisons. */
  readonly tables?: boolean;
  /** Called every 30 s while delivering (long runs). */
  readonly onProgress?: (p: FabricProgress) => void;
}

/** Runs one (topology, n) point to quiescence; throws if a sink ends short of n-1 learned blocks. */
export async function simulate(n: number, topology: SimTopology, timeoutMs: number, opts: SimOptions = {}): Promise<SimResult & { tables?: SinkRoute[][] }> {
  const startedAt = new Date().toISOString();
  const load0 = loadavg()[0]!;
  await collectGarbage();
  const mem0 = process.memoryUsage();
  const t0 = monoMs();
  const deadline = t0 + timeoutMs;
  const nodes = await buildNodes(n, topology);
  const fabric = new SimFabric(nodes);
  const sessions = forEachSession(nodes, (a, b) => fabric.connect(a, b));
  const setupMs = monoMs() - t0;
  const start = monoMs();
  const cpu0 = process.cpuUsage();
  let upMs = 0;
  try {
    await fabric.upAll(deadline, opts.onProgress);
    upMs = monoMs() - start;
    await fabric.run(deadline, opts.onProgress);
  } catch (e) {
    throw new Error(`${topology} N=${n}: ${(e as Error).message} (bound ${(timeoutMs / 1000).toFixed(0)} s)`);
  }
  const convergeMs = monoMs() - start;
  const cpu = process.cpuUsage(cpu0);
  if (fabric.resets > 0) throw new Error(`${topology} N=${n}: ${fabric.resets} sessions were reset by their engine`);
  for (const [i, x] of nodes.entries()) {
    const learned = x.sink.snapshot().filter((r) => r.prefix !== nodeBlock(i) && r.type !== 'blackhole').length;
    if (learned < n - 1) throw new Error(`${topology} N=${n}: node ${i} holds ${learned} of ${n - 1} learned blocks`);
  }
  await collectGarbage(); // with --expose-gc (npm run bench passes it) the figures are live data only
  const mem = process.memoryUsage();
  const busy = fabric.busyMs().sort((a, b) => a - b);
  const tables = opts.tables ? nodes.map((x) => x.sink.snapshot()) : undefined;
  return {
    topology,
    nodes: n,
    sessions,
    convergeMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    upMs,
    busiestNodeMs: busy[busy.length - 1] ?? 0,
    medianNodeMs: busy[busy.length >> 1] ?? 0,
    totalNodeMs: busy.reduce((a, b) => a + b, 0),
    updates: fabric.updates,
    bytes: fabric.bytes,
    heapPerNodeKB: (mem.heapUsed - mem0.heapUsed) / 1024 / n,
    arrayBuffersPerNodeKB: (mem.arrayBuffers - mem0.arrayBuffers) / 1024 / n,
    rssMB: mem.rss / 2 ** 20,
    setupMs,
    startedAt,
    loadAvg: [load0, loadavg()[0]!],
    ...(tables ? { tables } : {}),
  };
}

/** Full GCs with a turn of the event loop between, so freed typed-array stores are released too. */
async function collectGarbage(): Promise<void> {
  if (!globalThis.gc) return;
  for (let i = 0; i < 2; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
}

// ---------------------------------------------------------------------- command line

interface Cli {
  readonly quick: boolean;
  readonly sizes: number[];
  readonly topologies: SimTopology[];
  readonly timeoutS: number | undefined;
  readonly maxHeapMb: number | undefined;
  readonly json: boolean;
}

function parseCli(args: readonly string[]): Cli {
  const opt = (name: string): string | undefined => {
    const eq = args.find((a) => a.startsWith(`${name}=`));
    if (eq) return eq.slice(name.length + 1);
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const quick = args.includes('--quick');
  const num = (name: string) => {
    const v = opt(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`${name} wants a whole number, got '${v}'`);
    return Number(v);
  };
  const sizes = (opt('--sizes') ?? (quick ? '50' : '100,300,1000')).split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 2)) throw new Error(`--sizes wants node counts of 2 or more, got '${opt('--sizes')}'`);
  const topologies = (opt('--topologies') ?? 'mesh,rr').split(',') as SimTopology[];
  for (const t of topologies) if (t !== 'mesh' && t !== 'rr') throw new Error(`unknown topology '${t}' (mesh, rr)`);
  return { quick, sizes, topologies, timeoutS: num('--timeout'), maxHeapMb: num('--max-heap-mb'), json: !args.includes('--no-json') };
}

/** The per-run bound: two minutes up to 300 nodes, twenty beyond (a full mesh of 1,000 is about half a million sessions). */
function defaultTimeoutMs(n: number): number {
  return (n <= 300 ? 120 : 1200) * 1000;
}

/**
 * Heap a run of these sizes needs, roughly: a full-mesh session costs ~10 KB of heap per side in
 * the engine, a route-reflector cluster far less. 2 GB of headroom over that.
 */
function heapNeededMb(cli: Cli): number {
  const n = Math.max(...cli.sizes);
  const sessionEnds = cli.topologies.includes('mesh') ? n * (n - 1) : 4 * n;
  return Math.ceil((sessionEnds * 10 * 1024) / 2 ** 20) + 2048;
}

/** Runs this script again in a child with a larger old space when the current one is too small for the sizes asked. */
function respawnWithHeap(cli: Cli): number | undefined {
  if (process.env.PETREL_SIM_CHILD) return undefined;
  const want = cli.maxHeapMb ?? heapNeededMb(cli);
  const have = getHeapStatistics().heap_size_limit / 2 ** 20;
  if (have >= want * 0.95) return undefined;
  const cap = Math.floor((totalmem() / 2 ** 20) * 0.8);
  const heap = Math.min(want, cap);
  console.log(`# sim: re-running with --max-old-space-size=${heap} (heap limit ${have.toFixed(0)} MB is below the ~${want} MB these sizes need)`);
  const r = spawnSync(process.execPath, [`--max-old-space-size=${heap}`, '--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, PETREL_SIM_CHILD: '1' },
  });
  return r.status ?? 1;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const secs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);

function markdown(results: readonly SimResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.topology} | ${fmt(r.nodes)} | ${fmt(r.sessions)} | ${secs(r.convergeMs)} | ${secs(r.cpuMs)} | ${secs(r.upMs)} | ${secs(r.busiestNodeMs)} | ${fmt(r.updates)} | ${(r.bytes / 1e6).toFixed(1)} MB | ${fmt(r.heapPerNodeKB)} KB | ${fmt(r.arrayBuffersPerNodeKB)} KB | ${secs(r.setupMs)} |`,
  );
  return [
    '| topology | N | sessions | converged | CPU | of which peer-ups | busiest node | UPDATEs | bytes | heap per node | typed arrays per node | set-up (intents) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Merges these results into bench-results/sim.json, replacing earlier figures of the same (topology, N). */
function writeResults(results: readonly SimResult[], failures: readonly { topology: SimTopology; nodes: number; error: string; at: string }[], quick: boolean): string {
  const root = process.env.PETREL_BENCH_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const dir = join(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, quick ? 'sim-quick.json' : 'sim.json');
  type Stored = { results?: SimResult[]; failures?: typeof failures };
  let prev: Stored = {};
  try {
    if (existsSync(file)) prev = JSON.parse(readFileSync(file, 'utf8')) as Stored;
  } catch {
    prev = {};
  }
  const key = (r: { topology: string; nodes: number }) => `${r.topology}/${r.nodes}`;
  // A failed point keeps its last good figures beside the failure; a new success clears the failure.
  const fresh = new Set([...results, ...failures].map(key));
  const succeeded = new Set(results.map(key));
  const merged = [...(prev.results ?? []).filter((r) => !succeeded.has(key(r)) && r.startedAt !== undefined), ...results].sort(
    (a, b) => a.topology.localeCompare(b.topology) || a.nodes - b.nodes,
  );
  const failed = [...(prev.failures ?? []).filter((f) => !fresh.has(key(f))), ...failures];
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, memoryGB: Math.round(totalmem() / 2 ** 30) };
  writeFileSync(file, `${JSON.stringify({ updatedAt: new Date().toISOString(), machine, results: merged, failures: failed }, null, 1)}\n`);
  return file;
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2));
  const child = respawnWithHeap(cli);
  if (child !== undefined) return child;
  const results: SimResult[] = [];
  const failures: { topology: SimTopology; nodes: number; error: string; at: string }[] = [];
  console.log(`# sim: ${cli.topologies.join(', ')} at N = ${cli.sizes.join(', ')} (heap limit ${(getHeapStatistics().heap_size_limit / 2 ** 30).toFixed(1)} GB, load ${loadavg()[0]!.toFixed(1)})`);
  for (const topology of cli.topologies) {
    for (const n of cli.sizes) {
      const timeoutMs = cli.timeoutS !== undefined ? cli.timeoutS * 1000 : defaultTimeoutMs(n);
      try {
        const r = await simulate(n, topology, timeoutMs, {
          onProgress: (p) => {
            const m = process.memoryUsage();
            const what = p.phase === 'peer-up' ? `sessions of ${fmt(p.nodesDone)} nodes up` : `${fmt(p.delivered)} UPDATEs delivered, ${fmt(p.queued)} queued`;
            console.log(`    ${topology} N=${n} ${p.phase}: ${secs(p.elapsedMs)} in, ${what}, heap ${(m.heapUsed / 2 ** 30).toFixed(1)} GB + ${(m.arrayBuffers / 2 ** 30).toFixed(1)} GB typed arrays`);
          },
        });
        results.push(r);
        console.log(
          `  ${topology} N=${n}: converged in ${secs(r.convergeMs)} (CPU ${secs(r.cpuMs)}, peer-ups ${secs(r.upMs)}, busiest node ${secs(r.busiestNodeMs)}, median ${secs(r.medianNodeMs)}, sum ${secs(r.totalNodeMs)}), ${fmt(r.sessions)} sessions, ${fmt(r.updates)} UPDATEs (${(r.bytes / 1e6).toFixed(1)} MB), ` +
            `${fmt(r.heapPerNodeKB)} KB heap + ${fmt(r.arrayBuffersPerNodeKB)} KB typed arrays per node, RSS ${fmt(r.rssMB)} MB (set-up ${secs(r.setupMs)}, load ${r.loadAvg[0].toFixed(1)}-${r.loadAvg[1].toFixed(1)})`,
        );
      } catch (e) {
        const error = (e as Error).message;
        failures.push({ topology, nodes: n, error, at: new Date().toISOString() });
        console.log(`  ${topology} N=${n}: FAILED ${error}`);
        break; // larger sizes of this topology would fail too
      }
    }
  }
  console.log(`\n${markdown(results)}`);
  if (cli.json) console.log(`\n  results merged into ${writeResults(results, failures, cli.quick)}`);
  return failures.length > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`sim: ${e.message}`);
      process.exit(1);
    },
  );
}
