/**
 * Cell 1, ingest: one eBGP peer sends N distinct IPv4 prefixes (many NLRI per UPDATE) then
 * End-of-RIB; the figure is the time from Established (seen by the injector) until the speaker's
 * import counter shows all N. Peak RSS comes from /proc/<pid>/status VmHWM. BIRD's config has no
 * kernel protocol, so Petrel runs with `--sink none` (no kernel table kept): the RIB against the RIB.
 * The same table into a null receiver gives the injector's own ceiling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CellPart } from '../harness.js';
import { startPetrel, petrelHubResources } from '../petrel.js';
import type { HubSpeakerConfig, SpeakerProcess } from '../speaker.js';
import { flushBirdRoutes } from '../topology.js';
import { AgentHandle } from '../agent-handle.js';
import type { AgentSpec, InjectSpec } from '../agent.js';
import { CtlClient } from '../ctl-client.js';
import { HUB } from '../topology.js';
import { HubLab, INJECTOR_AS, SPEAKER_AS, hubConfig, injectorNeighbor, pollImported } from '../hub.js';
import { newVariant, runAlternating, type BenchOptions, type VariantResult } from '../harness.js';
import { cpuSplitOf } from '../cpu.js';

export interface TableShape {
  readonly prefixes: number;
  /** Prefixes per attribute set (N = one set). */
  readonly perSet: number;
}

export function shapeLabel(s: TableShape): string {
  const n = s.prefixes >= 1e6 ? `${s.prefixes / 1e6}M` : `${s.prefixes / 1e3}k`;
  return `N=${n}, ${s.perSet >= s.prefixes ? '1 attribute set' : `${s.perSet} prefixes/set`}`;
}

export function injectSpec(id: string, shape: TableShape, host: string, port = 179, localAddress?: string): InjectSpec {
  return {
    role: 'inject',
    id,
    host,
    port,
    ...(localAddress ? { localAddress } : {}),
    asn: INJECTOR_AS,
    routerId: HUB.injector,
    table: { prefixes: shape.prefixes, perSet: shape.perSet, nextHop: HUB.injector, asPath: [INJECTOR_AS] },
  };
}

/**
 * The injector alone: the same table into a null receiver (a second agent process counting NLRI) on
 * the agent namespace's loopback. Returns ms from Established to the receiver holding all N.
 */
export async function measureInjectorAlone(ns: string, shape: TableShape, timeoutMs: number): Promise<number> {
  const listenSpec: AgentSpec = { timeoutMs, peers: [{ role: 'listen', id: 'null', address: '127.0.0.1', port: 1179, asn: SPEAKER_AS, routerId: HUB.speaker, expect: shape.prefixes }] };
  const listener = AgentHandle.start(ns, listenSpec);
  let injector: AgentHandle | undefined;
  try {
    await listener.wait('listening', 'null', 10_000);
    injector = AgentHandle.start(ns, { timeoutMs, peers: [injectSpec('inj', shape, '127.0.0.1', 1179)] });
    const est = await injector.wait('established', 'inj', timeoutMs);
    const reached = await listener.wait('reached', 'null', timeoutMs);
    return reached.t - est.t;
  } finally {
    await injector?.stop();
    await listener.stop();
  }
}

/**
 * BIRD's ingest config has no kernel protocol, so Petrel runs with `--sink none` (no kernel table
 * at all) rather than the mock sink, which would keep a copy of every route BIRD does not.
 */
async function startSpeaker(lab: HubLab, kind: 'bird' | 'petrel', config: HubSpeakerConfig): Promise<{ speaker: SpeakerProcess; cleanup: () => void }> {
  if (kind === 'bird') return { speaker: await lab.start(kind, config), cleanup: () => undefined };
  await flushBirdRoutes(lab.ns.speakerNs);
  const dir = mkdtempSync(join(tmpdir(), 'pt-bench-petrel-'));
  try {
    const speaker = await startPetrel(lab.ns.speakerNs, dir, config.nodeName, config.address, petrelHubResources(config), 'none');
    return { speaker, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export async function ingestOnce(lab: HubLab, kind: 'bird' | 'petrel', shape: TableShape, timeoutMs: number): Promise<{ value: number; extra: Record<string, number> }> {
  const { speaker, cleanup } = await startSpeaker(lab, kind, hubConfig([injectorNeighbor], false));
  let agent: AgentHandle | undefined;
  let ctl: CtlClient | undefined;
  try {
    ctl = await CtlClient.connect(speaker.ctlPath);
    // The probe used once before the measured window, on both speakers: its first use in a fresh
    // Petrel compiles the control socket's parser and formatters (2-4 ms of main-thread CPU, BIRD
    // 0.1 ms), a cost of the measuring, not of taking routes into the RIB.
    await ctl.command(`show protocols all ${injectorNeighbor.name}`);
    const base = speaker.memory();
    const cpu0 = cpuSplitOf(speaker.pid);
    agent = AgentHandle.start(lab.ns.agentNs, { timeoutMs, peers: [injectSpec('inj', shape, HUB.speaker)] });
    const est = await agent.wait('established', 'inj', timeoutMs);
    const done = await pollImported(ctl, injectorNeighbor.name, shape.prefixes, timeoutMs);
    const mem = speaker.memory();
    const cpu = cpuSplitOf(speaker.pid);
    const cpuMainMs = cpu.mainMs - cpu0.mainMs;
    const cpuThreadsMs = cpu.threadsMs - cpu0.threadsMs;
    return {
      value: done.at - est.t,
      extra: { cpuMs: cpuMainMs + cpuThreadsMs, cpuMainMs, cpuThreadsMs, peakRssMB: mem.peakKb / 1024, bytesPerPrefix: ((mem.peakKb - base.rssKb) * 1024) / shape.prefixes, polls: done.polls },
    };
  } finally {
    ctl?.close();
    await agent?.stop();
    await speaker.stop();
    cleanup();
  }
}

/**
 * The table shapes of the cell. PETREL_BENCH_INGEST_SHAPES="prefixes:perSet,..." (e.g. "1000000:4")
 * runs only those, for iterating on one shape; perSet 0 means one attribute set.
 */
export function ingestShapes(quick: boolean): TableShape[] {
  const only = process.env.PETREL_BENCH_INGEST_SHAPES;
  if (only) {
    return only.split(',').map((s) => {
      const [n, k] = s.split(':').map(Number);
      const prefixes = n ?? 0;
      return { prefixes, perSet: k ? k : prefixes };
    });
  }
  if (quick) return [{ prefixes: 10_000, perSet: 10_000 }, { prefixes: 10_000, perSet: 4 }];
  return [
    { prefixes: 100_000, perSet: 100_000 },
    { prefixes: 100_000, perSet: 4 },
    { prefixes: 1_000_000, perSet: 1_000_000 },
    { prefixes: 1_000_000, perSet: 4 },
  ];
}

/** Marks a variant injector-bound when the speaker's rate is within 2x of the injector's own. */
export function checkInjectorBound(v: VariantResult, injectorMs: number): void {
  v.reference['injectorAloneMs'] = injectorMs;
  const times = v.samples.filter((s) => s.value !== undefined).map((s) => s.value!);
  if (times.length === 0) return;
  const fastest = Math.min(...times);
  if (fastest < 2 * injectorMs) v.notes.push(`injector-bound: fastest speaker run ${fastest.toFixed(0)} ms is within 2x of the injector alone (${injectorMs.toFixed(0)} ms)`);
}

export async function runIngest(opts: BenchOptions): Promise<CellPart> {
  const lab = new HubLab('ingest', 0);
  const variants: VariantResult[] = [];
  const timeoutMs = opts.quick ? 20_000 : 60_000;
  try {
    await lab.setup();
    for (const shape of ingestShapes(opts.quick)) {
      const v = newVariant(shapeLabel(shape), 'Established to all N in RIB');
      variants.push(v);
      const alone = await measureInjectorAlone(lab.ns.agentNs, shape, timeoutMs);
      opts.log(`  ${v.variant} injector alone: ${alone.toFixed(1)} ms`);
      await runAlternating(opts, v, (kind) => ingestOnce(lab, kind, shape, timeoutMs));
      checkInjectorBound(v, alone);
    }
  } finally {
    await lab.teardown();
  }
  return { cell: 'ingest', title: 'Cell 1: ingest', variants };
}
