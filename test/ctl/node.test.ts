/**
 * petrelctl node status against real ControlServers (bird1 dialect, bird.ctl + bird6.ctl) over a
 * fake backend: calicoctl's exact output for the seed mesh, wrapped errors, no peers, no daemon.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCalicoControlSockets, startControlServer, ControlSocketError, type ControlServer } from '../../daemon/control/index.js';
import type { BgpProtocolView } from '../../daemon/control/backend.js';
import { ipv6SocketFor, nodeStatus, parseBirdRow, socketCandidates, type NodeStatusDeps } from '../../tools/ctl/node.js';
import { buildProgram } from '../../tools/petrelctl.js';
import { at, bgp, FakeBackend, nodeState } from '../control/fake-backend.js';

let dir: string;
const servers: ControlServer[] = [];
let n = 0;

beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'pt-ctl-node-')); });
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

const seedPeers = (): BgpProtocolView[] => [
  bgp({ name: 'Mesh_10_0_1_20', kind: 'mesh', peerIp: '10.0.1.20', since: at('01:44:55.017') }),
  bgp({ name: 'Mesh_10_0_1_30', kind: 'mesh', peerIp: '10.0.1.30', since: at('01:44:55.342') }),
  bgp({ name: 'Global_10_0_1_10', kind: 'global', peerIp: '10.0.1.10', since: at('01:44:56.001') }),
];

/** Starts Petrel-style sockets (bird.ctl for v4, bird6.ctl for v6, both bird1) in a fresh dir. */
async function daemon(peers: BgpProtocolView[], opts: { v6?: boolean; dialect?: 'bird1' | 'bird2' } = {}) {
  const d = path.join(dir, `node${++n}`);
  const state = nodeState();
  state.peers = peers;
  const backend = new FakeBackend(state);
  const v4 = path.join(d, 'bird.ctl');
  const now = () => at('01:50:00');
  servers.push(await startControlServer({ path: v4, backend, dialect: opts.dialect ?? 'bird1', families: [4], now }));
  if (opts.v6 ?? true) servers.push(await startControlServer({ path: ipv6SocketFor(v4), backend, dialect: 'bird1', families: [6], now }));
  const deps: NodeStatusDeps = { euid: 0, sockets: socketCandidates(v4), calicoProcess: async () => false };
  return { backend, deps, v4 };
}

describe('petrelctl node status', () => {
  it('prints the seed mesh exactly as calicoctl does', async () => {
    const { deps } = await daemon(seedPeers());
    const r = await nodeStatus(deps);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe([
      'Calico process is running.',
      '',
      'IPv4 BGP status',
      '+--------------+-------------------+-------+----------+-------------+',
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
      '+--------------+-------------------+-------+----------+-------------+',
      '| 10.0.1.20    | node-to-node mesh | up    | 01:44:55 | Established |',
      '| 10.0.1.30    | node-to-node mesh | up    | 01:44:55 | Established |',
      '| 10.0.1.10    | global            | up    | 01:44:56 | Established |',
      '+--------------+-------------------+-------+----------+-------------+',
      '',
      'IPv6 BGP status',
      'No IPv6 peers found.',
      '',
      '',
    ].join('\n'));
  });

  it('wraps a stopped peer\'s "Active Socket: Connection refused" like calicoctl', async () => {
    const peers = seedPeers();
    peers[2] = { ...peers[2]!, protoState: 'start', bgpState: 'Active', since: at('01:49:12.500'), lastError: { errorClass: 'Socket', message: 'Connection refused' } };
    const { deps } = await daemon(peers);
    const r = await nodeStatus(deps);
    expect(r.stdout).toContain([
      '+--------------+-------------------+-------+----------+--------------------------------+',
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |              INFO              |',
      '+--------------+-------------------+-------+----------+--------------------------------+',
      '| 10.0.1.20    | node-to-node mesh | up    | 01:44:55 | Established                    |',
      '| 10.0.1.30    | node-to-node mesh | up    | 01:44:55 | Established                    |',
      '| 10.0.1.10    | global            | start | 01:49:12 | Active Socket: Connection      |',
      '|              |                   |       |          | refused                        |',
      '+--------------+-------------------+-------+----------+--------------------------------+',
    ].join('\n'));
  });

  it('omits a BGP protocol that is down without an error, as calicoctl does (5 fields)', async () => {
    const peers = seedPeers();
    peers[0] = { ...peers[0]!, protoState: 'down', bgpState: 'Down', disabled: true };
    const { deps } = await daemon(peers);
    const r = await nodeStatus(deps);
    expect(r.stdout).not.toContain('10.0.1.20');
    expect(r.stdout).toContain('| 10.0.1.30 ');
  });

  it('says so when there are no peers', async () => {
    const { deps } = await daemon([]);
    const r = await nodeStatus(deps);
    expect(r.stdout).toBe('Calico process is running.\n\nIPv4 BGP status\nNo IPv4 peers found.\n\nIPv6 BGP status\nNo IPv6 peers found.\n\n');
  });

  it('lists IPv6 peers from bird6.ctl with :: restored', async () => {
    const { deps } = await daemon([bgp({ name: 'Mesh_fd80__20', peerIp: 'fd80::20', since: at('01:44:55') })]);
    const r = await nodeStatus(deps);
    expect(r.stdout).toContain('IPv4 BGP status\nNo IPv4 peers found.\n');
    expect(r.stdout).toContain('| fd80::20     | node-to-node mesh | up    | 01:44:55 | Established |');
  });

  it('reports a missing IPv6 daemon as calicoctl reports a missing bird6', async () => {
    const { deps } = await daemon(seedPeers(), { v6: false });
    const r = await nodeStatus(deps);
    expect(r.stdout.endsWith("+\n\nINFO: BIRDv6 process: 'bird6' is not running.\n\n")).toBe(true);
  });

  it('exits 1 with calicoctl\'s message when no daemon answers', async () => {
    const v4 = path.join(dir, 'absent', 'bird.ctl');
    const r = await nodeStatus({ euid: 0, sockets: socketCandidates(v4), calicoProcess: async () => false });
    expect(r).toMatchObject({ stdout: '', stderr: 'Calico process is not running.\n', exitCode: 1 });
  });

  it('prints "The BGP backend process (BIRD) is not running." when only Calico runs', async () => {
    const v4 = path.join(dir, 'absent', 'bird.ctl');
    const r = await nodeStatus({ euid: 0, sockets: socketCandidates(v4), calicoProcess: async () => true });
    expect(r).toMatchObject({ stdout: 'Calico process is running.\n\nThe BGP backend process (BIRD) is not running.\n\n', exitCode: 0 });
  });

  it('requires root', async () => {
    const r = await nodeStatus({ euid: 1000, sockets: socketCandidates('/nonexistent/bird.ctl') });
    expect(r).toMatchObject({ stdout: 'Need super user privileges: Operation not permitted\n', stderr: '', exitCode: 1 });
  });

  it('rejects a BIRD 2 heading exactly as calicoctl does', async () => {
    const { deps } = await daemon(seedPeers(), { dialect: 'bird2' });
    const r = await nodeStatus(deps);
    expect(r.stdout).toBe('Calico process is running.\n\nIPv4 BGP status\n');
    expect(r.stderr).toBe('error executing command: unknown BIRD table output format\n');
    expect(r.exitCode).toBe(1);
  });

  it('times out on a daemon that greets but never answers', async () => {
    const p = path.join(dir, 'mute.ctl');
    const mute = net.createServer((s) => { s.write('0001 BIRD v0.3.3+birdv1.6.8 ready.\n'); s.on('error', () => {}); });
    await new Promise<void>((r) => mute.listen(p, r));
    try {
      const r = await nodeStatus({ euid: 0, sockets: { 4: [p], 6: [path.join(dir, 'none6.ctl')] }, timeoutMs: 300 });
      expect(r.stderr).toBe(`error executing command: read unix @->${p}: i/o timeout\n`);
      expect(r.exitCode).toBe(1);
    } finally {
      mute.close();
    }
  });

  it('parses rows with calicoctl\'s rules', () => {
    expect(parseBirdRow('Node_10_0_1_10_port_1790 BGP      master   up     01:44:55    Established   ', 4))
      .toEqual({ peerAddress: '10.0.1.10.port.1790', peerType: 'node specific', state: 'up', since: '01:44:55', bgpState: 'Established', info: '' });
    expect(parseBirdRow('kernel1  Kernel   master   up     01:44:53    ', 4)).toBeUndefined();
    expect(parseBirdRow('Mesh_10_0_1_20 BGP      master   down   01:44:55    ', 4)).toBeUndefined();
    expect(parseBirdRow('node_h2 BGP master up 01:44:55 Established', 4)).toBeUndefined();
  });

  it('petrelctl --ctl-socket <p> node status -o json prints the facts', async () => {
    const { v4 } = await daemon(seedPeers());
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { chunks.push(String(c)); return true; });
    try {
      await buildProgram().parseAsync(['node', 'petrelctl', '--ctl-socket', v4, 'node', 'status', '-o', 'json']);
    } finally {
      spy.mockRestore();
    }
    const json = JSON.parse(chunks.join('')) as { calicoProcess: string; ipv4: { running: boolean; peers: { peerAddress: string; peerType: string; bgpState: string }[] }; ipv6: { peers: unknown[] } };
    expect(json.calicoProcess).toBe('running');
    expect(json.ipv4.peers.map((p) => [p.peerAddress, p.peerType, p.bgpState])).toEqual([
      ['10.0.1.20', 'node-to-node mesh', 'Established'], ['10.0.1.30', 'node-to-node mesh', 'Established'], ['10.0.1.10', 'global', 'Established'],
    ]);
    expect(json.ipv6.peers).toEqual([]);
    expect(process.exitCode ?? 0).toBe(0);
  });

  it('works end to end over startCalicoControlSockets (bird.ctl + bird6.ctl)', async () => {
    const d = path.join(dir, 'calico');
    const backend = new FakeBackend({ ...nodeState(), peers: [...seedPeers(), bgp({ name: 'Mesh_fd80__30', peerIp: 'fd80::30', since: at('01:44:57') })] });
    const sockets = await startCalicoControlSockets({ path: path.join(d, 'bird.ctl'), backend, now: () => at('01:50:00') });
    try {
      expect(sockets.v6?.path).toBe(path.join(d, 'bird6.ctl'));
      const r = await nodeStatus({ euid: 0, sockets: socketCandidates(path.join(d, 'bird.ctl')), calicoProcess: async () => false });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain('| 10.0.1.10    | global            | up    | 01:44:56 | Established |');
      expect(r.stdout).toContain('IPv6 BGP status\n+');
      expect(r.stdout).toContain('| fd80::30     | node-to-node mesh | up    | 01:44:57 | Established |');
    } finally {
      await sockets.close();
    }
    expect(existsSync(path.join(d, 'bird.ctl'))).toBe(false);
  });

  it('startCalicoControlSockets releases bird.ctl when bird6.ctl cannot be taken', async () => {
    const d = path.join(dir, 'calico-clash');
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'bird6.ctl'), 'not a socket');
    const err = await startCalicoControlSockets({ path: path.join(d, 'bird.ctl'), backend: new FakeBackend(nodeState()) }).catch((e: unknown) => e);
    expect((err as ControlSocketError).kind).toBe('not-a-socket');
    expect(existsSync(path.join(d, 'bird.ctl'))).toBe(false);
  });
});

