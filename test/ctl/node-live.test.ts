/**
 * petrelctl node status against live daemons: three Petrel nodes in a full mesh plus a BIRD bastion
 * as global peer (network namespaces pt-lab-<pid>nl-*). The worker shows the seed's table
 * (mesh rows `node-to-node mesh`, the bastion `global`, all up/Established); once the bastion's
 * BIRD is stopped, its row shows BIRD's state and error for a peer that refuses connections,
 * wrapped by the table as calicoctl wraps it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctlSocketPath } from '../../tools/lab/lab.js';
import { stopProcess } from '../../tools/lab/processes.js';
import { ScenarioLab, waitFor } from '../scenarios/lab-fixture.js';

describe('node status on a live mesh with a BIRD bastion', () => {
  const lab = new ScenarioLab(`pt-lab-${process.pid}nl`);

  beforeAll(async () => {
    await lab.up(`
network: 10.0.7.0/24
pools:
  - { name: default-ipv4-ippool, cidr: 10.48.0.0/24, blockSize: 26 }
hosts:
  - { name: node1, role: petrel, address: 10.0.7.21/24 }
  - { name: node2, role: petrel, address: 10.0.7.22/24, workloads: { default-ipv4-ippool: 1 } }
  - { name: node3, role: petrel, address: 10.0.7.23/24, workloads: { default-ipv4-ippool: 1 } }
  - { name: bastion, role: bird, address: 10.0.7.10/24, globalPeer: true }
`);
    await lab.wait();
  }, 90_000);
  afterAll(() => lab.down(), 60_000);

  it('shows the mesh peers and the bastion up and Established', async () => {
    const { text, rows } = await waitFor('node1 to see every session Established', async () => {
      const s = await lab.nodeStatus('node1');
      return s.rows.length === 3 && s.rows.every((r) => r.info === 'Established') ? s : undefined;
    }, 40_000);
    expect(text.startsWith('Calico process is running.\n\nIPv4 BGP status\n+')).toBe(true);
    expect(rows.map((r) => [r.peerAddress, r.peerType, r.state, r.info]).sort()).toEqual([
      ['10.0.7.10', 'global', 'up', 'Established'],
      ['10.0.7.22', 'node-to-node mesh', 'up', 'Established'],
      ['10.0.7.23', 'node-to-node mesh', 'up', 'Established'],
    ]);
    expect(text).toMatch(/\n\| PEER ADDRESS \|     PEER TYPE     \| STATE \|  SINCE   \|    INFO     \|\n/);
  });

  it('the real birdc reads the running daemon: protocols, one peer in detail, routes, status', async () => {
    const birdc = async (...cmd: string[]) => (await promisify(execFile)('birdc', ['-s', ctlSocketPath(lab.st, 'node1'), ...cmd])).stdout;
    const protocols = await birdc('show', 'protocols');
    expect(protocols).toMatch(/^BIRD .* ready\.\n/);
    expect(protocols).toMatch(/\nMesh_10_0_7_22 +BGP +\S+ +up +\S+ +Established/);
    const detail = await birdc('show', 'protocols', 'all', 'Mesh_10_0_7_22');
    expect(detail).toContain('  BGP state:          Established\n');
    expect(detail).toContain('    Neighbor address: 10.0.7.22\n');
    const status = await birdc('show', 'status');
    expect(status).toContain('Router ID is 10.0.7.21\n');
    expect(status).toContain('Daemon is up and running');
    // BIRD always names the interface toward the gateway; calico-node's route reporter needs it.
    const route = await birdc('show', 'route');
    expect(route.split('\n').filter((l) => l.startsWith('10.48.0.'))).toHaveLength(2);
    expect(route).toMatch(/\n10\.48\.0\.\d+\/26 +via 10\.0\.7\.2[23] on \S+ \[Mesh_10_0_7_2[23] \d\d:\d\d:\d\d\] \* \(100\/0\) \[i\]\n/);
  });

  it('after the bastion stops, its row shows BIRD\'s state and error', async () => {
    const bird = lab.st.processes.find((p) => p.host === 'bastion' && p.what === 'bird');
    expect(bird).toBeDefined();
    await stopProcess(bird!);
    const { text, rows } = await waitFor('the bastion row to show the refused connection', async () => {
      const s = await lab.nodeStatus('node1');
      const row = s.rows.find((r) => r.peerAddress === '10.0.7.10');
      return row && row.state !== 'up' && row.info.includes('Socket: Connection refused') ? s : undefined;
    }, 40_000);
    const row = rows.find((r) => r.peerAddress === '10.0.7.10')!;
    expect(row).toMatchObject({ peerType: 'global', state: 'start' });
    expect(row.info).toMatch(/^(Active|Connect|Idle) Socket: Connection refused$/);
    // calicoctl's tablewriter wraps the 30+ character info cell onto a second line.
    expect(text).toMatch(/\| start \| \d\d:\d\d:\d\d \| \w+ Socket: Connection +\|\n\| +\| +\| +\| +\| refused +\|\n/);
    expect(rows.filter((r) => r.peerType === 'node-to-node mesh').map((r) => [r.state, r.info])).toEqual([['up', 'Established'], ['up', 'Established']]);
  });
});
