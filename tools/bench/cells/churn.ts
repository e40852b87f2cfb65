/**
 * Cell 5, churn: a 10-node mesh (as in the mesh cell) where IPAM blocks come and go at R events per
 * second in total for D seconds, the way Calico delivers them: BIRD gets its static blocks rewritten
 * and a `configure` per node per tick (what confd does); Petrel gets the shared datastore file
 * rewritten once per tick (BlockAffinity resources; every node watches the file).
 * The figure is the time from the last change until every kernel shows exactly the final set of
 * learned blocks; the achieved event rate is reported with it (a tick that overruns slows it down).
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { CtlClient } from '../ctl-client.js';
import { Topology, buildMesh, countKernelRoutes } from '../topology.js';
import { monoMs } from '../clock.js';
import { newVariant, runAlternating, type BenchOptions, type CellPart, type VariantResult } from '../harness.js';
import type { SpeakerKind } from '../speaker.js';
import { birdConfigFor, meshNodes, petrelDatastoreFor, startMesh, stopMesh, waitConverged, type MeshNode } from './mesh.js';

const TICK_MS = 100;

/** Churn block j: a /26 in the upper half of the mesh pool, owned by node j % M. */
export const churnBlock = (j: number) => `10.48.${128 + Math.floor(j / 4)}.${(j % 4) * 64}/26`;

/** Deterministic pseudo-random sequence (xorshift32), so both speakers get the same events. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Learned blocks (with a gateway) in a namespace, as CIDR strings. */
async function learnedSet(ns: string): Promise<Set<string>> {
  const out = new Set<string>();
  await countKernelRoutes(ns, ['proto', 'bird'], (line) => {
    if (line.includes(' via ')) out.add(line.split(' ')[0]!);
    return false;
  });
  return out;
}

async function churnOnce(namespaces: readonly string[], kind: SpeakerKind, rate: number, seconds: number, timeoutMs: number): Promise<{ value: number; extra: Record<string, number> }> {
  const nodes: MeshNode[] = meshNodes(namespaces);
  const m = nodes.length;
  const slots = 512; // 10.48.128.0/17 holds 512 /26s
  const run = await startMesh(kind, namespaces);
  const ctls: CtlClient[] = [];
  try {
    await waitConverged(namespaces, m - 1, run.startedAt, timeoutMs);
    if (kind === 'bird') for (const s of run.speakers) ctls.push(await CtlClient.connect(s.ctlPath));
    const active = new Set<number>();
    const owned = (i: number) => [...active].filter((j) => j % m === i).sort((a, b) => a - b).map(churnBlock);
    const next = rng(12345);
    const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
    const ticks = Math.round((seconds * 1000) / TICK_MS);
    const t0 = monoMs();
    let events = 0;
    let lastChange = t0;
    for (let t = 0; t < ticks; t++) {
      const touched = new Set<number>();
      for (let e = 0; e < perTick; e++) {
        const j = Math.floor(next() * slots);
        if (active.has(j)) active.delete(j);
        else active.add(j);
        touched.add(j % m);
        events++;
      }
      if (kind === 'bird') {
        await Promise.all(
          [...touched].map(async (i) => {
            writeFileSync(join(run.dirs[i]!, 'bird.conf'), birdConfigFor(nodes[i]!, nodes, run.dirs[i]!, owned(i)));
            const r = await ctls[i]!.command('configure');
            if (r.code >= 8000) throw new Error(`node ${i}: configure answered ${r.lines.join(' / ')}`);
          }),
        );
      } else {
        const tmp = `${run.datastoreFile}.tmp`;
        writeFileSync(tmp, petrelDatastoreFor(nodes, owned));
        renameSync(tmp, run.datastoreFile);
      }
      lastChange = monoMs();
      // Ticks keep to an absolute schedule so timer latency on a loaded machine does not lower the rate.
      const wait = t0 + (t + 1) * TICK_MS - lastChange;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const achievedRate = events / ((lastChange - t0) / 1000);
    // Expected learned set per node: every other node's own block and active churn blocks.
    const expected = nodes.map((_, i) => new Set([...nodes.filter((_, k) => k !== i).map((n) => n.block), ...[...active].filter((j) => j % m !== i).map(churnBlock)]));
    const done = new Array<number | undefined>(m).fill(undefined);
    const deadline = monoMs() + timeoutMs;
    while (done.some((d) => d === undefined)) {
      for (let i = 0; i < m; i++) {
        if (done[i] !== undefined) continue;
        const have = await learnedSet(namespaces[i]!);
        const want = expected[i]!;
        if (have.size === want.size && [...want].every((b) => have.has(b))) done[i] = monoMs() - lastChange;
      }
      if (monoMs() > deadline) throw new Error(`kernels did not settle within ${timeoutMs} ms after the last change`);
    }
    return { value: Math.max(...(done as number[])), extra: { achievedEventsPerSec: achievedRate, events, activeAtEnd: active.size } };
  } finally {
    for (const c of ctls) c.close();
    await stopMesh(run, namespaces);
  }
}

export async function runChurn(opts: BenchOptions): Promise<CellPart> {
  const m = opts.quick ? 4 : 10;
  const rate = opts.quick ? 100 : 1000;
  const seconds = opts.quick ? 2 : 10;
  const variants: VariantResult[] = [];
  const topo = new Topology(`churn${m}`);
  try {
    const namespaces = await buildMesh(topo, m);
    const v = newVariant(`M=${m}, ${rate} events/s for ${seconds} s`, 'last change to every kernel showing the final blocks');
    variants.push(v);
    await runAlternating(opts, v, (kind) => churnOnce(namespaces, kind, rate, seconds, opts.quick ? 30_000 : 60_000));
    v.notes.push('goal: every change visible everywhere within 1 s; BIRD is driven as confd drives it (config rewrite + configure per node per 100 ms tick)');
  } finally {
    await topo.teardown();
  }
  return { cell: 'churn', title: 'Cell 5: churn', variants };
}
