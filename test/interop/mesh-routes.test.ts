/**
 * Issue 5 end to end: three petrel nodes in a full mesh plus a real BIRD 2 bastion (global peer),
 * in network namespaces. The kernel tables are the witnesses: own block as a blackhole, the other
 * blocks via their node on the IPIP device (onlink), every block on the bastion via its node;
 * pings through those routes; a node's block removed from the datastore and a node stopped with
 * SIGTERM vanish from every other table; a node restarted with the mock sink computes the same
 * table its kernel sink programmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SinkRoute } from '../../daemon/model.js';
import { nsExec, routes } from '../../tools/lab/netns.js';
import { MeshLab, sortRoutes, type KernelRoute, type PetrelNode } from './mesh-fixture.js';

const lab = new MeshLab('r', 1);
const others = (n: PetrelNode) => lab.nodes.filter((o) => o !== n);
const blockRoute = (rs: readonly KernelRoute[], block: string) => rs.find((r) => r.dst === block);
/** node3's table as its kernel sink programmed it in the converged cluster (compared with the mock sink later). */
let node3Kernel: SinkRoute[] = [];

/** The table a node should have: its block as a blackhole, every other given block via its node on tunl0. */
function wantedTable(n: PetrelNode, peers: readonly PetrelNode[]): SinkRoute[] {
  return sortRoutes([
    { prefix: n.block, type: 'blackhole' },
    ...peers.map((o): SinkRoute => ({ prefix: o.block, type: 'unicast', via: o.ip, dev: 'tunl0', onlink: true })),
  ]);
}

beforeAll(async () => {
  try {
    await lab.up();
    await lab.until('every node and the bastion to learn every block', async () => {
      for (const n of lab.nodes) if ((await lab.birdRoutes(n.ns)).length < 3) return false;
      return (await lab.birdRoutes(lab.bastion.ns)).length === 3;
    }, 40_000);
  } catch (e) {
    await lab.down();
    throw e;
  }
}, 90_000);
afterAll(() => lab.down(), 60_000);

describe('three petrel nodes and a BIRD bastion', () => {
  it('each node got its own /26 from IPAM', () => {
    const blocks = lab.nodes.map((n) => n.block);
    expect(new Set(blocks).size).toBe(3);
    for (const b of blocks) expect(b).toMatch(/^10\.78\.1\.(0|64|128|192)\/26$/);
  });

  it('each kernel has a blackhole for its own block and the others via their node on tunl0, onlink, proto bird', async () => {
    for (const n of lab.nodes) {
      const rs = await lab.birdRoutes(n.ns);
      expect(blockRoute(rs, n.block), `${n.name} own block`).toMatchObject({ type: 'blackhole', protocol: 'bird' });
      for (const o of others(n)) {
        const r = blockRoute(rs, o.block);
        expect(r, `${n.name} → ${o.name}`).toMatchObject({ gateway: o.ip, dev: 'tunl0', protocol: 'bird' });
        expect(r?.flags).toContain('onlink');
      }
      expect(rs).toHaveLength(3);
      expect(await lab.kernelTable(n.name)).toEqual(wantedTable(n, others(n)));
    }
    node3Kernel = await lab.kernelTable('node3');
  });

  it("the bastion's kernel has every node's block via that node, proto bird", async () => {
    const rs = await lab.birdRoutes(lab.bastion.ns);
    expect(rs).toHaveLength(3);
    for (const n of lab.nodes) expect(blockRoute(rs, n.block), n.name).toMatchObject({ gateway: n.ip, dev: 'eth0', protocol: 'bird' });
  });

  it("an address in each node's block answers ping from the bastion, and from another node over tunl0", async () => {
    for (const n of lab.nodes) expect(await lab.ping(lab.bastion.ns, n.addr), `bastion → ${n.name} ${n.addr}`).toBe(3);
    const [n1, n2] = lab.nodes as [PetrelNode, PetrelNode];
    expect(await lab.ping(n1.ns, n2.addr), `node1 → node2 ${n2.addr}`).toBe(3);
  });

  it('stopping a node (SIGTERM) removes its block from every other kernel and the bastion', async () => {
    const n3 = lab.node('node3');
    expect(await lab.stopPetrel('node3')).toBe(0);
    await lab.until('node3 block to leave node1, node2 and the bastion', async () => {
      for (const ns of [lab.node('node1').ns, lab.node('node2').ns, lab.bastion.ns]) if (blockRoute(await lab.birdRoutes(ns), n3.block)) return false;
      return true;
    }, 20_000);
    expect((await lab.birdRoutes(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([lab.node('node1').block, lab.node('node2').block].sort());
    expect(await lab.ping(lab.bastion.ns, n3.addr)).toBe(0);
  });

  it('the same node restarted with the mock sink holds the table its kernel sink programmed', async () => {
    const n3 = lab.node('node3');
    expect(node3Kernel).toEqual(wantedTable(n3, others(n3)));
    lab.startPetrel('node3', 'mock');
    const mock = await lab.until('the mock table to hold both other blocks', async () => {
      const t = await lab.mockTable('node3');
      return t && t.length === 3 ? t : undefined;
    }, 30_000);
    expect(mock).toEqual(node3Kernel);
    await lab.until('node3 block back on node1, node2 and the bastion', async () => {
      for (const ns of [lab.node('node1').ns, lab.node('node2').ns, lab.bastion.ns]) if (!blockRoute(await lab.birdRoutes(ns), n3.block)) return false;
      return true;
    }, 30_000);
  });

  it("removing a node's block from the datastore withdraws it everywhere, mock sink included", async () => {
    const n2 = lab.node('node2');
    await lab.removeBlock('node2');
    await lab.until("node2's block to leave every table", async () => {
      for (const ns of [lab.node('node1').ns, n2.ns, lab.bastion.ns]) if (blockRoute(await lab.birdRoutes(ns), n2.block)) return false;
      return !(await lab.mockTable('node3'))?.some((r) => r.prefix === n2.block);
    }, 20_000);
    const n1 = lab.node('node1');
    const n3 = lab.node('node3');
    expect(await lab.kernelTable('node1')).toEqual(wantedTable(n1, [n3]));
    expect(await lab.kernelTable('node2')).toEqual(wantedTable(n2, [n1, n3]).filter((r) => r.prefix !== n2.block));
    expect(await lab.mockTable('node3')).toEqual(wantedTable(n3, [n1]));
    expect((await lab.birdRoutes(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([n1.block, n3.block].sort());
  });

  it('a restarted node removes stale proto bird routes from its kernel and leaves other protocols alone', async () => {
    const [n1, n2, n3] = lab.nodes as [PetrelNode, PetrelNode, PetrelNode];
    expect(await lab.stopPetrel('node2')).toBe(0);
    // Left behind by an earlier run: an unknown blackhole, a route for a block nobody owns, and a route that is not ours.
    await nsExec(n2.ns, 'ip', ['route', 'replace', 'blackhole', '10.99.0.0/26', 'proto', 'bird']);
    await nsExec(n2.ns, 'ip', ['route', 'replace', '10.78.1.250/32', 'via', n1.ip, 'dev', 'tunl0', 'onlink', 'proto', 'bird']);
    await nsExec(n2.ns, 'ip', ['route', 'replace', '10.98.0.0/24', 'via', lab.bastion.ip, 'proto', 'static']);
    await lab.waitReady(lab.startPetrel('node2', 'kernel'), n2.ctl);
    const wanted = wantedTable(n2, [n1, n3]).filter((r) => r.prefix !== n2.block);
    await lab.until('node2 to hold exactly the routes it wants', async () => JSON.stringify(await lab.kernelTable('node2')) === JSON.stringify(wanted), 30_000);
    expect((await routes(n2.ns)).find((r) => r.dst === '10.98.0.0/24')).toMatchObject({ gateway: lab.bastion.ip, protocol: 'static' });
  });
});
