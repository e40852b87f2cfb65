import { describe, expect, it } from 'vitest';
import { AdjRibOut, ExportIndex } from '../../daemon/rib/adj-rib-out.js';
import { ExportClasses, ExportMemo } from '../../daemon/rib/export-attrs.js';
import { RouteEngine } from '../../daemon/rib/index.js';
import { cidrToKey } from '../../daemon/rib/keys.js';
import { MockSink } from '../../daemon/sink/mock.js';
import { decodeUpdate, defaultCodecContext } from '../../proto/index.js';
import { announce, attrs, intent, peer, pool, withdraw } from './helpers.js';

/** An output that keeps the messages it was handed, as handed. */
class Wire {
  readonly msgs: Uint8Array[] = [];
  send(msgs: Uint8Array[]): void {
    this.msgs.push(...msgs);
  }
  take(): Uint8Array[] {
    return this.msgs.splice(0);
  }
}

const ebgpSource = peer('Global_198_51_100_1', { ibgp: false, peerAs: 65001, peerIp: '198.51.100.1', neighborId: '198.51.100.1', localAddress: '172.16.30.1' });
const mesh = (n: number) => peer(`Mesh_172_16_30_${n}`, { peerIp: `172.16.30.${n}`, neighborId: `172.16.30.${n}` });

async function setup() {
  const engine = new RouteEngine({ intent: intent({ pools: [pool('10.0.0.0/8')], ownBlocks: [] }), sink: new MockSink(), now: () => 1_700_000_000 });
  const wires = [new Wire(), new Wire(), new Wire()];
  for (let i = 0; i < wires.length; i++) await engine.peerUp(mesh(2 + i), wires[i]!);
  const fromSource = new Wire();
  await engine.peerUp(ebgpSource, fromSource);
  const ext = new Wire();
  await engine.peerUp(peer('Global_192_0_2_9', { ibgp: false, peerAs: 65009, peerIp: '192.0.2.9', neighborId: '192.0.2.9', localAddress: '192.0.2.1' }), ext);
  for (const w of [...wires, fromSource, ext]) w.take();
  return { engine, wires, fromSource, ext };
}

const decode = (m: Uint8Array) => decodeUpdate(m, defaultCodecContext());

describe('export classes: one rewrite and one encoding for the peers that export alike', () => {
  it('sends every iBGP mesh peer the same UPDATE objects, and an eBGP peer its own rewrite', async () => {
    const { engine, wires, fromSource, ext } = await setup();
    await engine.peerUpdate(ebgpSource.name, announce(['10.1.0.0/24', '10.1.1.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', med: 7, localPref: undefined })));
    await engine.peerUpdate(ebgpSource.name, announce(['10.1.2.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', med: 8, localPref: undefined })));
    const sent = wires.map((w) => w.take());
    expect(sent[0]).toHaveLength(2);
    // Shared, not merely equal: encoded once for the whole class.
    for (const s of sent.slice(1)) expect(s.every((m, i) => m === sent[0]![i])).toBe(true);
    const first = decode(sent[0]![0]!);
    expect(first.attrs).toMatchObject({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', med: 7, localPref: 100 });
    expect(fromSource.take()).toHaveLength(0);
    const e = ext.take().map(decode);
    expect(e[0]!.attrs).toMatchObject({ asPath: [{ type: 2, asns: [64512, 65001] }], nextHop: '192.0.2.1' });
    expect(e[0]!.attrs!.med).toBeUndefined();
    expect(engine.counters('Mesh_172_16_30_3').exported).toBe(3);
  });

  it('withdraws from every peer, and a change back is sent again', async () => {
    const { engine, wires, ext } = await setup();
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', localPref: undefined });
    await engine.peerUpdate(ebgpSource.name, announce(['10.1.0.0/24'], a));
    for (const w of [...wires, ext]) w.take();
    await engine.peerUpdate(ebgpSource.name, withdraw(['10.1.0.0/24']));
    for (const w of [...wires, ext]) {
      const m = w.take().map(decode);
      expect(m).toHaveLength(1);
      expect(Array.from(m[0]!.withdrawn)).toEqual([0x0a010000, 24]);
    }
    expect(engine.counters('Mesh_172_16_30_2').exported).toBe(0);
    await engine.peerUpdate(ebgpSource.name, announce(['10.1.0.0/24'], a));
    for (const w of wires) expect(w.take().map(decode)[0]!.nlri.length).toBe(2);
  });

  it('a peer that came up later gets its own full table, not the others\' batch', async () => {
    const { engine, wires } = await setup();
    await engine.peerUpdate(ebgpSource.name, announce(['10.1.0.0/24', '10.1.1.0/24'], attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', localPref: undefined })));
    for (const w of wires) w.take();
    const late = new Wire();
    await engine.peerUp(mesh(9), late);
    const m = late.take().map(decode);
    expect(m[0]!.nlri.length).toBe(4);
    expect(m.at(-1)!.nlri.length + m.at(-1)!.withdrawn.length).toBe(0); // End-of-RIB
  });
});

describe('batchFlush: the UPDATEs applied in one turn go out as one batch', () => {
  it('sends nothing until the turn ends, then one drained batch per peer, before any queued task runs', async () => {
    const { engine, wires } = await setup();
    engine.batchFlush = true;
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', localPref: undefined });
    expect(engine.applyUpdate(ebgpSource.name, announce(['10.1.0.0/24'], a))).toEqual({ maxPrefixExceeded: false, prefixes: 1 });
    expect(engine.applyUpdate(ebgpSource.name, announce(['10.1.1.0/24'], a))).toEqual({ maxPrefixExceeded: false, prefixes: 2 });
    expect(wires[0]!.msgs).toHaveLength(0);
    // A task queued in the same turn (a withdrawal) is told after the batch, in order.
    const later = engine.peerUpdate(ebgpSource.name, withdraw(['10.1.0.0/24']));
    await Promise.resolve();
    const first = wires.map((w) => w.msgs.map(decode));
    for (const m of first) {
      expect(m).toHaveLength(1);
      expect(Array.from(m[0]!.nlri)).toEqual([0x0a010000, 24, 0x0a010100, 24]);
    }
    await later;
    for (const w of wires) {
      const m = w.take().map(decode);
      expect(m).toHaveLength(2);
      expect(Array.from(m[1]!.withdrawn)).toEqual([0x0a010000, 24]);
    }
  });
});

describe('export counters of routes refused for a whole class', () => {
  it('counts a filtered route for every member once, for a member that joins later only from then, and keeps them after it leaves', async () => {
    const { engine } = await setup();
    const a = attrs({ asPath: [{ type: 2, asns: [65001] }], nextHop: '198.51.100.1', localPref: undefined });
    // 20.0.0.0/8 is in no pool: the export filter refuses it toward every peer.
    await engine.peerUpdate(ebgpSource.name, announce(['20.1.0.0/24', '20.1.1.0/24'], a));
    for (const n of ['Mesh_172_16_30_2', 'Mesh_172_16_30_4', 'Global_192_0_2_9']) {
      expect(engine.counters(n).exportUpdates).toEqual({ received: 2, rejected: 0, filtered: 2, accepted: 0 });
    }
    expect(engine.counters(ebgpSource.name).exportUpdates.received).toBe(0);
    const late = new Wire();
    await engine.peerUp(mesh(9), late);
    // The full-table walk toward it counts both once.
    expect(engine.counters('Mesh_172_16_30_9').exportUpdates).toMatchObject({ received: 2, filtered: 2 });
    await engine.peerUpdate(ebgpSource.name, announce(['20.1.2.0/24'], a));
    expect(engine.counters('Mesh_172_16_30_9').exportUpdates).toMatchObject({ received: 3, filtered: 3 });
    expect(engine.counters('Mesh_172_16_30_2').exportUpdates).toMatchObject({ received: 3, filtered: 3 });
    // Accepted routes are counted per member as before.
    await engine.peerUpdate(ebgpSource.name, announce(['10.1.0.0/24'], a));
    expect(engine.counters('Mesh_172_16_30_3').exportUpdates).toEqual({ received: 4, rejected: 0, filtered: 3, accepted: 1 });
    // A member that goes down (graceful restart: its record stays) keeps what the class counted for it.
    await engine.peerDown('Mesh_172_16_30_2', { retain: true });
    await engine.peerUpdate(ebgpSource.name, announce(['20.1.3.0/24'], a));
    expect(engine.counters('Mesh_172_16_30_2').exportUpdates).toEqual({ received: 4, rejected: 0, filtered: 3, accepted: 1 });
    expect(engine.counters('Mesh_172_16_30_3').exportUpdates).toMatchObject({ received: 5, filtered: 4 });
  });
});

describe('AdjRibOut on the shared export index', () => {
  function rib() {
    const refs = new Map<number, number>();
    const counter = { ref: (id: number) => refs.set(id, (refs.get(id) ?? 0) + 1), release: (id: number) => refs.set(id, (refs.get(id) ?? 0) - 1) };
    const index = new ExportIndex();
    return { refs, index, a: new AdjRibOut(counter, index), b: new AdjRibOut(counter, index) };
  }
  const k = (c: string) => cidrToKey(c);

  it('coalesces changes per prefix until drained, keeps references balanced and frees slots', () => {
    const { refs, index, a, b } = rib();
    expect(a.announce(k('10.0.0.0/24'), 5)).toBe(true);
    expect(a.announce(k('10.0.0.0/24'), 5)).toBe(false);
    expect(a.announce(k('10.0.0.0/24'), 6)).toBe(true);
    expect(a.pendingCount).toBe(1);
    expect(b.announce(k('10.0.0.0/24'), 6)).toBe(true);
    const batch = a.drain();
    expect([...batch.announce.get(4)!.entries()]).toEqual([[6, [k('10.0.0.0/24')]]]);
    expect(b.drainIfSame(batch)).toBe(true);
    expect(refs.get(5)).toBe(0);
    expect(refs.get(6)).toBe(2);
    expect(a.get(k('10.0.0.0/24'))).toBe(6);
    expect(a.withdraw(k('10.0.0.0/24'))).toBe(true);
    expect(a.withdraw(k('10.0.0.0/24'))).toBe(false);
    expect([...a.drain().withdraw.get(4)!]).toEqual([k('10.0.0.0/24')]);
    expect(index.size).toBe(1); // b still holds it
    b.clear();
    expect(index.size).toBe(0);
    expect(refs.get(6)).toBe(0);
    expect(a.size + b.size).toBe(0);
  });

  it('drainIfSame refuses a different set of changes and leaves them pending', () => {
    const { a, b } = rib();
    a.announce(k('10.0.0.0/24'), 5);
    b.announce(k('10.0.0.0/24'), 6);
    const batch = a.drain();
    expect(b.drainIfSame(batch)).toBe(false);
    expect(b.pendingCount).toBe(1);
    expect([...b.drain().announce.get(4)!.keys()]).toEqual([6]);
  });

  it('resends everything announced after a route refresh', () => {
    const { a } = rib();
    a.announce(k('10.0.0.0/24'), 5);
    a.announce(k('10.0.1.0/24'), 5);
    a.drain();
    a.resendAll();
    expect(a.drain().announce.get(4)!.get(5)).toEqual([k('10.0.0.0/24'), k('10.0.1.0/24')]);
  });

  it('clones, resends, lists and clears every used slot, also past the first capacity and after slots were freed', () => {
    const { refs, index, a, b } = rib();
    // 1500 prefixes: the index grows past its first 1024 slots; the first 100 are freed again.
    const keys = Array.from({ length: 1500 }, (_, i) => k(`10.${i >> 8}.${i & 255}.0/24`));
    for (const key of keys) b.announce(key, 7);
    for (const key of keys.slice(0, 100)) b.withdraw(key);
    b.drain();
    expect(index.size).toBe(1400);
    a.announce(keys[1499]!, 8);
    const c = a.clone();
    expect(c.get(keys[1499]!)).toBe(8);
    expect([...b.keys()]).toEqual(keys.slice(100));
    b.resendAll();
    expect(b.drain().announce.get(4)!.get(7)).toHaveLength(1400);
    expect(refs.get(7)).toBe(1400);
    b.clear();
    expect(refs.get(7)).toBe(0);
    expect(index.size).toBe(1);
    a.clear();
    expect(index.size).toBe(1); // the clone still holds it
    c.clear();
    expect(index.size).toBe(0);
    expect(refs.get(8)).toBe(0);
  });
});

describe('ExportClasses', () => {
  it('puts peers with the same export rules and encoding in one class, others apart', () => {
    const classes = new ExportClasses();
    const x = classes.join(mesh(2));
    expect(classes.join(mesh(3))).toBe(x);
    expect(classes.join(peer('Global_192_0_2_9', { ibgp: false, peerAs: 65009 }))).not.toBe(x);
    expect(classes.join(peer('Mesh_rr', { rrClient: true }))).not.toBe(x);
    classes.leave(x);
    classes.leave(x);
    expect(classes.size).toBe(2);
  });

  it('interns identical exported sets once, by their bytes', () => {
    const cls = new ExportClasses().join(mesh(2));
    const one = cls.intern(attrs({ med: 1 }), 4);
    expect(cls.intern(attrs({ med: 1 }), 4)).toBe(one);
    expect(cls.intern(attrs({ med: 2 }), 4)).not.toBe(one);
    cls.release(one);
    expect(cls.has(one)).toBe(true);
    cls.release(one);
    expect(cls.has(one)).toBe(false);
  });
});

describe('ExportMemo', () => {
  it('remembers ids by large numeric keys, keeps working past many inserts, and clears', () => {
    const m = new ExportMemo();
    const key = (i: number) => (i * 1_000_003 * 32768 + 5) * 2;
    for (let i = 1; i <= 5000; i++) m.set(key(i), i);
    // A direct-mapped cache may have dropped older entries, but never answers a wrong id.
    let hits = 0;
    for (let i = 1; i <= 5000; i++) {
      const v = m.get(key(i));
      if (v !== undefined) {
        expect(v).toBe(i);
        hits++;
      }
    }
    expect(hits).toBeGreaterThan(1000);
    expect(m.get(key(5000))).toBe(5000);
    expect(m.get(key(9999))).toBeUndefined();
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(key(5000))).toBeUndefined();
  });
});
