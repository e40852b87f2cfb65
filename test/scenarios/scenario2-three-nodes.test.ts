/**
 * Seed scenario 2, dual-stack (issue 9): three nodes, pool 10.244.0.0/16 and an IPv6 pool with
 * Calico's default block size (122). One /26 and one /122 per node; each node's IPv4 and IPv6
 * tables list the other two blocks via their nodes and its own blackhole; workloads (each with an
 * IPv4 and an IPv6 address, as Calico pods) on different nodes ping each other over both families.
 * Run on the lab's shared file datastore with a GoBGP bastion, and on an etcd the lab starts with
 * a BIRD 2 bastion; the bastion peers with every node once per family (its own IPv6 transport
 * session, as Calico's bird6), learns every block of both families and reaches a workload on
 * every node with ping and ping -6.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScenarioLab } from './lab-fixture.js';
import { labUp } from '../../tools/lab/lab.js';
import { nsExec } from '../../tools/lab/netns.js';
import { join } from 'node:path';
import { formatPrefix6, parsePrefix4, parsePrefix6, prefix4Within, prefix6Within } from '../../proto/prefix.js';

const nodes = ['node1', 'node2', 'node3'] as const;
const POOL6 = 'fd00:10:244::/112';
const blockOf = (ip: string): string => {
  const a = parsePrefix4(`${ip}/26`, false);
  return `${[24, 16, 8, 0].map((s) => (a.addr >>> s) & 255).join('.')}/26`;
};
const blockOf6 = (ip: string): string => {
  const a = parsePrefix6(`${ip}/122`, false);
  return formatPrefix6(a.words, a.len);
};

const variants = [
  { datastore: 'file', bastion: 'gobgp' },
  { datastore: 'etcd', bastion: 'bird' },
] as const;

for (const { datastore, bastion } of variants) {
  describe(`scenario 2: three dual-stack nodes, one /26 and one /122 each (${datastore} datastore, ${bastion} bastion)`, () => {
    const lab = new ScenarioLab(`pt-lab-${process.pid}s2${datastore[0]}`);
    const v4 = (n: string) => lab.workloads(n)[0]!.address;
    const v6 = (n: string) => lab.workloads(n)[0]!.address6!;

    beforeAll(async () => {
      await lab.up(`
network: 10.0.2.0/24
network6: fd00:0:0:2::/64
pools:
  - { name: default-ipv4-ippool, cidr: 10.244.0.0/16 }
  - { name: default-ipv6-ippool, cidr: '${POOL6}' }
hosts:
  - { name: node1, role: petrel, address: 10.0.2.1/24, address6: 'fd00:0:0:2::1/64', workloads: 1 }
  - { name: node2, role: petrel, address: 10.0.2.2/24, address6: 'fd00:0:0:2::2/64', workloads: 1 }
  - { name: node3, role: petrel, address: 10.0.2.3/24, address6: 'fd00:0:0:2::3/64', workloads: 1 }
  - { name: bastion, role: ${bastion}, address: 10.0.2.10/24, address6: 'fd00:0:0:2::a/64' }
`, { datastore });
      expect(lab.st.datastore.startsWith(`${datastore}:`)).toBe(true);
      await lab.wait();
    }, 150_000);
    afterAll(() => lab.down(), 60_000);

    it('gives each node its own /26 inside the IPv4 pool and its own /122 inside the IPv6 pool', () => {
      const blocks = nodes.map((n) => blockOf(v4(n)));
      expect(new Set(blocks).size).toBe(3);
      const pool = parsePrefix4('10.244.0.0/16');
      for (const b of blocks) expect(prefix4Within(parsePrefix4(b).addr, 26, pool.addr, pool.len)).toBe(true);
      const blocks6 = nodes.map((n) => blockOf6(v6(n)));
      expect(new Set(blocks6).size).toBe(3);
      const pool6 = parsePrefix6(POOL6);
      for (const b of blocks6) expect(prefix6Within(parsePrefix6(b).words, 122, pool6.words, pool6.len)).toBe(true);
    });

    it('each table has its own blackhole and the two other blocks via their nodes', async () => {
      for (const self of nodes) {
        const table = await lab.birdRoutes(self);
        const got = table.map((r) => (r.type === 'blackhole' ? `blackhole ${r.dst}` : `${r.dst} via ${r.gateway ?? '?'}`)).sort();
        const want = nodes.map((n) => {
          const b = blockOf(v4(n));
          return n === self ? `blackhole ${b}` : `${b} via ${lab.ip(n)}`;
        }).sort();
        expect(got).toEqual(want);
      }
    });

    it('each IPv6 table has its own /122 blackhole and the two other /122s via their nodes\' IPv6 addresses on eth0', async () => {
      for (const self of nodes) {
        const table = await lab.birdRoutes6(self);
        const got = table.map((r) => (r.type === 'blackhole' ? `blackhole ${r.dst}` : `${r.dst} via ${r.gateway ?? '?'} dev ${r.dev ?? '?'}`)).sort();
        const want = nodes.map((n) => {
          const b = blockOf6(v6(n));
          return n === self ? `blackhole ${b}` : `${b} via ${lab.ip6(n)} dev eth0`;
        }).sort();
        expect(got, self).toEqual(want);
      }
    });

    it('node status shows the two mesh peers and the bastion Established in the IPv4 and the IPv6 table', async () => {
      const { rows, rows6 } = await lab.nodeStatus('node1');
      expect(rows.map((r) => [r.peerAddress, r.peerType, r.info])).toEqual([
        ['10.0.2.10', 'global', 'Established'],
        ['10.0.2.2', 'node-to-node mesh', 'Established'],
        ['10.0.2.3', 'node-to-node mesh', 'Established'],
      ]);
      expect(rows6.map((r) => [r.peerAddress, r.peerType, r.info])).toEqual([
        ['fd00:0:0:2::a', 'global', 'Established'],
        ['fd00:0:0:2::2', 'node-to-node mesh', 'Established'],
        ['fd00:0:0:2::3', 'node-to-node mesh', 'Established'],
      ]);
    });

    it(`the ${bastion} bastion has an IPv4 and an IPv6 session with every node, both Established`, async () => {
      const ns = lab.ns('bastion');
      if (bastion === 'bird') {
        const out = await nsExec(ns, 'birdc', ['-s', join(lab.st.dir, 'bastion.ctl'), 'show', 'protocols']);
        for (const n of nodes) {
          expect(out).toMatch(new RegExp(`^peer_${n}\\s+BGP\\s+.*\\sEstablished`, 'm'));
          expect(out).toMatch(new RegExp(`^peer_${n}_v6\\s+BGP\\s+.*\\sEstablished`, 'm'));
        }
      } else {
        const out = await nsExec(ns, 'gobgp', ['neighbor']);
        for (const n of nodes) {
          expect(out).toMatch(new RegExp(`^${lab.ip(n).replaceAll('.', '\\.')}\\s.*Establ`, 'm'));
          expect(out).toMatch(new RegExp(`^${lab.ip6(n)}\\s.*Establ`, 'm'));
        }
      }
    });

    it(`the ${bastion} bastion learns every block via its node and reaches a workload on each`, async () => {
      const got = (await lab.birdRoutes('bastion')).map((r) => `${r.dst} via ${r.gateway ?? '?'}`).sort();
      expect(got).toEqual(nodes.map((n) => `${blockOf(v4(n))} via ${lab.ip(n)}`).sort());
      for (const n of nodes) expect(await lab.ping(lab.ns('bastion'), v4(n)), `bastion -> ${n}`).toBe(3);
    });

    it(`the ${bastion} bastion learns every /122 via its node's IPv6 address and reaches a workload on each with ping -6`, async () => {
      const got = (await lab.birdRoutes6('bastion')).map((r) => `${r.dst} via ${r.gateway ?? '?'}`).sort();
      expect(got).toEqual(nodes.map((n) => `${blockOf6(v6(n))} via ${lab.ip6(n)}`).sort());
      for (const n of nodes) expect(await lab.ping(lab.ns('bastion'), v6(n)), `bastion -> ${n} (IPv6)`).toBe(3);
    });

    it('lab up again changes nothing: same daemons, same workloads', async () => {
      const again = await labUp(lab.st.topology, { name: lab.name, datastore });
      expect(again.processes.map((p) => p.pid)).toEqual(lab.st.processes.map((p) => p.pid));
      expect(again.workloads).toEqual(lab.st.workloads);
      expect(again.namespaces).toEqual(lab.st.namespaces);
    });

    it('workloads on different nodes ping each other, over IPv4 and IPv6', async () => {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          expect(await lab.ping(lab.workloads(from)[0]!.namespace, v4(to)), `${from} -> ${to}`).toBe(3);
          expect(await lab.ping(lab.workloads(from)[0]!.namespace, v6(to)), `${from} -> ${to} (IPv6)`).toBe(3);
        }
      }
    });
  });
}
