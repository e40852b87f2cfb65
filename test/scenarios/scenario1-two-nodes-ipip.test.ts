/**
 * Seed scenario 1: two nodes, pool 10.201.0.0/24 with IPIP Always. Each node owns a /26 and has
 * a blackhole for it; the other's block is `via <other node> dev tunl0 onlink proto bird`. A
 * second pool adds a block on the node that allocates from it; a /26 pool serves one node only;
 * a /27 pool is refused. A GoBGP bastion (scenario 4) learns every block, including the new one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScenarioLab, waitFor, type KernelRoute } from './lab-fixture.js';
import { parsePrefix4, prefix4Within } from '../../proto/prefix.js';

const lab = new ScenarioLab(`pt-lab-${process.pid}s1`);
const within = (ip: string, cidr: string): boolean => {
  const n = parsePrefix4(cidr, false);
  return prefix4Within(parsePrefix4(`${ip}/32`).addr, 32, n.addr, n.len);
};
const blockOf = (ip: string): string => {
  const a = parsePrefix4(`${ip}/26`, false);
  return `${[24, 16, 8, 0].map((s) => (a.addr >>> s) & 255).join('.')}/26`;
};
const find = (table: KernelRoute[], dst: string): KernelRoute | undefined => table.find((r) => r.dst === dst);

beforeAll(async () => {
  await lab.up(`
network: 10.0.0.0/24
pools:
  - { name: ipip-pool, cidr: 10.201.0.0/24, ipipMode: Always }
hosts:
  - { name: node1, role: petrel, address: 10.0.0.1/24, workloads: 1 }
  - { name: node2, role: petrel, address: 10.0.0.2/24, workloads: 1 }
  - { name: bastion, role: gobgp, address: 10.0.0.10/24 }
`);
  await lab.wait();
}, 150_000);
afterAll(() => lab.down(), 60_000);

describe('scenario 1: two nodes, IPIP Always', () => {
  it('each node gets its own /26 of the pool', () => {
    const [w1] = lab.workloads('node1');
    const [w2] = lab.workloads('node2');
    expect(within(w1!.address, '10.201.0.0/24')).toBe(true);
    expect(within(w2!.address, '10.201.0.0/24')).toBe(true);
    expect(blockOf(w1!.address)).not.toBe(blockOf(w2!.address));
  });

  it('has a blackhole for its own block and the other block via the other node on tunl0, onlink, proto bird', async () => {
    for (const [self, other] of [['node1', 'node2'], ['node2', 'node1']] as const) {
      const own = blockOf(lab.workloads(self)[0]!.address);
      const theirs = blockOf(lab.workloads(other)[0]!.address);
      const table = await lab.birdRoutes(self);
      expect(find(table, own)).toMatchObject({ type: 'blackhole', protocol: 'bird' });
      const remote = find(table, theirs);
      expect(remote).toMatchObject({ gateway: lab.ip(other), dev: 'tunl0', protocol: 'bird' });
      expect(remote?.flags).toContain('onlink');
    }
    expect(await lab.ping(lab.workloads('node1')[0]!.namespace, lab.workloads('node2')[0]!.address)).toBe(3);
  });

  it('a second pool adds a new block on the node that allocates from it', async () => {
    await lab.apply('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: second-pool }\nspec: { cidr: 10.91.1.0/24 }\n');
    const w = await lab.workload('node1', 'second-pool');
    expect(within(w.address, '10.91.1.0/24')).toBe(true);
    const block = blockOf(w.address);
    await waitFor('node1 blackholes its new block', async () => find(await lab.birdRoutes('node1'), block)?.type === 'blackhole', 20_000);
    const remote = await waitFor('node2 learns the new block', async () => find(await lab.birdRoutes('node2'), block), 20_000);
    expect(remote).toMatchObject({ gateway: lab.ip('node1'), protocol: 'bird' });
    const atBastion = await waitFor('the GoBGP bastion learns the new block', async () => find(await lab.birdRoutes('bastion'), block), 20_000);
    expect(atBastion).toMatchObject({ gateway: lab.ip('node1'), protocol: 'bird' });
    expect(await lab.ping(lab.ns('bastion'), w.address)).toBe(3);
  });

  it('a /26 pool serves the first node that asks; the second gets a clear error', async () => {
    await lab.apply('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: tiny-pool }\nspec: { cidr: 10.91.2.0/26 }\n');
    const w = await lab.workload('node1', 'tiny-pool');
    expect(within(w.address, '10.91.2.0/26')).toBe(true);
    await expect(lab.ctl(['ipam', 'allocate', '--node', 'node2', '--pool', 'tiny-pool'])).rejects.toThrow(/no block available/i);
  });

  it('a /27 pool is refused with the config message', async () => {
    await expect(lab.apply('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: small-pool }\nspec: { cidr: 10.91.3.0/27 }\n'))
      .rejects.toThrow('IP pool size is too small (min /26) for use with Calico IPAM');
  });
});
