/**
 * GoBGP as a lab router: gobgpd peers with a BIRD router, and the lab's pump copies gobgpd's
 * learned routes into the namespace's kernel (gobgpd has no kernel programming without zebra).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNamespace, listNamespaces, nsExec, routes, run, waitFor } from '../../tools/lab/netns.js';
import { parseTopology } from '../../tools/lab/topology.js';
import { labDown, labUp } from '../../tools/lab/lab.js';
import { desiredRoutes, pumpCommands } from '../../tools/lab/gobgp-pump.js';
import type { LabState } from '../../tools/lab/state.js';

describe('gobgp pump decisions', () => {
  const rib = JSON.stringify({
    '10.98.1.0/24': [{ best: true, 'neighbor-ip': '10.0.8.1', attrs: [{ type: 1 }, { type: 3, nexthop: '10.0.8.1' }] }],
    '10.98.2.0/24': [{ best: true, attrs: [{ type: 3, nexthop: '0.0.0.0' }] }], // our own: not installed
    '10.98.4.0/24': [
      { best: false, 'neighbor-ip': '10.0.8.5', attrs: [{ type: 3, nexthop: '10.0.8.5' }] },
      { best: true, 'neighbor-ip': '10.0.8.6', attrs: [{ type: 14, nexthops: ['10.0.8.6'] }] },
    ],
  });

  it('installs the best learned path of each prefix, never locally originated ones', () => {
    expect(desiredRoutes(rib)).toEqual([{ prefix: '10.98.1.0/24', via: '10.0.8.1' }, { prefix: '10.98.4.0/24', via: '10.0.8.6' }]);
    expect(desiredRoutes('')).toEqual([]);
  });

  it('replaces changed routes, adds new ones and deletes vanished ones', () => {
    const cmds = pumpCommands(desiredRoutes(rib), [{ prefix: '10.98.1.0/24', via: '10.0.8.1' }, { prefix: '10.98.4.0/24', via: '10.0.8.5' }, { prefix: '10.97.0.0/16', via: '10.0.8.9' }]);
    expect(cmds).toEqual([
      ['route', 'replace', '10.98.4.0/24', 'via', '10.0.8.6', 'proto', 'bird'],
      ['route', 'del', '10.97.0.0/16', 'proto', 'bird'],
    ]);
  });
});

describe('lab with a BIRD router and a GoBGP router', () => {
  const LAB = `pt-lab-${process.pid}g`;
  let root = '';
  let st: LabState;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pt-lab-'));
    process.env.PETREL_LAB_DIR = root;
  });
  afterAll(async () => {
    await labDown(LAB).catch(() => undefined);
    for (const ns of (await listNamespaces()).filter((n) => n.startsWith(`${LAB}-`))) await deleteNamespace(ns);
    await rm(root, { recursive: true, force: true });
  });

  it('peers, and each side\'s kernel gets the other side\'s prefixes; a withdrawal removes them', async () => {
    st = await labUp(parseTopology(`
network: 10.0.8.0/24
hosts:
  - { name: r1, role: bird, address: 10.0.8.1/24, peers: [g1], originate: [10.98.1.0/24, 10.98.3.0/24] }
  - { name: g1, role: gobgp, address: 10.0.8.2/24, peers: [r1], originate: [10.98.2.0/24] }
`), { name: LAB });
    expect(st.processes.map((p) => `${p.what}@${p.host}`).sort()).toEqual(['bird@r1', 'gobgp-pump@g1', 'gobgpd@g1']);
    await waitFor('gobgp neighbor established', async () => /Establ/.test(await nsExec(`${LAB}-g1`, 'gobgp', ['neighbor'])), 20_000);
    const birdInG1 = async (): Promise<string[]> => (await routes(`${LAB}-g1`)).filter((r) => r.protocol === 'bird').map((r) => `${String(r.dst)} via ${String(r.gateway)}`).sort();
    expect(await waitFor('pump installs both prefixes', async () => ((await birdInG1()).length === 2 ? birdInG1() : undefined), 10_000))
      .toEqual(['10.98.1.0/24 via 10.0.8.1', '10.98.3.0/24 via 10.0.8.1']);
    await waitFor('r1 learns 10.98.2.0/24', async () => (await routes(`${LAB}-r1`)).some((r) => r.dst === '10.98.2.0/24' && r.gateway === '10.0.8.2' && r.protocol === 'bird'), 10_000);
    await run('birdc', ['-s', join(st.dir, 'r1.ctl'), 'disable', 'lab_originate']);
    await waitFor('pump removes withdrawn prefixes', async () => (await birdInG1()).length === 0, 10_000);
  });
});
