/**
 * What calico-node's readers do with bird.ctl (bird-control-protocol.md §4), run against a
 * bird1-dialect ControlServer: the CalicoNodeStatus peer reporter (show protocols, then
 * show protocols all <name> per peer on the same connection), the status reporter and GR
 * readiness check (show status), the route reporter's 1.6 regexes, and the birdcl liveness probe.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdClient } from '../../daemon/control/client.js';
import { startControlServer, type ControlServer } from '../../daemon/control/index.js';
import { at, FakeBackend, nodeState } from './fake-backend.js';

let dir: string;
let server: ControlServer;
const state = nodeState();
state.peers = [
  { ...state.peers[0]!, name: 'Mesh_10_0_1_20', kind: 'mesh', peerIp: '10.0.1.20' },
  { ...state.peers[0]!, name: 'Global_10_0_1_11', kind: 'global', peerIp: '10.0.1.11', protoState: 'start', bgpState: 'Active', lastError: { errorClass: 'Socket', message: 'Connection refused' } },
];
state.routes.push({
  prefix: '10.48.1.0/26', dest: 'unicast', nextHops: [{ gateway: '10.0.1.20', dev: 'eth0' }], protocol: 'Mesh_10_0_1_20',
  since: at('01:44:55.337'), primary: true, preference: 100, source: 'BGP', bgp: { origin: 'IGP', asPath: [], nextHop: '10.0.1.20', localPref: 100 },
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pt-ctl-calico-'));
  server = await startControlServer({ path: path.join(dir, 'bird.ctl'), backend: new FakeBackend(state), now: () => at('01:50:00') });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('calico-node readers against the bird1 dialect', () => {
  it('peer reporter: show protocols, then show protocols all <name> per peer on one connection', async () => {
    const c = await BirdClient.connect(server.path);
    const list = await c.command('show protocols');
    const header = list.lines.find((l) => l.code === 2002)!;
    expect(header.text.split(/\s+/)).toEqual(['name', 'proto', 'table', 'state', 'since', 'info']);
    const names = list.lines.filter((l) => l.code === 1002).map((l) => l.text.split(/\s+/)).filter((f) => f[1] === 'BGP').map((f) => f[0]!);
    expect(names).toEqual(['Mesh_10_0_1_20', 'Global_10_0_1_11']);
    const details: [string, string][] = [];
    for (const name of names) {
      const r = await c.command(`show protocols all ${name}`);
      expect(r.lines.at(-1)!.raw.startsWith('0000')).toBe(true); // the reporter reads until 0000
      const value = (key: string) => r.lines.find((l) => l.text.includes(key))!.text.split(key)[1]!.trim();
      details.push([value('BGP state:'), value('Neighbor address:')]);
    }
    expect(details).toEqual([['Established', '10.0.1.20'], ['Active', '10.0.1.11']]);
    c.close();
  });

  it('status reporter: version with the `BIRD v` prefix, router id, times; no GR lines; ends at 0013', async () => {
    const c = await BirdClient.connect(server.path);
    expect(c.greeting.text).toBe('BIRD v0.3.3+birdv1.6.8 ready.');
    const r = await c.command('show status');
    expect(r.lines.every((l) => [1000, 1011, 13].includes(l.code))).toBe(true);
    expect(r.lines[0]!.text.startsWith('BIRD v')).toBe(true);
    const texts = r.lines.map((l) => l.text);
    expect(texts).toContain('Router ID is 10.0.1.12');
    expect(texts.some((t) => t.startsWith('Current server time is '))).toBe(true);
    expect(texts.some((t) => t.startsWith('Last reboot on '))).toBe(true);
    expect(texts.some((t) => t.startsWith('Last reconfiguration on '))).toBe(true);
    expect(r.lines.at(-1)!.raw).toBe('0013 Daemon is up and running');
    c.close();
  });

  it('route reporter: every route line matches the 1.6 one-line regexes, `] *` marks the FIB route', async () => {
    const c = await BirdClient.connect(server.path);
    const r = await c.command('show route');
    const rows = r.lines.filter((l) => l.code === 1007).map((l) => l.text);
    const via = /^(\S+)\s+via\s+(\S+)\s+on\s+(\S+)\s+\[(\S+)\s+/;
    const dev = /^(\S+)\s+dev\s+(\S+)\s+\[(\S+)\s+/;
    const blackhole = /^(\S+)\s+blackhole\s+\[(\S+)\s+/;
    expect(rows.map((t) => (via.exec(t) ?? dev.exec(t) ?? blackhole.exec(t))?.slice(1))).toEqual([
      ['10.0.1.0/24', 'eth0', 'direct1'],
      ['10.48.0.0/26', 'static1'],
      ['10.48.1.0/26', '10.0.1.20', 'eth0', 'Mesh_10_0_1_20'],
    ]);
    expect(rows.every((t) => t.includes('] *'))).toBe(true);
    c.close();
  });

  it('liveness probe: birdcl -s bird.ctl show status prints output starting with BIRD', async () => {
    const { stdout } = await promisify(execFile)('birdcl', ['-s', server.path, 'show', 'status']);
    expect(stdout.startsWith('BIRD')).toBe(true);
    expect(stdout).toContain('Daemon is up and running');
  });
});
