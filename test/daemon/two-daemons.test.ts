/**
 * Two real petrel processes peering over loopback TCP (127.0.0.1 and 127.0.0.2 are both local, so
 * each process gets its own "node address"), configured from one file datastore.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../tools/lab/netns.js';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, established, PetrelProcess, stateChange } from './petrel-process.js';

let dir: string;
const running: PetrelProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'pt-sess-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const node = (name: string, ip: string) => `---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: ${name} }
spec: { bgp: { ipv4Address: ${ip}/8 } }
`;

function cluster(port: number, opts: { mesh?: boolean; holdTime?: string; nodes?: [string, string][] } = {}): string {
  const nodes = opts.nodes ?? [['node-a', '127.0.0.1'], ['node-b', '127.0.0.2']];
  let text = `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { listenPort: ${port}, nodeToNodeMeshEnabled: ${opts.mesh ?? true}, logSeverityScreen: Info }
`;
  for (const [n, ip] of nodes) text += node(n, ip);
  if (opts.holdTime) {
    for (const [n, ip] of nodes) {
      for (const [, peerIp] of nodes.filter(([m]) => m !== n)) {
        text += `---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: ${n}-to-${peerIp.replace(/\./g, '-')} }
spec: { node: ${n}, peerIP: ${peerIp}, asNumber: 64512, holdTime: ${opts.holdTime} }
`;
      }
      void ip;
    }
  }
  return text;
}

async function startPetrel(file: string, nodeName: string, ip: string, port: number): Promise<PetrelProcess> {
  const p = new PetrelProcess(['--node', nodeName, '--listen', `${ip}:${port}`, '--sink', 'mock', '--ctl-socket', join(dir, `${nodeName}.ctl`)], {
    PETREL_DATASTORE: `file:${file}`,
  });
  running.push(p);
  await p.waitLog('listening', (l) => l.msg === 'listening for BGP');
  return p;
}

describe('two petrel processes over loopback', () => {
  it('peer with each other, and the session comes back after one restarts', async () => {
    const port = await freePort();
    const file = join(dir, 'mesh.yaml');
    await writeFile(file, cluster(port));
    const a = await startPetrel(file, 'node-a', '127.0.0.1', port);
    const b = await startPetrel(file, 'node-b', '127.0.0.2', port);
    await a.waitLog('a established', established('Mesh_127_0_0_2'));
    await b.waitLog('b established', established('Mesh_127_0_0_1'));
    // Calico's mesh rule: 127.0.0.2 > 127.0.0.1 as strings, so b dials and a only listens.
    expect(a.logs.some((l) => l.msg === 'peer started' && l.passive === true)).toBe(true);
    expect(b.logs.some((l) => l.msg === 'peer started' && l.passive === false)).toBe(true);
    // The BIRD-compatible control socket answers birdc with the session in BIRD's words.
    await a.waitLog('control socket', (l) => l.msg === 'control socket ready');
    const table = await run('birdc', ['-s', join(dir, 'node-a.ctl'), 'show', 'protocols']);
    expect(table).toMatch(/Mesh_127_0_0_2\s+BGP\s+\S+\s+up\s+\S+\s+Established/);

    // SIGTERM: b sends Cease 6/2 and exits 0; a reports it as BIRD does.
    const mark = a.logs.length;
    b.signal('SIGTERM');
    expect(await b.waitExit()).toEqual({ code: 0, signal: null });
    const notif = await a.waitLog('a hears the shutdown', (l) => l.msg === 'NOTIFICATION received', 10_000, mark);
    expect([notif.code, notif.subcode, notif.text]).toEqual([6, 2, 'Administrative shutdown']);

    const b2 = await startPetrel(file, 'node-b', '127.0.0.2', port);
    await b2.waitLog('b back', established('Mesh_127_0_0_1'));
    await a.waitLog('a back', established('Mesh_127_0_0_2'), 20_000, mark);
  });

  it('drops a peer that stops answering (SIGSTOP) at hold-timer expiry with NOTIFICATION 4/0', async () => {
    const port = await freePort();
    const file = join(dir, 'hold.yaml');
    await writeFile(file, cluster(port, { mesh: false, holdTime: '3s' }));
    const a = await startPetrel(file, 'node-a', '127.0.0.1', port);
    const b = await startPetrel(file, 'node-b', '127.0.0.2', port);
    const peer = `Node_127_0_0_2_port_${port}`;
    const up = await a.waitLog('a established', established(peer));
    expect(up.holdTime).toBe(3);
    const mark = a.logs.length;
    const stoppedAt = Date.now();
    b.signal('SIGSTOP');
    const sent = await a.waitLog('4/0 sent', (l) => l.msg === 'NOTIFICATION sent' && l.peer === peer, 10_000, mark);
    const elapsed = Date.now() - stoppedAt;
    expect([sent.code, sent.subcode]).toEqual([4, 0]);
    // Within the hold time (3 s) of the last KEEPALIVE from b, which came at most one keepalive interval before.
    expect(elapsed).toBeLessThan(5000);
    const down = await a.waitLog('Idle', stateChange('Idle', peer), 5000, mark);
    expect(down.event).toBe('HoldTimer_Expires');
    b.signal('SIGCONT');
  });

  it('exits non-zero with a clear message when the node is not in the datastore', async () => {
    const file = join(dir, 'empty.yaml');
    await writeFile(file, cluster(await freePort()));
    const p = new PetrelProcess(['--node', 'no-such-node'], { PETREL_DATASTORE: `file:${file}` });
    running.push(p);
    const exit = await p.waitExit();
    expect(exit.code).not.toBe(0);
    expect(p.stderr).toContain('node "no-such-node" is not in the datastore');
  });

  it('SIGINT also sends Cease 6/2 and exits 0', async () => {
    const port = await freePort();
    const file = join(dir, 'sigint.yaml');
    await writeFile(file, cluster(port));
    const a = await startPetrel(file, 'node-a', '127.0.0.1', port);
    const b = await startPetrel(file, 'node-b', '127.0.0.2', port);
    await a.waitLog('a established', established('Mesh_127_0_0_2'));
    const mark = b.logs.length;
    a.signal('SIGINT');
    expect(await a.waitExit()).toEqual({ code: 0, signal: null });
    const n = await b.waitLog('b hears it', (l) => l.msg === 'NOTIFICATION received', 10_000, mark);
    expect([n.code, n.subcode]).toEqual([6, 2]);
  });
});
