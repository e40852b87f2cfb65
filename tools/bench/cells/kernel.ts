/**
 * Cell 3, kernel programming: one peer sends N prefixes; the figure is the time from Established
 * until the speaker namespace's main table holds all N as `proto bird` routes. The floor is
 * `ip -batch` adding the same N routes into the same namespace, measured in the same run.
 */
import type { CellPart } from '../harness.js';
import { spawn } from 'node:child_process';
import { AgentHandle } from '../agent-handle.js';
import { HUB, countKernelRoutes, flushBirdRoutes, mainTablePrefixes } from '../topology.js';
import { HubLab, hubConfig, injectorNeighbor } from '../hub.js';
import { injectSpec, shapeLabel, type TableShape } from './ingest.js';
import { monoMs, summarise } from '../clock.js';
import { cpuSplitOf } from '../cpu.js';
import { newVariant, runAlternating, type BenchOptions, type VariantResult } from '../harness.js';
import { tablePrefixes } from '../table.js';
import { formatPrefix4 } from '../../../proto/prefix.js';
import { KernelSink, type KernelSinkImpl } from '../../../daemon/sink/kernel.js';
import type { SinkRoute } from '../../../daemon/model.js';
import { keyedRoute } from '../../../daemon/sink/route.js';
import { cidrToKey } from '../../../daemon/rib/keys.js';

/**
 * Waits until the main table of the speaker's namespace holds `baseline + n` prefixes, polling
 * /proc/<pid>/net/fib_triestat every 2 ms (cheap at any table size), then confirms with one full
 * `ip route show proto bird` count. Also says when the first of them appeared: the time to the
 * first route is the speaker's latency, the rest its programming rate.
 */
export async function pollKernel(pid: number, ns: string, baseline: number, n: number, timeoutMs: number): Promise<{ at: number; firstAt: number }> {
  const deadline = monoMs() + timeoutMs;
  let firstAt: number | undefined;
  for (;;) {
    const have = mainTablePrefixes(pid) - baseline;
    const now = monoMs();
    if (have > 0) firstAt ??= now;
    if (have >= n) {
      const count = await countKernelRoutes(ns, ['proto', 'bird']);
      if (count < n) throw new Error(`main table grew by ${have} but only ${count} proto bird routes are there`);
      return { at: now, firstAt: firstAt ?? now };
    }
    if (now > deadline) {
      // Whether the routes are missing, or the table's other prefixes moved since the baseline.
      const bird = await countKernelRoutes(ns, ['proto', 'bird']).catch(() => -1);
      throw new Error(`kernel holds ${have} of ${n} routes after ${timeoutMs} ms (main table ${have + baseline} prefixes against a baseline of ${baseline}; ${bird} proto bird routes)`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Time for one `ip -batch -` to add the N routes (spawn to exit), the floor of kernel programming. */
export async function ipBatchFloor(ns: string, n: number): Promise<number> {
  await flushBirdRoutes(ns);
  const p = tablePrefixes(n);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`route add ${formatPrefix4(p[2 * i]!, p[2 * i + 1]!)} via ${HUB.injector} proto bird`);
  const input = `${lines.join('\n')}\n`;
  const t0 = monoMs();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch: ${err.trim().slice(0, 300)}`))));
    child.stdin.end(input);
  });
  const ms = monoMs() - t0;
  const count = await countKernelRoutes(ns, ['proto', 'bird']);
  if (count !== n) throw new Error(`ip -batch left ${count} of ${n} routes`);
  await flushBirdRoutes(ns);
  return ms;
}

/**
 * Petrel's kernel sink alone adding the same N routes (no BGP): a KernelSink in this process fed
 * the way the engine feeds it (keyed routes; a first batch of 1,000, then doubling up to 20,000, two in flight),
 * from the first apply to the last answer. Comparable with the ip -batch floor, which it beats when
 * the netlink helper is used; `ip` shows the iproute2 fallback.
 */
export async function sinkAlone(ns: string, n: number, impl: KernelSinkImpl): Promise<number> {
  await flushBirdRoutes(ns);
  const p = tablePrefixes(n);
  const routes: SinkRoute[] = [];
  // As the engine hands them over: keyed by the RIB's prefix key, the text made only if asked for.
  for (let i = 0; i < n; i++) routes.push(keyedRoute(cidrToKey(formatPrefix4(p[2 * i]!, p[2 * i + 1]!)), 'unicast', HUB.injector));
  const sink = new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', ns], impl });
  try {
    if (impl === 'netlink' && !sink.usesNetlink) throw new Error(`netlink sink unavailable: ${sink.netlinkOff ?? ''}`);
    // Started (and its code path run once) before the clock starts, as the daemon's is.
    const warmup: SinkRoute = { prefix: '10.255.255.0/24', type: 'blackhole' };
    await sink.apply({ add: [warmup], remove: [] });
    await sink.apply({ add: [], remove: [warmup] });
    const t0 = monoMs();
    let inFlight: Promise<void> | undefined;
    for (let pos = 0, limit = 1000; pos < n; limit = Math.min(20_000, limit * 2)) {
      const add = routes.slice(pos, pos + limit);
      pos += add.length;
      const applying = sink.apply({ add, remove: [] }).then((r) => {
        if (r.failures.length > 0) throw new Error(`sink (${impl}): ${r.failures.length} failures, e.g. ${r.failures[0]!.reason}`);
      });
      if (inFlight) await inFlight;
      inFlight = applying;
    }
    await inFlight;
    const ms = monoMs() - t0;
    const count = await countKernelRoutes(ns, ['proto', 'bird']);
    if (count !== n) throw new Error(`the ${impl} sink left ${count} of ${n} routes`);
    return ms;
  } finally {
    sink.close();
    await flushBirdRoutes(ns);
  }
}

async function kernelOnce(lab: HubLab, kind: 'bird' | 'petrel', shape: TableShape, timeoutMs: number): Promise<{ value: number; extra: Record<string, number> }> {
  const speaker = await lab.start(kind, hubConfig([injectorNeighbor], true));
  let agent: AgentHandle | undefined;
  try {
    const baseline = mainTablePrefixes(speaker.pid);
    const cpu0 = cpuSplitOf(speaker.pid);
    agent = AgentHandle.start(lab.ns.agentNs, { timeoutMs, peers: [injectSpec('inj', shape, HUB.speaker)] });
    const est = await agent.wait('established', 'inj', timeoutMs);
    const done = await pollKernel(speaker.pid, lab.ns.speakerNs, baseline, shape.prefixes, timeoutMs);
    const cpu = cpuSplitOf(speaker.pid);
    const main = cpu.mainMs - cpu0.mainMs;
    const threads = cpu.threadsMs - cpu0.threadsMs;
    const children = cpu.childrenMs - cpu0.childrenMs;
    return { value: done.at - est.t, extra: { firstRouteMs: done.firstAt - est.t, cpuMs: main + threads + children, cpuMainMs: main, cpuThreadsMs: threads, cpuChildrenMs: children, peakRssMB: speaker.memory().peakKb / 1024 } };
  } finally {
    await agent?.stop();
    await speaker.stop();
    await flushBirdRoutes(lab.ns.speakerNs);
  }
}

export async function runKernel(opts: BenchOptions): Promise<CellPart> {
  const lab = new HubLab('kern', 0);
  const variants: VariantResult[] = [];
  const timeoutMs = opts.quick ? 20_000 : 60_000;
  const sizes = opts.quick ? [10_000] : [10_000, 100_000];
  try {
    await lab.setup();
    for (const n of sizes) {
      const shape: TableShape = { prefixes: n, perSet: n };
      const v = newVariant(shapeLabel(shape), 'Established to all N in the kernel table');
      variants.push(v);
      const floors: number[] = [];
      floors.push(await ipBatchFloor(lab.ns.speakerNs, n));
      await runAlternating(opts, v, (kind) => kernelOnce(lab, kind, shape, timeoutMs));
      floors.push(await ipBatchFloor(lab.ns.speakerNs, n));
      const floor = summarise(floors)!.min;
      v.reference['ipBatchFloorMs'] = floor;
      opts.log(`  ${v.variant} ip -batch floor: ${floors.map((f) => f.toFixed(1)).join(', ')} ms`);
      // Petrel's sink without BGP, both ways to the kernel, against the same floor.
      for (const impl of ['netlink', 'ip'] as const) {
        const alone: number[] = [];
        for (let i = 0; i < 2; i++) alone.push(await sinkAlone(lab.ns.speakerNs, n, impl));
        const best = summarise(alone)!.min;
        v.reference[impl === 'netlink' ? 'sinkNetlinkMs' : 'sinkIpBatchMs'] = best;
        opts.log(`  ${v.variant} Petrel sink alone (${impl}): ${alone.map((f) => f.toFixed(1)).join(', ')} ms`);
        v.notes.push(`Petrel's kernel sink alone (${impl === 'netlink' ? 'netlink helper' : 'ip -batch fallback'}, no BGP) is ${(best / floor).toFixed(2)}x the ip -batch floor`);
      }
      for (const kind of ['bird', 'petrel'] as const) {
        const med = summarise(v.samples.filter((s) => s.kind === kind && s.value !== undefined).map((s) => s.value!))?.median;
        if (med !== undefined) v.notes.push(`${kind} median is ${(med / floor).toFixed(2)}x the ip -batch floor`);
      }
    }
  } finally {
    await lab.teardown();
  }
  return { cell: 'kernel', title: 'Cell 3: kernel programming', variants };
}
