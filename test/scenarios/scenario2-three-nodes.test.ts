/**
 * Seed scenario 2: three nodes, pool 10.244.0.0/16. One /26 per node; each node's table lists
 * the other two blocks via their nodes and its own blackhole; workloads on different nodes ping.
 * Run on the lab's shared file datastore with a GoBGP bastion, and on an etcd the lab starts with
 * a BIRD bastion; the bastion learns every block and reaches a workload on every node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScenarioLab } from './lab-fixture.js';
import { labUp } from '../../tools/lab/lab.js';
import { parsePrefix4, prefix4Within } from '../../proto/prefix.js';

const nodes = ['node1', 'node2', 'node3'] as const;
const blockOf = (ip: string): string => {
  const a = parsePrefix4(`${ip}/26`, false);
  return `${[24, 16, 8, 0].map((s) => (a.addr >>> s) & 255).join('.')}/26`;
};

const variants = [
  { datastore: 'file', bastion: 'gobgp' },
  { datastore: 'etcd', bastion: 'bird' },
] as const;

for (const { datastore, bastion } of variants) {
  describe(`scenario 2: three nodes, one /26 each (${datastore} datastore, ${bastion} bastion)`, () => {
    const lab = new ScenarioLab(`pt-lab-${process.pid}s2${datastore[0]}`);

    beforeAll(async () => {
      await lab.up(`
network: 10.0.2.0/24
pools:
  - { name: default-ipv4-ippool, cidr: 10.244.0.0/16 }
hosts:
  - { name: node1, role: petrel, address: 10.0.2.1/24, workloads: 1 }
  - { name: node2, role: petrel, address: 10.0.2.2/24, workloads: 1 }
  - { name: node3, role: petrel, address: 10.0.2.3/24, workloads: 1 }
  - { name: bastion, role: ${bastion}, address: 10.0.2.10/24 }
`, { datastore });
      expect(lab.st.datastore.startsWith(`${datastore}:`)).toBe(true);
      await lab.wait();
    }, 150_000);
    afterAll(() => lab.down(), 60_000);

    it('gives each node its own /26 inside the pool', () => {
      const blocks = nodes.map((n) => blockOf(lab.workloads(n)[0]!.address));
      expect(new Set(blocks).size).toBe(3);
      const pool = parsePrefix4('10.244.0.0/16');
      for (const b of blocks) expect(prefix4Within(parsePrefix4(b).addr, 26, pool.addr, pool.len)).toBe(true);
    });

    it('each table has its own blackhole and the two other blocks via their nodes', async () => {
      for (const self of nodes) {
        const table = await lab.birdRoutes(self);
        const got = table.map((r) => (r.type === 'blackhole' ? `blackhole ${r.dst}` : `${r.dst} via ${r.gateway ?? '?'}`)).sort();
        const want = nodes.map((n) => {
          const b = blockOf(lab.workloads(n)[0]!.address);
          return n === self ? `blackhole ${b}` : `${b} via ${lab.ip(n)}`;
        }).sort();
        expect(got).toEqual(want);
      }
    });

    it(`the ${bastion} bastion learns every block via its node and reaches a workload on each`, async () => {
      const got = (await lab.birdRoutes('bastion')).map((r) => `${r.dst} via ${r.gateway ?? '?'}`).sort();
      expect(got).toEqual(nodes.map((n) => `${blockOf(lab.workloads(n)[0]!.address)} via ${lab.ip(n)}`).sort());
      for (const n of nodes) expect(await lab.ping(lab.ns('bastion'), lab.workloads(n)[0]!.address), `bastion -> ${n}`).toBe(3);
    });

    it('lab up again changes nothing: same daemons, same workloads', async () => {
      const again = await labUp(lab.st.topology, { name: lab.name, datastore });
      expect(again.processes.map((p) => p.pid)).toEqual(lab.st.processes.map((p) => p.pid));
      expect(again.workloads).toEqual(lab.st.workloads);
      expect(again.namespaces).toEqual(lab.st.namespaces);
    });

    it('workloads on different nodes ping each other', async () => {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          expect(await lab.ping(lab.workloads(from)[0]!.namespace, lab.workloads(to)[0]!.address), `${from} -> ${to}`).toBe(3);
        }
      }
    });
  });
}
