/**
 * RIB micro-benchmark (not a test): a million IPv4 prefixes into a RouteEngine directly, as
 * decoded UPDATEs of ~800 NLRI (one full 4096-byte UPDATE of /24s), with
 *   - one attribute set for all prefixes, and
 *   - a new attribute set every 4 prefixes (250,000 sets),
 * each once with no other peer and once exporting everything to an iBGP peer through the real
 * encoder. Reports wall time, prefixes/s, heap growth and the worst event-loop delay.
 *
 *   node dist/tools/bench/rib.js [--quick] [--case 1..6] [--write-docs]
 * --quick uses 100,000 prefixes; --write-docs replaces the `## RIB` section of docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { CapabilitySummary, NodeIntent, PeerIntent, RouteSink, SinkResult } from '../../daemon/model.js';
import { RouteEngine, type EnginePeer, type RibUpdate, type RouteAttrs } from '../../daemon/rib/index.js';
import { RibBridge } from '../../daemon/session/rib-bridge.js';
import { silentLogger } from '../../daemon/log.js';
import { defaultCodecContext, MessageFramer } from '../../proto/index.js';
import { encodeTable } from './table.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const args = process.argv.slice(2);
const N = args.includes('--quick') ? 100_000 : 1_000_000;
const PER_UPDATE = 800;

/** Counts kernel changes and drops them: the bench measures the RIB, not iproute2. */
class NullSink implements RouteSink {
  changes = 0;
  async apply(c: { add: readonly unknown[]; remove: readonly unknown[] }): Promise<SinkResult> {
    this.changes += c.add.length + c.remove.length;
    return { applied: c.add.length + c.remove.length, failures: [] };
  }
  async dump() {
    return [];
  }
}

const intent: NodeIntent = {
  nodeName: 'bench',
  routerId: '192.0.2.1',
  localAs: 64512,
  ipv4Address: '192.0.2.1',
  ipv4Network: '192.0.2.0/24',
  listenPort: 179,
  logLevel: 'none',
  peers: [],
  pools: [{ name: 'all', cidr: '0.0.0.0/1', family: 4, blockSize: 26, ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: false, disabled: false, disableBGPExport: false }],
  ownBlocks: [],
  borrowed: [],
  serviceRoutes: [],
  rejectCidrs: [],
};

function peer(name: string, ip: string, ibgp: boolean): EnginePeer {
  return {
    name, peerIp: ip, peerAs: ibgp ? 64512 : 65001, localAs: 64512, ibgp, neighborId: ip, localAddress: '192.0.2.1',
    keepOriginalNextHop: false, rrClient: false, addPathTx: false, addPathRx: false, as4: true, families: [4], maxPrefixesAction: 'warn',
  };
}

function attrsFor(set: number): RouteAttrs {
  return { origin: 0, asPath: [{ type: 2, asns: [65001, 65100 + (set % 50)] }], nextHop: '198.51.100.1', med: set, unknown: [] };
}

/** The UPDATEs: /24s from 1.0.0.0 upward, `perSet` prefixes per attribute set. */
function* updatesOf(perSet: number): Generator<RibUpdate> {
  const empty = new Uint32Array(0);
  if (perSet >= PER_UPDATE) {
    const a = attrsFor(0);
    for (let base = 0; base < N; base += PER_UPDATE) {
      const n = Math.min(PER_UPDATE, N - base);
      const nlri = new Uint32Array(n * 2);
      for (let i = 0; i < n; i++) {
        nlri[i * 2] = ((base + i + 65536) * 256) >>> 0;
        nlri[i * 2 + 1] = 24;
      }
      yield { withdrawn: empty, attrs: a, nlri, treatAsWithdraw: false };
    }
    return;
  }
  for (let base = 0; base < N; base += perSet) {
    const nlri = new Uint32Array(perSet * 2);
    for (let i = 0; i < perSet; i++) {
      nlri[i * 2] = ((base + i + 65536) * 256) >>> 0;
      nlri[i * 2 + 1] = 24;
    }
    yield { withdrawn: empty, attrs: attrsFor(base / perSet), nlri, treatAsWithdraw: false };
  }
}

interface Row {
  readonly name: string;
  readonly seconds: number;
  /** CPU time (user + system) of the process over the same span: steadier than wall time on a loaded machine. */
  readonly cpuSeconds: number;
  readonly heapMB: number;
  readonly maxLagMs: number;
  readonly attributeSets: number;
  readonly sentBytes: number;
}

async function run(name: string, perSet: number, exportTo: boolean): Promise<Row> {
  gc();
  // Typed arrays live outside the JS heap: count their backing stores too.
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const heap0 = used();
  const sink = new NullSink();
  const engine = new RouteEngine({ intent, sink });
  let sentBytes = 0;
  await engine.peerUp(peer('Global_198_51_100_1', '198.51.100.1', false), { send: () => undefined });
  if (exportTo) await engine.peerUp(peer('Mesh_192_0_2_2', '192.0.2.2', true), { send: (m) => m.forEach((x) => (sentBytes += x.length)) });
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // Feed like a session would: fire each UPDATE, keep a bounded number in flight.
  let inflight: Promise<unknown>[] = [];
  for (const u of updatesOf(perSet)) {
    inflight.push(engine.peerUpdate('Global_198_51_100_1', u));
    if (inflight.length >= 64) {
      await Promise.all(inflight);
      inflight = [];
    }
  }
  await Promise.all(inflight);
  await engine.settled();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  lag.disable();
  gc();
  const heapMB = (used() - heap0) / 2 ** 20;
  const count = engine.routeCount();
  if (count.routes !== N || sink.changes !== N) throw new Error(`${name}: expected ${N} routes, got ${count.routes} (sink ${sink.changes})`);
  return { name, seconds, cpuSeconds, heapMB, maxLagMs: lag.max / 1e6, attributeSets: count.attributeSets, sentBytes };
}

const CAPS: CapabilitySummary = { multiprotocol: ['ipv4'], routeRefresh: true, enhancedRefresh: false, as4: true, llgr: false, extendedMessage: false };

/**
 * The wire path as a session drives it: the encoded UPDATE stream (the ingest cell's table, tools/bench/table.ts)
 * in 64 KiB reads through the framer into RibBridge.update (decode + RIB), one macrotask per read as socket reads
 * arrive. Ends when the peer's import counter shows all N and the engine has settled.
 */
async function runWire(name: string, perSet: number): Promise<Row> {
  const table = encodeTable({ prefixes: N, perSet, nextHop: 0xc6336401, asPath: [65001] });
  gc();
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const heap0 = used();
  // No kernel table, as the daemon's `--sink none` (the ingest cell's setting).
  const engine = new RouteEngine({ intent, sink: null });
  const bridge = new RibBridge(engine, silentLogger());
  const p: PeerIntent = {
    name: 'Global_198_51_100_1', kind: 'global', family: 4, peerIp: '198.51.100.1', peerPort: 179, peerAs: 65001, localAs: 64512, passive: false,
    holdTime: 240, connectDelayTime: 2, connectRetryTime: 5, errorWaitTime: [5, 30], gracefulRestartTime: 120, keepOriginalNextHop: false,
    maxPrefixesAction: 'warn', rrClient: false, families: [4],
  };
  const context = defaultCodecContext();
  bridge.peerUp({
    peer: p, neighborId: '198.51.100.1', peerAs: 65001, localAddress: '192.0.2.1', remoteAddress: '198.51.100.1', internal: false, families: [4],
    context, localCaps: CAPS, peerCaps: CAPS, holdTime: 240, send: () => true, reset: () => undefined,
  });
  await engine.settled();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const framer = new MessageFramer();
  const READ = 65536;
  for (const chunk of table.chunks) {
    for (let o = 0; o < chunk.length; o += READ) {
      framer.push(chunk.subarray(o, Math.min(chunk.length, o + READ)));
      for (let m = framer.next(); m; m = framer.next()) bridge.update(p.name, m, context);
      await new Promise((r) => setImmediate(r));
    }
  }
  while (engine.counters(p.name).imported < N) await new Promise((r) => setImmediate(r));
  await engine.settled();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lag.disable();
  gc();
  const heapMB = (used() - heap0) / 2 ** 20;
  const count = engine.routeCount();
  if (count.routes !== N) throw new Error(`${name}: expected ${N} routes, got ${count.routes}`);
  return { name, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, heapMB, maxLagMs: lag.max / 1e6, attributeSets: count.attributeSets, sentBytes: 0 };
}

async function main(): Promise<void> {
  const cases: Array<() => Promise<Row>> = [
    () => run('1 attribute set, no other peer', PER_UPDATE, false),
    () => run('4 prefixes per attribute set, no other peer', 4, false),
    () => run('1 attribute set, exported to 1 iBGP peer', PER_UPDATE, true),
    () => run('4 prefixes per attribute set, exported to 1 iBGP peer', 4, true),
    () => runWire('wire: UPDATE bytes → RIB, 1 attribute set', 1e9),
    () => runWire('wire: UPDATE bytes → RIB, 4 prefixes per attribute set', 4),
  ];
  const only = args.indexOf('--case');
  if (only >= 0) {
    // Child mode: one case, its row as JSON on stdout.
    const c = cases[Number(args[only + 1]) - 1];
    if (!c) throw new Error(`--case takes 1..${cases.length}`);
    console.log(JSON.stringify(await c()));
    return;
  }
  // Each case in a fresh process, so one case's garbage and heap shape do not weigh on the next.
  const rows: Row[] = [];
  for (let i = 1; i <= cases.length; i++) {
    const r = spawnSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), '--case', String(i), ...(N < 1_000_000 ? ['--quick'] : [])], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`case ${i} failed: ${r.stderr}`);
    rows.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as Row);
  }
  const machine = `${cpus().length} vCPU ${cpus()[0]?.model.trim() ?? ''}, Node ${process.version}`;
  const table = [
    `What it measures: the route engine alone (\`daemon/rib\`), no sockets and no kernel. ${N.toLocaleString('en-US')} distinct`,
    `IPv4 /24s arrive from one eBGP peer as decoded UPDATEs (\`RouteEngine.peerUpdate\`): ${PER_UPDATE} NLRI per UPDATE with one`,
    'attribute set for all, or 4 NLRI per UPDATE with a new attribute set each (250,000 sets per million). Each prefix goes',
    'through the Adj-RIB-In, the decision process, the Loc-RIB and the kernel mapping (`toSinkRoute`, into a sink that',
    'discards); in the "exported" cases also through the export filter and the Adj-RIB-Out of one iBGP peer and the real',
    'UPDATE encoder. Heap growth (JS heap plus typed-array stores) is measured after a forced GC; bytes/prefix divides it',
    "by the prefix count. CPU time is the process's user + system time over the same span: on a shared machine it moves much",
    'less than the wall time. The event-loop',
    'delay is the worst one seen while ingesting (the engine yields every 2,048 decisions, weighted by export fan-out).',
    'The two "wire" cases feed the ingest cell\'s encoded table (1,000 NLRI per UPDATE, or 4 with a new set each) as bytes',
    'through the sessions\' seam (RibBridge: the intake, decoding, the RIB), with no kernel table (`--sink none`).',
    '',
    'Command (after `npm run build`):',
    '',
    '    node dist/tools/bench/rib.js           # or: npm run bench -- rib',
    '',
    'Options: `--quick` (100,000 prefixes), `--case 1..6` (one case, JSON row), `--write-docs` (this section).',
    '',
    `Machine: ${machine}. Measured ${new Date().toISOString().slice(0, 10)}, each case in a fresh process, load average ${loadavg()[0]!.toFixed(1)} at the end`,
    '(the two cores were shared with other test suites), so wall times are pessimistic.',
    '',
    '| case | time | CPU time | prefixes/s | heap growth | bytes/prefix | attribute sets | worst event-loop delay | UPDATE bytes sent |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      `| ${r.name} | ${r.seconds.toFixed(2)} s | ${r.cpuSeconds.toFixed(2)} s | ${Math.round(N / r.seconds).toLocaleString('en-US')} | ${r.heapMB.toFixed(0)} MB | ${Math.round((r.heapMB * 2 ** 20) / N)} | ${r.attributeSets.toLocaleString('en-US')} | ${r.maxLagMs.toFixed(0)} ms | ${r.sentBytes ? `${(r.sentBytes / 2 ** 20).toFixed(1)} MB` : '—'} |`,
    ),
  ].join('\n');
  console.log(table);
  if (args.includes('--write-docs')) writeDocs(table);
}

function writeDocs(body: string): void {
  const file = join(process.cwd(), 'docs', 'benchmarks.md');
  const begin = '<!-- bench:rib:begin -->';
  const end = '<!-- bench:rib:end -->';
  const section = `${begin}\n${body}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const b = text.indexOf(begin);
  const e = text.indexOf(end);
  if (b >= 0 && e > b) text = text.slice(0, b) + section + text.slice(e + end.length);
  else text = `${text.trimEnd()}\n\n## RIB\n\n${section}\n`;
  writeFileSync(file, text);
  console.log(`wrote the RIB section of ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
