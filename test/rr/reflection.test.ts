/**
 * Route reflection end to end (RFC 4456, issue 9): two reflectors and six clients with the
 * node-to-node mesh off converge to the tables a full mesh gives (every other node's block via
 * that node's address), reflected routes carry ORIGINATOR_ID and CLUSTER_LIST, and stopping one
 * reflector leaves every client's table complete through the other.
 */
import { describe, expect, it } from 'vitest';
import { CLUSTER_ID, RrLab } from './rr-lab.js';
import { labForFile } from '../support/lab-lifecycle.js';

const lab = new RrLab();

labForFile(lab, {
  upTimeoutMs: 60_000,
  downTimeoutMs: 30_000,
});

function same(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...b].every(([k, v]) => a.get(k) === v);
}

/** The last table that did not match, for the failure message. */
let lastMismatch = '';

async function converged(skip: readonly string[] = []): Promise<boolean> {
  for (const n of lab.nodes) {
    if (skip.includes(n.name)) continue;
    const have = await lab.table(n.name);
    const want = lab.expected(n.name, skip);
    if (!same(have, want)) {
      lastMismatch = `${n.name}: have ${JSON.stringify([...have])}, want ${JSON.stringify([...want])}`;
      return false;
    }
  }
  return true;
}

async function untilConverged(what: string, skip: readonly string[], timeoutMs: number): Promise<void> {
  await lab.until(what, () => converged(skip), timeoutMs).catch((e: Error) => {
    throw new Error(`${lastMismatch}\n${e.message}`);
  });
}

describe('route reflection with real daemons', () => {
  it('every node, client or reflector, holds the other seven nodes\' blocks (v4 and v6) via their node addresses', async () => {
    await untilConverged('all eight kernel tables to match a full mesh', [], 30_000);
    const c1 = await lab.table('client1');
    expect(c1.size).toBe(14);
    for (const n of lab.nodes.filter((x) => x.name !== 'client1')) {
      expect(c1.get(n.block)).toBe(n.ip);
      expect(c1.get(n.block6)).toBe(n.ip6);
    }
  }, 40_000);

  it('clients peer only with the reflectors; reflectors with everyone', async () => {
    const c1 = await lab.birdc('client1', 'show', 'protocols');
    for (const rr of lab.reflectors) expect(c1).toMatch(new RegExp(`Node_${rr.ip.replaceAll('.', '_')}\\s+BGP\\s+\\S+\\s+up`));
    expect(c1).not.toMatch(/Mesh_/);
    expect(c1).not.toContain(lab.node('client2').ip.replaceAll('.', '_'));
    const rr1 = await lab.birdc('rr1', 'show', 'protocols');
    for (const n of lab.nodes.filter((x) => x.name !== 'rr1')) expect(rr1).toMatch(new RegExp(`Node_${n.ip.replaceAll('.', '_')}\\s+BGP\\s+\\S+\\s+up`));
    // The IPv6 sessions, on the IPv6 socket.
    const six = await lab.birdc6('client1', 'show', 'protocols');
    for (const rr of lab.reflectors) expect(six).toMatch(new RegExp(`Node_${rr.ip6.replaceAll(':', '_')}\\s+BGP\\s+\\S+\\s+up`));
  });

  it('a reflected route carries the originator and the cluster id, next hop unchanged', async () => {
    const c2 = lab.node('client2');
    const out = await lab.birdc('client1', 'show', 'route', 'all', 'for', c2.block);
    // One path from each reflector, both pointing at client2 itself.
    expect(out.match(/BGP\.originator_id: (\S+)/g)).toEqual([`BGP.originator_id: ${c2.ip}`, `BGP.originator_id: ${c2.ip}`]);
    expect(out.match(/BGP\.cluster_list: .+/g)).toEqual([`BGP.cluster_list: ${CLUSTER_ID}`, `BGP.cluster_list: ${CLUSTER_ID}`]);
    expect(out.match(/BGP\.next_hop: (\S+)/g)).toEqual([`BGP.next_hop: ${c2.ip}`, `BGP.next_hop: ${c2.ip}`]);
    // A reflector's own block is not reflected by it: no ORIGINATOR_ID on the path from rr1 itself.
    const own = await lab.birdc('client1', 'show', 'route', 'all', 'for', lab.node('rr1').block);
    expect(own).toContain(`BGP.next_hop: ${lab.node('rr1').ip}`);
  });

  it('a reflected IPv6 route: the originator is the client\'s router id, the next hop its IPv6 address', async () => {
    const c2 = lab.node('client2');
    const out = await lab.birdc6('client1', 'show', 'route', 'all', 'for', c2.block6);
    expect(out.match(/BGP\.originator_id: (\S+)/g)).toEqual([`BGP.originator_id: ${c2.ip}`, `BGP.originator_id: ${c2.ip}`]);
    expect(out.match(/BGP\.cluster_list: .+/g)).toEqual([`BGP.cluster_list: ${CLUSTER_ID}`, `BGP.cluster_list: ${CLUSTER_ID}`]);
    for (const nh of out.match(/BGP\.next_hop: .+/g) ?? []) expect(nh.split(' ')[1]).toBe(c2.ip6);
    expect(out.match(/BGP\.next_hop: .+/g)).toHaveLength(2);
  });

  it('a reflector never sends a client its own route back', async () => {
    const c1 = lab.node('client1');
    const out = await lab.birdc('client1', 'show', 'route', 'all', 'for', c1.block);
    expect(out).not.toMatch(/BGP\.originator_id/);
  });

  it('with one reflector stopped (SIGTERM) every remaining table stays complete through the other', async () => {
    const rr1 = lab.node('rr1');
    // Watch two clients' tables while rr1 goes away: no other block may vanish or move, ever.
    const gaps: string[] = [];
    let watching = true;
    let samples = 0;
    const watcher = (async () => {
      while (watching) {
        for (const c of ['client1', 'client4']) {
          const t = await lab.table(c);
          samples++;
          for (const [block, via] of lab.expected(c, ['rr1'])) if (t.get(block) !== via) gaps.push(`${c}: ${block} ${t.get(block) ?? 'missing'}`);
        }
      }
    })();
    try {
      await lab.stop('rr1');
      // The clients notice (session down), and rr1's own blocks are withdrawn everywhere.
      await lab.until('client1 to see rr1 down', async () => !/Node_\S+11\s+BGP\s+\S+\s+up/.test(await lab.birdc('client1', 'show', 'protocols')), 15_000);
      await untilConverged('tables without rr1 to match a mesh of the rest', ['rr1'], 20_000);
    } finally {
      watching = false;
      await watcher;
    }
    expect(samples).toBeGreaterThan(2);
    expect(gaps).toEqual([]);
    for (const c of lab.clients) {
      const t = await lab.table(c.name);
      expect(t.has(rr1.block)).toBe(false);
      expect(t.has(rr1.block6)).toBe(false);
      expect(t.size).toBe(12);
    }
    const out = await lab.birdc('client1', 'show', 'route', 'all', 'for', lab.node('client6').block);
    expect(out.match(/BGP\.originator_id: \S+/g)).toEqual([`BGP.originator_id: ${lab.node('client6').ip}`]);
  }, 40_000);
});
