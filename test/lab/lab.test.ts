/**
 * The lab itself, with what is installed everywhere (bird2, iproute2): plain hosts and two BIRD
 * routers peering. Namespaces are pt-lab-<pid>-*; state lives under a temporary PETREL_LAB_DIR.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNamespace, deleteNamespace, listNamespaces, nsExec, routes, run, waitFor } from '../../tools/lab/netns.js';
import { parseTopology } from '../../tools/lab/topology.js';
import { attachWorkload, ensureTunnelDevice, LabError, labDown, labStatus, labUp } from '../../tools/lab/lab.js';
import { readState, type LabState } from '../../tools/lab/state.js';
import { isAlive } from '../../tools/lab/processes.js';
import { petrelctlJs } from '../../tools/lab/paths.js';
import { labWait, pendingConvergence } from '../../tools/lab/converge.js';

const LAB = `pt-lab-${process.pid}`;
const pair = parseTopology(`
network: 10.0.9.0/24
hosts:
  - { name: r1, role: bird, address: 10.0.9.1/24, peers: [r2], originate: [10.99.1.0/24] }
  - { name: r2, role: bird, address: 10.0.9.2/24, peers: [r1], originate: [10.99.2.0/24] }
  - { name: client, address: 10.0.9.3/24 }
`);
const ours = async (): Promise<string[]> => (await listNamespaces()).filter((n) => n.startsWith(`${LAB}-`)).sort();
const established = async (st: LabState, host: string, proto: string): Promise<boolean> =>
  / up .*Established/.test((await run('birdc', ['-s', join(st.dir, `${host}.ctl`), 'show', 'protocols', proto])).split('\n').find((l) => l.startsWith(proto)) ?? '');

let root = '';
const bystander = `${LAB}-bystander`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pt-lab-'));
  process.env.PETREL_LAB_DIR = root;
  await addNamespace(bystander); // not the lab's: down must leave it alone
});

afterAll(async () => {
  await labDown(LAB).catch(() => undefined);
  await labDown(`${LAB}x`).catch(() => undefined);
  for (const ns of await ours()) await deleteNamespace(ns);
  await rm(root, { recursive: true, force: true });
});

describe('lab with plain hosts and two BIRD routers', () => {
  let st: LabState;

  it('builds namespaces on one bridge, starts both BIRDs, and they peer', async () => {
    st = await labUp(pair, { name: LAB });
    expect(await ours()).toEqual([bystander, `${LAB}-client`, `${LAB}-hub`, `${LAB}-r1`, `${LAB}-r2`].sort());
    expect([...st.namespaces].sort()).toEqual([`${LAB}-client`, `${LAB}-hub`, `${LAB}-r1`, `${LAB}-r2`].sort());
    expect(st.processes.map((p) => `${p.what}@${p.host}`).sort()).toEqual(['bird@r1', 'bird@r2']);
    await labWait(LAB, 20_000);
    expect(await pendingConvergence(st)).toEqual([]);
    expect(await established(st, 'r1', 'peer_r2')).toBe(true);
    await waitFor('r2 peer_r1 Established', () => established(st, 'r2', 'peer_r1'), 20_000);
    // The route r2 announces lands in r1's kernel, installed by BIRD.
    const learned = await waitFor('10.99.2.0/24 in r1', async () => (await routes(`${LAB}-r1`)).find((r) => r.dst === '10.99.2.0/24'), 10_000);
    expect(learned).toMatchObject({ gateway: '10.0.9.2', dev: 'eth0', protocol: 'bird' });
    expect((await routes(`${LAB}-r2`)).filter((r) => r.protocol === 'bird').map((r) => r.dst)).toEqual(['10.99.1.0/24']);
    // The plain host reaches both routers across the bridge.
    await nsExec(`${LAB}-client`, 'ping', ['-c', '1', '-W', '1', '10.0.9.2']);
  });

  it('up again is idempotent: same processes, same namespaces, nothing new', async () => {
    const before = (await readState(LAB))!;
    const again = await labUp(pair, { name: LAB });
    expect(again.processes.map((p) => p.pid)).toEqual(before.processes.map((p) => p.pid));
    expect(again.namespaces).toEqual(before.namespaces);
    expect((await ours()).length).toBe(5);
    expect(await established(again, 'r1', 'peer_r2')).toBe(true);
  });

  it('refuses another topology under the same name', async () => {
    const other = parseTopology('network: 10.0.9.0/24\nhosts: [{ name: solo, address: 10.0.9.5/24 }]');
    await expect(labUp(other, { name: LAB })).rejects.toThrow(LabError);
  });

  it('status shows each host with its protocols and routing table', async () => {
    const text = await labStatus(LAB);
    expect(text).toMatch(/=== r1 \(bird, 10\.0\.9\.1, namespace pt-lab-\d+-r1\) bird pid \d+ running/);
    expect(text).toMatch(/peer_r2 +BGP .* up .*Established/);
    expect(text).toMatch(/10\.99\.2\.0\/24 via 10\.0\.9\.2 dev eth0 proto bird/);
    expect(text).toContain('=== client (host, 10.0.9.3');
  });

  it('a workload namespace hangs off a host and is reached through the BGP routes', async () => {
    const w = await attachWorkload((await readState(LAB))!, 'r1', '10.99.1.5');
    expect(w).toMatchObject({ host: 'r1', namespace: `${LAB}-r1-w0`, nodeInterface: 'caliw0' });
    expect(await routes(w.namespace)).toMatchObject([{ dst: 'default', dev: 'eth0' }]);
    expect((await routes(`${LAB}-r1`)).find((r) => r.dst === '10.99.1.5')).toMatchObject({ dev: 'caliw0', scope: 'link' });
    // r2 reaches it through 10.99.1.0/24, which it learned from r1's BIRD.
    const out = await nsExec(`${LAB}-r2`, 'ping', ['-c', '2', '-W', '1', '-i', '0.2', '10.99.1.5']);
    expect(out).toMatch(/2 received/);
    expect((await readState(LAB))!.namespaces).toContain(`${LAB}-r1-w0`);
    // up repairs a workload whose namespace went away.
    await deleteNamespace(w.namespace);
    await labUp(pair, { name: LAB });
    expect(await listNamespaces()).toContain(w.namespace);
    expect(await nsExec(`${LAB}-r2`, 'ping', ['-c', '2', '-W', '1', '-i', '0.2', '10.99.1.5'])).toMatch(/2 received/);
  });

  it('gives a host a tunl0 (real IPIP, or a veth stand-in on the segment) that carries onlink routes', async () => {
    const st = (await readState(LAB))!;
    const kind = await ensureTunnelDevice(`${LAB}-hub`, `${LAB}-r2`, st.topology.hosts[1]!, 1);
    expect(['ipip', 'veth']).toContain(kind);
    expect(await ensureTunnelDevice(`${LAB}-hub`, `${LAB}-r2`, st.topology.hosts[1]!, 1)).toBe(kind); // idempotent
    if (kind === 'veth') {
      // More specific than the BGP /24, so this is the path the ping takes.
      await nsExec(`${LAB}-r2`, 'ip', ['route', 'add', '10.99.1.5/32', 'via', '10.0.9.1', 'dev', 'tunl0', 'onlink', 'proto', 'bird']);
      const r = (await routes(`${LAB}-r2`)).find((x) => x.dst === '10.99.1.5');
      expect(r).toMatchObject({ gateway: '10.0.9.1', dev: 'tunl0', protocol: 'bird', flags: ['onlink'] });
      expect(await nsExec(`${LAB}-r2`, 'ping', ['-c', '2', '-W', '1', '-i', '0.2', '10.99.1.5'])).toMatch(/2 received/);
    }
  });

  it('down removes exactly what up made', async () => {
    const procs = (await readState(LAB))!.processes;
    const report = await labDown(LAB);
    expect(report?.namespaces.slice().sort()).toEqual([`${LAB}-client`, `${LAB}-hub`, `${LAB}-r1`, `${LAB}-r1-w0`, `${LAB}-r2`].sort());
    expect(report?.stopped).toHaveLength(2);
    expect(procs.every((p) => !isAlive(p))).toBe(true);
    expect(await ours()).toEqual([bystander]);
    expect(existsSync(join(root, LAB))).toBe(false);
    expect(await labDown(LAB)).toBeUndefined();
  });

  it('down after a crash (state left behind, processes killed) still cleans up', async () => {
    const name = `${LAB}x`;
    const st2 = await labUp(pair, { name });
    for (const p of st2.processes) process.kill(p.pid, 'SIGKILL');
    await waitFor('routers dead', () => st2.processes.every((p) => !isAlive(p)), 5000);
    expect(existsSync(join(root, name, 'state.json'))).toBe(true);
    const report = await labDown(name);
    expect(report?.stopped).toEqual([]);
    expect(report?.namespaces).toHaveLength(4);
    expect((await listNamespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
    expect(await ours()).toEqual([bystander]);
  });
});

describe('lab with --datastore etcd', () => {
  const name = `${LAB}e`;
  afterAll(async () => {
    await labDown(name).catch(() => undefined);
  });

  it('starts an etcd in the hub, reachable from every host, and stops it on down', async () => {
    const st = await labUp(parseTopology('network: 10.0.7.0/24\nhosts: [{ name: a, address: 10.0.7.1/24 }]'), { name, datastore: 'etcd' });
    expect(st.datastore).toBe('etcd:http://10.0.7.254:2379');
    const etcd = st.processes.find((p) => p.what === 'etcd')!;
    expect(isAlive(etcd)).toBe(true);
    const version = await waitFor('etcd answers from host a', () => nsExec(`${name}-a`, process.execPath, ['-e', "fetch('http://10.0.7.254:2379/version', { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).then((t) => process.stdout.write(t))"]), 15_000);
    expect(version).toMatch(/etcdserver/);
    await labDown(name);
    expect(isAlive(etcd)).toBe(false);
    expect((await listNamespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
  });
});

describe('petrelctl lab (the command line)', () => {
  const name = `${LAB}c`;
  afterAll(async () => {
    await labDown(name).catch(() => undefined);
  });

  it('up --datastore etcd, status, exec and down through the built CLI', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-lab-cli-'));
    try {
      const file = join(dir, 'topo.yaml');
      await writeFile(file, 'network: 10.0.6.0/24\nhosts: [{ name: a, address: 10.0.6.1/24 }, { name: b, address: 10.0.6.2/24 }]\n');
      const ctl = (...args: string[]) => run(process.execPath, [petrelctlJs(), ...args]);
      expect(await ctl('lab', 'up', file, '--name', name, '--datastore', 'etcd')).toContain(`lab ${name} is up`);
      expect((await readState(name))?.datastore).toBe('etcd:http://10.0.6.254:2379');
      expect(await ctl('lab', 'status', '--name', name)).toMatch(/=== b \(host, 10\.0\.6\.2, namespace pt-lab-\d+c-b\)/);
      expect(await ctl('lab', 'exec', '--name', name, 'a', '--', 'ping', '-c', '1', '-W', '1', '10.0.6.2')).toMatch(/1 received/);
      await expect(ctl('lab', 'exec', '--name', name, 'a', '--', 'sh', '-c', 'echo "$PETREL_DATASTORE"')).resolves.toContain('etcd:http://10.0.6.254:2379');
      expect(await ctl('lab', 'down', '--name', name)).toMatch(/stopped 1 processes, deleted 3 namespaces/);
      expect((await listNamespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
