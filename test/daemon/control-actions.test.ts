/**
 * The control socket's admin commands acting on real sessions between two petrel processes:
 * disable (Cease 6/2), enable, restart (Cease 6/4), configure.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../tools/lab/netns.js';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, established, PetrelProcess } from './petrel-process.js';

let dir: string;
const running: PetrelProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'pt-sess-ctl-'));
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  await rm(dir, { recursive: true, force: true });
});

describe('control socket actions on live sessions', () => {
  it('disable, enable, restart and configure', async () => {
    const port = await freePort();
    const file = join(dir, 'cluster.yaml');
    await writeFile(file, `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { listenPort: ${port} }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a }
spec: { bgp: { ipv4Address: 127.0.0.1/8 } }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-b }
spec: { bgp: { ipv4Address: 127.0.0.2/8 } }
`);
    const [a, b] = (['node-a', 'node-b'] as const).map((n, i) => {
      const p = new PetrelProcess(['--node', n, '--listen', `127.0.0.${i + 1}:${port}`, '--sink', 'mock', '--ctl-socket', join(dir, `${n}.ctl`)], {
        PETREL_DATASTORE: `file:${file}`,
      });
      running.push(p);
      return p;
    }) as [PetrelProcess, PetrelProcess];
    await a.waitLog('up', established('Mesh_127_0_0_2'));
    await a.waitLog('ctl', (l) => l.msg === 'control socket ready');
    const birdc = (...args: string[]) => run('birdc', ['-s', join(dir, 'node-a.ctl'), ...args]);

    let mark = b.logs.length;
    // bird.ctl speaks Calico's BIRD 1.6 dialect, whose disable takes no message.
    expect(await birdc('disable', 'Mesh_127_0_0_2')).toContain('Mesh_127_0_0_2: disabled');
    const off = await b.waitLog('b told', (l) => l.msg === 'NOTIFICATION received', 10_000, mark);
    expect([off.code, off.subcode, off.text]).toEqual([6, 2, 'Administrative shutdown']);
    const all = await birdc('show', 'protocols', 'all', 'Mesh_127_0_0_2');
    expect(all).toMatch(/Mesh_127_0_0_2\s+BGP\s+\S+\s+down/);

    mark = a.logs.length;
    expect(await birdc('enable', 'Mesh_127_0_0_2')).toContain('Mesh_127_0_0_2: enabled');
    await a.waitLog('back up', established('Mesh_127_0_0_2'), 20_000, mark);

    mark = b.logs.length;
    expect(await birdc('restart', 'Mesh_127_0_0_2')).toContain('Mesh_127_0_0_2: restarted');
    const reset = await b.waitLog('b told of the reset', (l) => l.msg === 'NOTIFICATION received', 10_000, mark);
    expect([reset.code, reset.subcode]).toEqual([6, 4]);
    mark = a.logs.length;
    await a.waitLog('up again', established('Mesh_127_0_0_2'), 20_000, mark);

    expect(await birdc('configure')).toMatch(/Reconfigur/);
  });
});
