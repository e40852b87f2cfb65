/**
 * Issues 5 and 9 end to end: three dual-stack petrel nodes in a full mesh plus a real BIRD 2
 * bastion (global peer, one session per family), in network namespaces. The kernel tables are the
 * witnesses, for IPv4 and IPv6 alike: own blocks as blackholes, the other IPv4 blocks via their
 * node on the IPIP device (onlink), the other IPv6 blocks via their node's IPv6 address on eth0,
 * every block on the bastion via its node; pings (and ping -6) through those routes; a node's
 * block removed from the datastore and a node stopped with SIGTERM vanish from every other table;
 * a node restarted with the mock sink computes the same table its kernel sink programmed.
 */
import { describe, expect, it } from 'vitest';
import type { SinkRoute } from '../../daemon/model.js';
import { nsExec, routes, run } from '../../tools/lab/netns.js';
import { MeshLab, sortRoutes, type PetrelNode } from './mesh-fixture.js';
import type { KernelRoute } from '../support/kernel-routes.js';
import { labForFile } from '../support/lab-lifecycle.js';

const lab = new MeshLab('r', 1);
const others = (n: PetrelNode) => lab.nodes.filter((o) => o !== n);
const blockRoute = (rs: readonly KernelRoute[], block: string) => rs.find((r) => r.dst === block);
/** Both families' proto bird routes of a namespace. */
const allBirdRoutes = async (ns: string) => [...(await lab.birdRoutes(ns)), ...(await lab.birdRoutes6(ns))];
/** node3's table as its kernel sink programmed it in the converged cluster (compared with the mock sink later). */
let node3Kernel: SinkRoute[] = [];

/**
 * The table a node should have: its blocks as blackholes, every other given IPv4 block via its node
 * on tunl0 (onlink), every other IPv6 block via its node's IPv6 address on eth0 (IPIP is IPv4 only).
 */
/**
 * What the RIB hands its sink: the same routes, but an IPv6 route names no device (the kernel
 * resolves eth0 from the on-link gateway, as for BIRD's routes on a Calico node), so the mock
 * sink's table has none where the kernel's dump shows the resolved one.
 */
const asRibSends = (rs: readonly SinkRoute[]): SinkRoute[] =>
  rs.map((r) => (r.type === 'unicast' && r.prefix.includes(':') ? (({ dev: _dev, ...rest }) => rest)(r) : r));

function wantedTable(n: PetrelNode, peers: readonly PetrelNode[]): SinkRoute[] {
  return sortRoutes([
    { prefix: n.block, type: 'blackhole' },
    { prefix: n.block6, type: 'blackhole' },
    ...peers.map((o): SinkRoute => ({ prefix: o.block, type: 'unicast', via: o.ip, dev: 'tunl0', onlink: true })),
    ...peers.map((o): SinkRoute => ({ prefix: o.block6, type: 'unicast', via: o.ip6, dev: 'eth0' })),
  ]);
}

labForFile(lab, {
  ready: () =>
    lab.until('every node and the bastion to learn every block of both families', async () => {
      for (const n of lab.nodes) if ((await lab.birdRoutes(n.ns)).length < 3 || (await lab.birdRoutes6(n.ns)).length < 3) return false;
      return (await lab.birdRoutes(lab.bastion.ns)).length === 3 && (await lab.birdRoutes6(lab.bastion.ns)).length === 3;
    }, 40_000),
  upTimeoutMs: 90_000,
});

describe('three petrel nodes and a BIRD bastion', () => {
  it('each node got its own /26 from the IPv4 pool and its own /122 (the default block size) from the IPv6 pool', () => {
    const blocks = lab.nodes.map((n) => n.block);
    expect(new Set(blocks).size).toBe(3);
    for (const b of blocks) expect(b).toMatch(/^10\.78\.1\.(0|64|128|192)\/26$/);
    const blocks6 = lab.nodes.map((n) => n.block6);
    expect(new Set(blocks6).size).toBe(3);
    for (const b of blocks6) expect(b).toMatch(/^fd78:1::([0-9a-f]{1,3})?\/122$/);
  });

  it('every session of both families is Established: the bastion on its IPv4 and IPv6 sessions, each node on bird.ctl and bird6.ctl', async () => {
    const protos = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'protocols']);
    for (const n of lab.nodes) {
      expect(protos).toMatch(new RegExp(`^${n.name}\\s+BGP\\s+---\\s+up\\s+\\S+\\s+Established`, 'm'));
      expect(protos).toMatch(new RegExp(`^${n.name}_v6\\s+BGP\\s+---\\s+up\\s+\\S+\\s+Established`, 'm'));
    }
    for (const n of lab.nodes) {
      const four = await run('birdc', ['-s', n.ctl, 'show', 'protocols']);
      const six = await run('birdc', ['-s', n.ctl6, 'show', 'protocols']);
      const rows = (out: string) => out.split('\n').filter((l) => /\sBGP\s/.test(l));
      expect(rows(four), `${n.name} bird.ctl`).toHaveLength(3);
      expect(rows(six), `${n.name} bird6.ctl`).toHaveLength(3);
      expect(rows(four).every((l) => /\sup\s+\S+\s+Established\s*$/.test(l))).toBe(true);
      expect(rows(six).every((l) => /\sup\s+\S+\s+Established\s*$/.test(l))).toBe(true);
      expect(six).toMatch(new RegExp(`^Global_${lab.bastion.ip6.replaceAll(':', '_')}\\s+BGP`, 'm'));
      for (const o of others(n)) expect(six).toMatch(new RegExp(`^Mesh_${o.ip6.replaceAll(':', '_')}\\s+BGP`, 'm'));
      expect(four).not.toContain('Mesh_fd');
    }
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
    }
  });

  it('each kernel has a blackhole for its own /122 and the other /122s via their node\'s IPv6 address on eth0, proto bird', async () => {
    for (const n of lab.nodes) {
      const rs = await lab.birdRoutes6(n.ns);
      expect(blockRoute(rs, n.block6), `${n.name} own IPv6 block`).toMatchObject({ type: 'blackhole', protocol: 'bird' });
      for (const o of others(n)) {
        expect(blockRoute(rs, o.block6), `${n.name} → ${o.name} (IPv6)`).toMatchObject({ gateway: o.ip6, dev: 'eth0', protocol: 'bird' });
      }
      expect(rs).toHaveLength(3);
      // The kernel sink reads back both families: the whole table is exactly what the node wants.
      expect(await lab.kernelTable(n.name)).toEqual(wantedTable(n, others(n)));
    }
    node3Kernel = await lab.kernelTable('node3');
  });

  it("the bastion's kernel has every node's block via that node, proto bird", async () => {
    const rs = await lab.birdRoutes(lab.bastion.ns);
    expect(rs).toHaveLength(3);
    for (const n of lab.nodes) expect(blockRoute(rs, n.block), n.name).toMatchObject({ gateway: n.ip, dev: 'eth0', protocol: 'bird' });
  });

  it("the bastion's IPv6 kernel table has every node's /122 via that node's IPv6 address, proto bird", async () => {
    const rs = await lab.birdRoutes6(lab.bastion.ns);
    expect(rs).toHaveLength(3);
    for (const n of lab.nodes) expect(blockRoute(rs, n.block6), n.name).toMatchObject({ gateway: n.ip6, dev: 'eth0', protocol: 'bird' });
    // BIRD learned each with the node's global IPv6 address as next hop.
    const all = await run('birdc', ['-s', lab.bastion.ctl, 'show', 'route', 'all', 'for', lab.node('node2').block6]);
    expect(all).toContain(`BGP.next_hop: ${lab.node('node2').ip6}`);
  });

  it("an address in each node's block answers ping from the bastion, and from another node over tunl0", async () => {
    for (const n of lab.nodes) expect(await lab.ping(lab.bastion.ns, n.addr), `bastion → ${n.name} ${n.addr}`).toBe(3);
    const [n1, n2] = lab.nodes as [PetrelNode, PetrelNode];
    expect(await lab.ping(n1.ns, n2.addr), `node1 → node2 ${n2.addr}`).toBe(3);
  });

  it("an address in each node's /122 answers ping -6 from the bastion and from every other node", async () => {
    for (const n of lab.nodes) expect(await lab.ping(lab.bastion.ns, n.addr6), `bastion → ${n.name} ${n.addr6}`).toBe(3);
    for (const from of lab.nodes) {
      for (const to of others(from)) expect(await lab.ping(from.ns, to.addr6), `${from.name} → ${to.name} ${to.addr6}`).toBe(3);
    }
  });

  it('stopping a node (SIGTERM) removes its blocks of both families from every other kernel and the bastion', async () => {
    const n3 = lab.node('node3');
    expect(await lab.stopPetrel('node3')).toBe(0);
    await lab.until('node3 blocks to leave node1, node2 and the bastion', async () => {
      for (const ns of [lab.node('node1').ns, lab.node('node2').ns, lab.bastion.ns]) {
        const rs = await allBirdRoutes(ns);
        if (blockRoute(rs, n3.block) || blockRoute(rs, n3.block6)) return false;
      }
      return true;
    }, 20_000);
    expect((await lab.birdRoutes(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([lab.node('node1').block, lab.node('node2').block].sort());
    expect((await lab.birdRoutes6(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([lab.node('node1').block6, lab.node('node2').block6].sort());
    expect(await lab.ping(lab.bastion.ns, n3.addr)).toBe(0);
    expect(await lab.ping(lab.bastion.ns, n3.addr6)).toBe(0);
  });

  it('the same node restarted with the mock sink holds the table its kernel sink programmed', async () => {
    const n3 = lab.node('node3');
    expect(node3Kernel).toEqual(wantedTable(n3, others(n3)));
    lab.startPetrel('node3', 'mock');
    const mock = await lab.until('the mock table to hold both other blocks of each family', async () => {
      const t = await lab.mockTable('node3');
      return t && t.length === 6 ? t : undefined;
    }, 30_000);
    expect(mock).toEqual(asRibSends(node3Kernel));
    await lab.until('node3 blocks back on node1, node2 and the bastion', async () => {
      for (const ns of [lab.node('node1').ns, lab.node('node2').ns, lab.bastion.ns]) {
        const rs = await allBirdRoutes(ns);
        if (!blockRoute(rs, n3.block) || !blockRoute(rs, n3.block6)) return false;
      }
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
    // node2 keeps its IPv6 block: only the removed IPv4 block goes.
    const withoutN2v4 = (rs: SinkRoute[]) => rs.filter((r) => r.prefix !== n2.block);
    expect(await lab.kernelTable('node1')).toEqual(withoutN2v4(wantedTable(n1, [n2, n3])));
    expect(await lab.kernelTable('node2')).toEqual(withoutN2v4(wantedTable(n2, [n1, n3])));
    expect(await lab.mockTable('node3')).toEqual(asRibSends(withoutN2v4(wantedTable(n3, [n1, n2]))));
    expect((await lab.birdRoutes(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([n1.block, n3.block].sort());
    expect((await lab.birdRoutes6(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([n1.block6, n2.block6, n3.block6].sort());
  });

  it("removing a node's IPv6 block from the datastore withdraws it everywhere too, mock sink included", async () => {
    const [n1, n2, n3] = lab.nodes as [PetrelNode, PetrelNode, PetrelNode];
    await lab.removeBlock('node2', 6);
    await lab.until("node2's IPv6 block to leave every table", async () => {
      for (const ns of [n1.ns, n2.ns, lab.bastion.ns]) if (blockRoute(await lab.birdRoutes6(ns), n2.block6)) return false;
      return !(await lab.mockTable('node3'))?.some((r) => r.prefix === n2.block6);
    }, 20_000);
    const withoutN2 = (rs: SinkRoute[]) => rs.filter((r) => r.prefix !== n2.block && r.prefix !== n2.block6);
    expect(await lab.kernelTable('node1')).toEqual(wantedTable(n1, [n3]));
    expect(await lab.kernelTable('node2')).toEqual(withoutN2(wantedTable(n2, [n1, n3])));
    expect(await lab.mockTable('node3')).toEqual(asRibSends(wantedTable(n3, [n1])));
    expect((await lab.birdRoutes6(lab.bastion.ns)).map((r) => r.dst).sort()).toEqual([n1.block6, n3.block6].sort());
    expect(await lab.ping(lab.bastion.ns, n2.addr6)).toBe(0);
    expect(await lab.ping(lab.bastion.ns, n1.addr6)).toBe(3);
  });

  it('a restarted node removes stale proto bird routes from its kernel and leaves other protocols alone', async () => {
    const [n1, n2, n3] = lab.nodes as [PetrelNode, PetrelNode, PetrelNode];
    expect(await lab.stopPetrel('node2')).toBe(0);
    // Left behind by an earlier run: an unknown blackhole, a route for a block nobody owns, and a route that is not ours.
    await nsExec(n2.ns, 'ip', ['route', 'replace', 'blackhole', '10.99.0.0/26', 'proto', 'bird']);
    await nsExec(n2.ns, 'ip', ['route', 'replace', '10.78.1.250/32', 'via', n1.ip, 'dev', 'tunl0', 'onlink', 'proto', 'bird']);
    await nsExec(n2.ns, 'ip', ['route', 'replace', '10.98.0.0/24', 'via', lab.bastion.ip, 'proto', 'static']);
    // The same in the IPv6 table.
    await nsExec(n2.ns, 'ip', ['-6', 'route', 'replace', 'blackhole', 'fd99::/122', 'proto', 'bird']);
    await nsExec(n2.ns, 'ip', ['-6', 'route', 'replace', 'fd78:1::ff00/122', 'via', n1.ip6, 'dev', 'eth0', 'proto', 'bird']);
    await nsExec(n2.ns, 'ip', ['-6', 'route', 'replace', 'fd98::/64', 'via', lab.bastion.ip6, 'proto', 'static']);
    await lab.waitReady(lab.startPetrel('node2', 'kernel'), n2.ctl);
    const wanted = wantedTable(n2, [n1, n3]).filter((r) => r.prefix !== n2.block && r.prefix !== n2.block6);
    await lab.until('node2 to hold exactly the routes it wants', async () => JSON.stringify(await lab.kernelTable('node2')) === JSON.stringify(wanted), 30_000);
    expect((await routes(n2.ns)).find((r) => r.dst === '10.98.0.0/24')).toMatchObject({ gateway: lab.bastion.ip, protocol: 'static' });
    const six = JSON.parse(await nsExec(n2.ns, 'ip', ['-json', '-6', 'route', 'show'])) as KernelRoute[];
    expect(six.find((r) => r.dst === 'fd98::/64')).toMatchObject({ gateway: lab.bastion.ip6, protocol: 'static' });
  });
});
