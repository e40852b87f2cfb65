/**
 * Smoke test of the benchmark injector and receiver against a real BIRD 2 in namespaces, N = 1000.
 * Needs root, bird2 and the compiled agent (npm test builds before running vitest).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHandle } from '../../tools/bench/agent-handle.js';
import { CtlClient, parseRouteCount } from '../../tools/bench/ctl-client.js';
import { HubLab, SPEAKER_AS, globalName, hubConfig, injectorNeighbor, pollImported } from '../../tools/bench/hub.js';
import { HUB } from '../../tools/bench/topology.js';
import { injectSpec } from '../../tools/bench/cells/ingest.js';
import type { SpeakerProcess } from '../../tools/bench/speaker.js';

const N = 1000;
const lab = new HubLab(`smoke${process.pid % 100000}`, 1);

beforeAll(async () => {
  await lab.setup();
});

afterAll(async () => {
  await lab.teardown();
});

describe('bench injector against BIRD 2', () => {
  it('the null receiver counts every prefix the injector sends', async () => {
    const listener = AgentHandle.start(lab.ns.agentNs, { timeoutMs: 20_000, peers: [{ role: 'listen', id: 'null', address: '127.0.0.1', port: 1179, asn: SPEAKER_AS, routerId: HUB.speaker, expect: N }] });
    let injector: AgentHandle | undefined;
    try {
      await listener.wait('listening', 'null', 10_000);
      injector = AgentHandle.start(lab.ns.agentNs, { timeoutMs: 20_000, peers: [injectSpec('inj', { prefixes: N, perSet: 4 }, '127.0.0.1', 1179)] });
      const encoded = await injector.wait('encoded', 'inj', 10_000);
      expect(encoded.attrSets).toBe(N / 4);
      const reached = await listener.wait('reached', 'null', 10_000);
      expect(reached.count).toBe(N);
    } finally {
      await injector?.stop();
      await listener.stop();
    }
  });

  it('BIRD imports all N prefixes and re-advertises them to a receiver', async () => {
    const receiver = { name: globalName(HUB.peer(0)), address: HUB.peer(0), asn: SPEAKER_AS, exportAll: true };
    let bird: SpeakerProcess | undefined;
    let recv: AgentHandle | undefined;
    let inj: AgentHandle | undefined;
    let ctl: CtlClient | undefined;
    try {
      bird = await lab.start('bird', hubConfig([injectorNeighbor, receiver], false));
      recv = AgentHandle.start(lab.ns.agentNs, { timeoutMs: 20_000, peers: [{ role: 'receive', id: 'r0', host: HUB.speaker, localAddress: receiver.address, asn: SPEAKER_AS, routerId: receiver.address, expect: N }] });
      await recv.wait('ready', undefined, 15_000);
      inj = AgentHandle.start(lab.ns.agentNs, { timeoutMs: 20_000, peers: [injectSpec('inj', { prefixes: N, perSet: N }, HUB.speaker)] });
      await inj.wait('established', 'inj', 15_000);
      ctl = await CtlClient.connect(bird.ctlPath);
      await pollImported(ctl, injectorNeighbor.name, N, 10_000);
      const count = await ctl.command('show route count');
      expect(parseRouteCount(count.lines)).toBe(N);
      const reached = await recv.wait('reached', 'r0', 10_000);
      expect(reached.count).toBe(N);
    } finally {
      ctl?.close();
      await inj?.stop();
      await recv?.stop();
      await bird?.stop();
    }
  });
});
