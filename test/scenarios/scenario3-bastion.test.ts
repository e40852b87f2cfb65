/**
 * Seed scenario 3 (and 4: the same with GoBGP as the bastion). Pools 10.48.0.0/24 (/26 blocks)
 * and external-pool 10.48.2.0/24 (/29 blocks); a worker's node status shows its two mesh peers
 * Established; a global BGPPeer for the bastion added at run time brings up a `global` row
 * without restarting anything; the bastion learns an external-pool block only once an address
 * is allocated from it, and then reaches that address; `ipam show` counts it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeStatus, run, ScenarioLab, waitFor } from './lab-fixture.js';
import { petrelctlJs } from '../../tools/lab/paths.js';
import { isAlive } from '../../tools/lab/processes.js';
import { parsePrefix4, prefix4Within } from '../../proto/prefix.js';

const inExternal = (dst: string): boolean => {
  const p = parsePrefix4(dst.includes('/') ? dst : `${dst}/32`, false);
  const pool = parsePrefix4('10.48.2.0/24');
  return prefix4Within(p.addr, p.len, pool.addr, pool.len);
};

for (const bastionRole of ['bird', 'gobgp'] as const) {
  describe(`scenario 3: a ${bastionRole === 'bird' ? 'BIRD' : 'GoBGP'} bastion as global peer`, () => {
    const lab = new ScenarioLab(`pt-lab-${process.pid}s3${bastionRole[0]}`);
    const bastionIp = '10.0.3.10';

    beforeAll(async () => {
      await lab.up(`
network: 10.0.3.0/24
pools:
  - { name: default-ipv4-ippool, cidr: 10.48.0.0/24, blockSize: 26 }
  - { name: external-pool, cidr: 10.48.2.0/24, blockSize: 29 }
hosts:
  - { name: node1, role: petrel, address: 10.0.3.21/24, workloads: { default-ipv4-ippool: 1 } }
  - { name: node2, role: petrel, address: 10.0.3.22/24, workloads: { default-ipv4-ippool: 1 } }
  - { name: node3, role: petrel, address: 10.0.3.23/24, workloads: { default-ipv4-ippool: 1 } }
  - { name: bastion, role: ${bastionRole}, address: ${bastionIp}/24, globalPeer: false }
`);
      await lab.wait();
    }, 150_000);
    afterAll(() => lab.down(), 60_000);

    it('a worker shows its two mesh peers up and Established', async () => {
      const { text, rows } = await lab.nodeStatus('node1');
      expect(text).toContain('Calico process is running.');
      // The same table through `lab exec`, whose PATH puts a petrelctl aimed at node1 first.
      const viaExec = await run(process.execPath, [petrelctlJs(), 'lab', 'exec', '--name', lab.name, 'node1', '--', 'petrelctl', 'node', 'status']);
      expect(parseNodeStatus(viaExec).map((r) => r.peerAddress)).toEqual(['10.0.3.22', '10.0.3.23']);
      expect(rows.map((r) => [r.peerAddress, r.peerType, r.state, r.info])).toEqual([
        ['10.0.3.22', 'node-to-node mesh', 'up', 'Established'],
        ['10.0.3.23', 'node-to-node mesh', 'up', 'Established'],
      ]);
    });

    it('adding a global BGPPeer at run time adds a global row that reaches Established, restarting nothing', async () => {
      const pids = lab.st.processes.map((p) => ({ ...p }));
      await lab.apply(`apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: bastion }\nspec: { peerIP: ${bastionIp}, asNumber: 64512 }\n`);
      const rows = await waitFor('the global row to be Established', async () => {
        const r = (await lab.nodeStatus('node1')).rows;
        return r.some((x) => x.peerType === 'global' && x.info === 'Established') ? r : undefined;
      }, 40_000);
      expect(rows.filter((r) => r.peerType === 'global').map((r) => [r.peerAddress, r.state, r.info])).toEqual([[bastionIp, 'up', 'Established']]);
      expect(rows.filter((r) => r.peerType === 'node-to-node mesh' && r.info === 'Established')).toHaveLength(2);
      expect(pids.every((p) => isAlive(p))).toBe(true);
    });

    it('the bastion has no external-pool route before an allocation, and one via the worker after', async () => {
      expect((await lab.birdRoutes('bastion')).filter((r) => inExternal(r.dst))).toEqual([]);
      const w = await lab.workload('node1', 'external-pool');
      expect(inExternal(w.address)).toBe(true);
      const route = await waitFor('the bastion to learn the /29', async () => (await lab.birdRoutes('bastion')).find((r) => inExternal(r.dst)), 30_000);
      const block = parsePrefix4(`${w.address}/29`, false);
      expect(route.dst).toBe(`${[24, 16, 8, 0].map((s) => (block.addr >>> s) & 255).join('.')}/29`);
      expect(route).toMatchObject({ gateway: lab.ip('node1'), protocol: 'bird' });
      expect(await lab.ping(lab.ns('bastion'), w.address)).toBe(3);
    });

    it('ipam show counts one address in use in 10.48.2.0/24', async () => {
      const out = await lab.ctl(['ipam', 'show']);
      expect(out).toMatch(/\| IP Pool +\| 10\.48\.2\.0\/24 +\| +256 \| 1 \(0%\) +\| 255 \(100%\) +\|/);
    });
  });
}
