/**
 * IPv6 mesh sessions between two real petrel processes, each in a namespace of its own (fd00::1
 * and fd00::2 on a veth), and the IPv6 control socket (bird6.ctl) that calico-node reads.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace, run } from '../../tools/lab/netns.js';
import { linkDualStack } from '../support/dual-stack-link.js';
import { ensureBuilt, established, MAIN, PetrelProcess } from './petrel-process.js';

const NS_A = `pt-sess-${process.pid % 100000}-v6a`;
const NS_B = `pt-sess-${process.pid % 100000}-v6b`;
let dir: string;
const running: PetrelProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'pt-sess-v6-'));
  await linkDualStack({ ns: NS_A, v4: '10.0.0.1/24', v6: 'fd00::1/64' }, { ns: NS_B, v4: '10.0.0.2/24', v6: 'fd00::2/64' });
}, 30_000);
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  await deleteNamespace(NS_A).catch(() => undefined);
  await deleteNamespace(NS_B).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('IPv6', () => {
  it('dual-stack nodes run a v4 and a v6 mesh session, shown on bird.ctl and bird6.ctl', async () => {
    const file = join(dir, 'cluster.yaml');
    const node = (name: string, v4: string, v6: string) => `---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: ${name} }
spec: { bgp: { ipv4Address: ${v4}/24, ipv6Address: ${v6}/64 } }
`;
    await writeFile(file, `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { listenPort: 1790 }
${node('v6a', '10.0.0.1', 'fd00::1')}${node('v6b', '10.0.0.2', 'fd00::2')}`);
    await Promise.all(['v6a', 'v6b'].map((n) => mkdir(join(dir, n))));
    const procs = (['v6a', 'v6b'] as const).map((n) => {
      const p = new PetrelProcess(['--node', n, '--sink', 'mock', '--ctl-socket', join(dir, n, 'bird.ctl')], { PETREL_DATASTORE: `file:${file}` }, [
        'ip', 'netns', 'exec', n === 'v6a' ? NS_A : NS_B, process.execPath, MAIN,
      ]);
      running.push(p);
      return p;
    });
    const [a] = procs as [PetrelProcess, PetrelProcess];
    await a.waitLog('v6 session', established('Mesh_fd00__2'));
    const v4 = await a.waitLog('v4 session', established('Mesh_10_0_0_2'));
    expect(v4.families).toEqual([4]);
    const v6 = a.logs.find(established('Mesh_fd00__2'));
    expect(v6?.families).toEqual([6]);
    const four = await run('birdc', ['-s', join(dir, 'v6a', 'bird.ctl'), 'show', 'protocols']);
    const six = await run('birdc', ['-s', join(dir, 'v6a', 'bird6.ctl'), 'show', 'protocols']);
    expect(four).toMatch(/Mesh_10_0_0_2\s+BGP\s+\S+\s+up/);
    expect(four).not.toContain('Mesh_fd00__2');
    expect(six).toMatch(/Mesh_fd00__2\s+BGP\s+\S+\s+up/);
  });
});
