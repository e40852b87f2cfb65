/**
 * The single-speaker layout shared by the ingest, propagate, kernel and ctl cells: one speaker
 * namespace, one agent namespace, and a way to start BIRD or Petrel there with the same neighbours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { birdHubConfig, startBird } from './bird.js';
import { petrelHubResources, startPetrel } from './petrel.js';
import type { BenchNeighbor, HubSpeakerConfig, SpeakerKind, SpeakerProcess } from './speaker.js';
import { CtlClient, parseImportedExported } from './ctl-client.js';
import { HUB, buildHub, flushBirdRoutes, type HubTopology, Topology } from './topology.js';
import { monoMs } from './clock.js';

export const SPEAKER_AS = 64512;
export const INJECTOR_AS = 65000;

/** Calico's protocol name for a global peer: Global_ + address with dots as underscores. */
export const globalName = (addr: string) => `Global_${addr.replace(/\./g, '_')}`;

export const injectorNeighbor: BenchNeighbor = { name: globalName(HUB.injector), address: HUB.injector, asn: INJECTOR_AS, exportAll: false };

export function hubConfig(neighbors: readonly BenchNeighbor[], kernel: boolean): HubSpeakerConfig {
  return { nodeName: 'bench-speaker', routerId: HUB.speaker, asn: SPEAKER_AS, address: HUB.speaker, addressLen: HUB.prefixLen, neighbors, kernel };
}

/** Owns the namespaces of one cell and a scratch directory per speaker start. */
export class HubLab {
  private readonly topology: Topology;
  private hub?: HubTopology;
  private readonly dirs: string[] = [];

  constructor(tag: string, private readonly extraPeers: number) {
    this.topology = new Topology(tag);
  }

  async setup(): Promise<HubTopology> {
    this.hub ??= await buildHub(this.topology, this.extraPeers);
    return this.hub;
  }

  get ns(): HubTopology {
    if (!this.hub) throw new Error('HubLab.setup() not called');
    return this.hub;
  }

  /**
   * Starts `kind` in the speaker namespace with `config` (kernel routes flushed first). Without
   * `config.kernel` BIRD's config has no kernel protocol, so Petrel runs with `--sink none` (no
   * kernel table kept), as in the ingest and propagate cells: the mock sink would keep a copy of
   * every route that BIRD does not.
   */
  async start(kind: SpeakerKind, config: HubSpeakerConfig, extraPools: readonly string[] = []): Promise<SpeakerProcess> {
    await flushBirdRoutes(this.ns.speakerNs);
    const dir = mkdtempSync(join(tmpdir(), `pt-bench-${kind}-`));
    this.dirs.push(dir);
    if (kind === 'bird') return startBird(this.ns.speakerNs, dir, birdHubConfig(config, join(dir, 'bird.log')));
    return startPetrel(this.ns.speakerNs, dir, config.nodeName, config.address, petrelHubResources(config, extraPools), config.kernel ? 'kernel' : 'none');
  }

  async teardown(): Promise<void> {
    await this.topology.teardown();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/**
 * Polls `show protocols all <name>` until the import counter reaches `n`; returns the monotonic
 * time of the first reply that showed it. The counter is O(1) on both speakers.
 */
export async function pollImported(ctl: CtlClient, name: string, n: number, timeoutMs: number, intervalMs = 5): Promise<{ at: number; polls: number }> {
  const deadline = monoMs() + timeoutMs;
  let polls = 0;
  let last = -1;
  for (;;) {
    const reply = await ctl.command(`show protocols all ${name}`);
    polls++;
    const now = monoMs();
    const counters = parseImportedExported(reply.lines);
    last = counters?.imported ?? last;
    if (last >= n) return { at: now, polls };
    if (now > deadline) throw new Error(`${name}: ${last} of ${n} routes imported after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
