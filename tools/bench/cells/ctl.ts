/**
 * Cell 6, control socket under load: the speaker has P established peers while one more peer sends
 * N prefixes; `show protocols` is sent back to back on one connection for the whole ingest. The
 * figure is the 99th-percentile reply time; p50, max and the number of replies come with it.
 */
import type { CellPart } from '../harness.js';
import { AgentHandle } from '../agent-handle.js';
import type { ReceiveSpec } from '../agent.js';
import { CtlClient } from '../ctl-client.js';
import { HUB } from '../topology.js';
import { HubLab, SPEAKER_AS, globalName, hubConfig, injectorNeighbor, pollImported } from '../hub.js';
import { injectSpec, shapeLabel, type TableShape } from './ingest.js';
import { monoMs, quantile } from '../clock.js';
import { newVariant, runAlternating, type BenchOptions, type VariantResult } from '../harness.js';
import type { BenchNeighbor } from '../speaker.js';

function idlePeers(count: number): BenchNeighbor[] {
  return Array.from({ length: count }, (_, i) => ({ name: globalName(HUB.peer(i)), address: HUB.peer(i), asn: SPEAKER_AS, exportAll: false }));
}

async function ctlOnce(lab: HubLab, kind: 'bird' | 'petrel', peers: number, shape: TableShape, timeoutMs: number): Promise<{ value: number; extra: Record<string, number> }> {
  const idle = idlePeers(peers);
  const speaker = await lab.start(kind, hubConfig([injectorNeighbor, ...idle], false));
  let recvAgent: AgentHandle | undefined;
  let injAgent: AgentHandle | undefined;
  let probe: CtlClient | undefined;
  let counter: CtlClient | undefined;
  try {
    const specs: ReceiveSpec[] = idle.map((n, i) => ({ role: 'receive', id: `p${i}`, host: HUB.speaker, localAddress: n.address, asn: SPEAKER_AS, routerId: n.address, expect: 0 }));
    recvAgent = AgentHandle.start(lab.ns.agentNs, { timeoutMs, peers: specs });
    await recvAgent.wait('ready', undefined, 60_000);
    probe = await CtlClient.connect(speaker.ctlPath);
    counter = await CtlClient.connect(speaker.ctlPath);
    injAgent = AgentHandle.start(lab.ns.agentNs, { timeoutMs, peers: [injectSpec('inj', shape, HUB.speaker, 179, HUB.injector)] });
    await injAgent.wait('established', 'inj', timeoutMs);
    const latencies: number[] = [];
    let ingesting = true;
    // The ingest is bounded: if it has not finished by the deadline, the latencies seen so far still
    // count and the row says how far the ingest got.
    const ingest = pollImported(counter, injectorNeighbor.name, shape.prefixes, timeoutMs, 20).then(
      (r) => ({ done: true, at: r.at, imported: shape.prefixes }),
      (e: Error) => ({ done: false, at: monoMs(), imported: Number(/: (\d+) of/.exec(e.message)?.[1] ?? 0) }),
    );
    void ingest.then(() => (ingesting = false));
    const t0 = monoMs();
    while (ingesting) {
      const r = await probe.command('show protocols');
      if (r.code !== 0) throw new Error(`show protocols answered ${r.code}`);
      latencies.push(r.ms);
    }
    const end = await ingest;
    return {
      value: quantile(latencies, 0.99),
      extra: { p50Ms: quantile(latencies, 0.5), maxMs: Math.max(...latencies), replies: latencies.length, ingestMs: end.at - t0, importedAtEnd: end.imported },
    };
  } finally {
    probe?.close();
    counter?.close();
    await injAgent?.stop();
    await recvAgent?.stop();
    await speaker.stop();
  }
}

export async function runCtl(opts: BenchOptions): Promise<CellPart> {
  const peers = opts.quick ? 10 : 100;
  const shape: TableShape = opts.quick ? { prefixes: 100_000, perSet: 100_000 } : { prefixes: 1_000_000, perSet: 1_000_000 };
  const lab = new HubLab('ctl', peers);
  const variants: VariantResult[] = [];
  try {
    await lab.setup();
    const v = newVariant(`${peers} peers, ingesting ${shapeLabel(shape)}`, '`show protocols` reply time, 99th percentile, during ingest');
    variants.push(v);
    await runAlternating(opts, v, (kind) => ctlOnce(lab, kind, peers, shape, opts.quick ? 30_000 : 90_000));
  } finally {
    await lab.teardown();
  }
  return { cell: 'ctl', title: 'Cell 6: control socket under load', variants };
}
