/**
 * Differential test: the same commands sent to a real BIRD 2.0.12 (Debian bird2, started here
 * with a small Calico-shaped config: no kernel protocol, BGP peer disabled, so it touches neither
 * the kernel table nor the network) and to Petrel's bird2 dialect over an equivalent fake backend.
 * Replies must be identical byte for byte once clock times are normalised.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdClient } from '../../daemon/control/client.js';
import { startControlServer, type ControlServer } from '../../daemon/control/index.js';
import { probeSocket } from '../../daemon/control/server.js';
import { waitFor } from '../../tools/lab/netns.js';
import { bgp, counters, FakeBackend } from './fake-backend.js';

const CONFIG = `
router id 10.0.1.12;
protocol device {}
protocol static static1 { ipv4; route 10.48.0.0/26 blackhole; }
filter calico_export_to_bgp_peers { accept; }
protocol bgp Global_10_0_1_11 {
  disabled; description "Connection to BGP peer"; local as 64512; neighbor 192.0.2.1 as 64512;
  ipv4 { import all; export filter calico_export_to_bgp_peers; };
}
`;

let dir: string;
let bird: ChildProcess | undefined;
let petrel: ControlServer;
const birdSock = () => path.join(dir, 'bird.ctl');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pt-ctl-diff-'));
  writeFileSync(path.join(dir, 'bird.conf'), CONFIG);
  bird = spawn('bird', ['-f', '-c', path.join(dir, 'bird.conf'), '-s', birdSock()], { stdio: 'ignore' });
  await waitFor('bird to answer on its socket', () => probeSocket(birdSock(), 500), 15_000, 50);
  const since = new Date();
  const backend = new FakeBackend({
    system: [
      { name: 'device1', proto: 'Device', state: 'up', since, channels: [] },
      {
        name: 'static1', proto: 'Static', state: 'up', since,
        channels: [{ name: 'ipv4', state: 'UP', table: 'master4', preference: 200, inputFilter: 'ACCEPT', outputFilter: 'REJECT', counters: counters({ imported: 1, preferred: 1, importUpdates: [1, 0, 0, 0, 1] }) }],
      },
    ],
    peers: [bgp({ name: 'Global_10_0_1_11', kind: 'global', peerIp: '192.0.2.1', protoState: 'down', bgpState: 'Down', disabled: true, since })],
    routes: [{ prefix: '10.48.0.0/26', dest: 'blackhole', protocol: 'static1', since, primary: true, preference: 200, source: 'static' }],
    status: { routerId: '10.0.1.12', hostname: os.hostname(), startedAt: since, lastReconfig: since },
    configure: { ok: true, source: path.join(dir, 'bird.conf') },
  });
  petrel = await startControlServer({ path: path.join(dir, 'petrel.ctl'), backend, dialect: 'bird2' });
}, 30_000);

afterAll(async () => {
  if (bird?.pid !== undefined && bird.exitCode === null) {
    bird.kill('SIGTERM');
    await new Promise((r) => bird!.once('exit', r));
  }
  await petrel?.close();
  rmSync(dir, { recursive: true, force: true });
});

const normalise = (s: string) => s
  .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/g, '<datetime>')
  .replace(/\d\d:\d\d:\d\d\.\d{3}/g, '<time>');

async function both(cmd: string): Promise<[string, string]> {
  const out: string[] = [];
  for (const p of [birdSock(), petrel.path]) {
    const c = await BirdClient.connect(p);
    try {
      out.push(normalise((await c.command(cmd)).raw));
    } finally {
      c.close();
    }
  }
  return [out[0]!, out[1]!];
}

const COMMANDS = [
  'show protocols', 'show protocols all', 'show protocols all Global_10_0_1_11', 'show protocols "G*"', 'show protocols "zz*"',
  'show protocols master4', 'show protocols nonexistent', 'show protocols static1 x', 'show protocols route',
  'show route', 'show route all', 'show route for 10.48.0.7', 'show route for 10.48.0.0/26 all', 'show route for 192.0.2.1',
  'show route for 2001:db8::1', 'show route 10.48.0.0/26', 'show route 10.48.0.1', 'show route protocol static1',
  'show route protocol Global_10_0_1_11', 'show route protocol master4', 'show route table master6', 'show route table master4 table master6',
  'show route count', 'show route table master4 count', 'show route protocol static1 count', 'show route table all count',
  'show route table static1', 'show route for 999.1.1.1', 'show route for 10.0.0.0/40', 'show route for', 'show route table',
  'show status', 'show status x', 'show memory x', 'show interfaces summary x', 'show', '', 'frobnicate', 'SHOW STATUS', 'sh pro',
  'disable', 'enable', 'restart', 'reload', 'reload in', 'enable master4', 'disable "zz*"', 'disable Global_10_0_1_11',
  'disable Global_10_0_1_11 x', 'configure check', 'configure check x', 'configure bogus', 'configure confirm', 'down x',
];

describe('Petrel bird2 dialect versus a real BIRD 2.0.12', () => {
  for (const cmd of COMMANDS) {
    it(JSON.stringify(cmd), async () => {
      const [real, ours] = await both(cmd);
      expect(ours).toBe(real);
    });
  }
});
