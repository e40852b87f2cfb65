/**
 * Cell 2, propagate: one eBGP peer sends N prefixes; the speaker re-advertises them to 10 iBGP
 * receivers (counting agents). The figure is the time from the injector's Established to the last
 * receiver holding all N. Receivers run in their own agent process, the injector in another.
 *
 * BIRD's config here has no kernel protocol, so Petrel runs with `--sink none` (no kernel table),
 * as in the ingest cell, rather than the mock sink, which would keep a copy of every route BIRD
 * does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CellPart } from '../harness.js';
import { petrelHubResources, startPetrel } from '../petrel.js';
import type { SpeakerProcess } from '../speaker.js';
import { flushBirdRoutes } from '../topology.js';
import { AgentHandle } from '../agent-handle.js';
import type { ReceiveSpec } from '../agent.js';
import { HUB } from '../topology.js';
import { HubLab, SPEAKER_AS, globalName, hubConfig, injectorNeighbor } from '../hub.js';
import { injectSpec, measureInjectorAlone, shapeLabel, type TableShape } from './ingest.js';
import { newVariant, runAlternating, type BenchOptions, type VariantResult } from '../harness.js';
import type { BenchNeighbor } from '../speaker.js';

const RECEIVERS = 10;

/** The synthetic table's pool, so Calico-style export policy lets the routes out. */
export const TABLE_POOL = '16.0.0.0/4';

function receivers(count: number): BenchNeighbor[] {
  return Array.from({ length: count }, (_, i) => ({ name: globalName(HUB.peer(i)), address: HUB.peer(i), asn: SPEAKER_AS, exportAll: true }));
}

/** BIRD from the lab; Petrel with no kernel table (BIRD's config has no kernel protocol). */
async function startSpeaker(lab: HubLab, kind: 'bird' | 'petrel', rx: readonly BenchNeighbor[]): Promise<{ speaker: SpeakerProcess; cleanup: () => void }> {
  const config = hubConfig([injectorNeighbor, ...rx], false);
  if (kind === 'bird') return { speaker: await lab.start(kind, config, [TABLE_POOL]), cleanup: () => undefined };
  await flushBirdRoutes(lab.ns.speakerNs);
  const dir = mkdtempSync(join(tmpdir(), 'pt-bench-petrel-'));
  try {
    const speaker = await startPetrel(lab.ns.speakerNs, dir, config.nodeName, config.address, petrelHubResources(config, [TABLE_POOL]), 'none');
    return { speaker, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function propagateOnce(lab: HubLab, kind: 'bird' | 'petrel', shape: TableShape, timeoutMs: number): Promise<{ value: number; extra: Record<string, number> }> {
  const rx = receivers(RECEIVERS);
  const { speaker, cleanup } = await startSpeaker(lab, kind, rx);
  let recvAgent: AgentHandle | undefined;
  let injAgent: AgentHandle | undefined;
  try {
    const specs: ReceiveSpec[] = rx.map((n, i) => ({ role: 'receive', id: `r${i}`, host: HUB.speaker, localAddress: n.address, asn: SPEAKER_AS, routerId: n.address, expect: shape.prefixes }));
    recvAgent = AgentHandle.start(lab.ns.agentNs, { timeoutMs, peers: specs });
    await recvAgent.wait('ready', undefined, 30_000);
    injAgent = AgentHandle.start(lab.ns.agentNs, { timeoutMs, peers: [injectSpec('inj', shape, HUB.speaker, 179, HUB.injector)] });
    const est = await injAgent.wait('established', 'inj', timeoutMs);
    let last = 0;
    let first = Infinity;
    for (const s of specs) {
      const r = await recvAgent.wait('reached', s.id, timeoutMs);
      last = Math.max(last, r.t);
      first = Math.min(first, r.t);
    }
    const mem = speaker.memory();
    return { value: last - est.t, extra: { firstReceiverMs: first - est.t, peakRssMB: mem.peakKb / 1024 } };
  } finally {
    await injAgent?.stop();
    await recvAgent?.stop();
    await speaker.stop();
    cleanup();
  }
}

export async function runPropagate(opts: BenchOptions): Promise<CellPart> {
  const lab = new HubLab('prop', RECEIVERS);
  const variants: VariantResult[] = [];
  const timeoutMs = opts.quick ? 20_000 : 60_000;
  const shapes: TableShape[] = opts.quick ? [{ prefixes: 10_000, perSet: 10_000 }] : [{ prefixes: 100_000, perSet: 100_000 }, { prefixes: 100_000, perSet: 4 }];
  try {
    await lab.setup();
    for (const shape of shapes) {
      const v = newVariant(`${shapeLabel(shape)}, 1 → ${RECEIVERS} peers`, `Established to all ${RECEIVERS} receivers holding N`);
      variants.push(v);
      const alone = await measureInjectorAlone(lab.ns.agentNs, shape, timeoutMs);
      v.reference['injectorAloneMs'] = alone;
      opts.log(`  ${v.variant} injector alone: ${alone.toFixed(1)} ms`);
      await runAlternating(opts, v, (kind) => propagateOnce(lab, kind, shape, timeoutMs));
      const fastest = Math.min(...v.samples.filter((s) => s.value !== undefined).map((s) => s.value!));
      if (fastest < 2 * alone) v.notes.push(`injector-bound: fastest run ${fastest.toFixed(0)} ms is within 2x of the injector alone (${alone.toFixed(0)} ms)`);
    }
  } finally {
    await lab.teardown();
  }
  return { cell: 'propagate', title: 'Cell 2: propagate', variants };
}
