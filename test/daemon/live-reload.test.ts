/**
 * Live reload with real processes and real TCP sessions (issue 4): a datastore change resets only
 * the peers it concerns (6/6 for a changed AS, 6/3 for a removed node); every other session stays
 * up with its uptime intact. SIGHUP re-reads without disturbing anything.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../tools/lab/netns.js';
import { freePort } from '../session/helpers.js';
import { ensureBuilt, established, PetrelProcess, type LogLine } from './petrel-process.js';

let dir: string;
const running: PetrelProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'pt-sess-reload-'));
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  await rm(dir, { recursive: true, force: true });
});

function cluster(port: number, nodes: { name: string; ip: string; as?: number }[]): string {
  let text = `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { listenPort: ${port}, logSeverityScreen: Info }
`;
  for (const n of nodes) {
    text += `---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: ${n.name} }
spec: { bgp: { ipv4Address: ${n.ip}/8${n.as ? `, asNumber: ${n.as}` : ''} } }
`;
  }
  return text;
}

/** The `since` column of one protocol in `show protocols`. */
async function since(ctl: string, proto: string): Promise<string | undefined> {
  const out = await run('birdc', ['-s', ctl, 'show', 'protocols', proto]);
  const row = out.split('\n').find((l) => l.startsWith(proto));
  return row?.split(/\s+/)[4];
}

const about = (peer: string) => (l: LogLine) => l.peer === peer && (l.msg === 'state change' || l.msg === 'session established' || l.msg === 'NOTIFICATION sent');

describe('live reload', () => {
  it('resets only the peers a datastore change concerns', async () => {
    const port = await freePort();
    const file = join(dir, 'cluster.yaml');
    const nodes = [
      { name: 'node-a', ip: '127.0.0.1' },
      { name: 'node-b', ip: '127.0.0.2' },
      { name: 'node-c', ip: '127.0.0.3' },
    ];
    await writeFile(file, cluster(port, nodes));
    const [a, b, c] = nodes.map((n) => {
      const p = new PetrelProcess(['--node', n.name, '--listen', `${n.ip}:${port}`, '--sink', 'mock', '--ctl-socket', join(dir, `${n.name}.ctl`)], {
        PETREL_DATASTORE: `file:${file}`,
      });
      running.push(p);
      return p;
    }) as [PetrelProcess, PetrelProcess, PetrelProcess];
    await a.waitLog('a-b', established('Mesh_127_0_0_2'));
    await a.waitLog('a-c', established('Mesh_127_0_0_3'));
    await a.waitLog('ctl', (l) => l.msg === 'control socket ready');
    const actl = join(dir, 'node-a.ctl');
    const sinceC = await since(actl, 'Mesh_127_0_0_3');
    expect(sinceC).toBeDefined();

    // 1. node-b gets its own AS: the a–b session is reset with 6/6 (by whichever side reloads
    //    first: both see the change), the a–c session is untouched.
    let mark = a.logs.length;
    await writeFile(file, cluster(port, [nodes[0]!, { ...nodes[1]!, as: 64513 }, nodes[2]!]));
    const reset = await a.waitLog('6/6 between a and b', (l) => (l.msg === 'NOTIFICATION sent' || l.msg === 'NOTIFICATION received') && l.peer === 'Mesh_127_0_0_2', 15_000, mark);
    expect([reset.code, reset.subcode]).toEqual([6, 6]);
    await a.waitLog('a applied it', (l) => l.msg === 'configuration applied' && l.reset === 1, 15_000, mark);
    const back = await a.waitLog('a-b back as eBGP', established('Mesh_127_0_0_2'), 20_000, mark);
    expect(back.neighborId).toBe('127.0.0.2');
    expect(a.logs.slice(mark).filter(about('Mesh_127_0_0_3'))).toEqual([]);
    expect(await since(actl, 'Mesh_127_0_0_3')).toBe(sinceC);

    // 2. node-c leaves the datastore: a sends it 6/3; the a–b session is untouched.
    const sinceB = await since(actl, 'Mesh_127_0_0_2');
    mark = a.logs.length;
    const cMark = c.logs.length;
    await writeFile(file, cluster(port, [nodes[0]!, { ...nodes[1]!, as: 64513 }]));
    const gone = await a.waitLog('6/3 to c', (l) => l.msg === 'NOTIFICATION sent' && l.peer === 'Mesh_127_0_0_3', 15_000, mark);
    expect([gone.code, gone.subcode]).toEqual([6, 3]);
    const heard = await c.waitLog('c hears it', (l) => l.msg === 'NOTIFICATION received' && l.peer === 'Mesh_127_0_0_1', 10_000, cMark);
    expect(heard.text).toBe('Peer de-configured');
    await a.waitLog('a reconfigured', (l) => l.msg === 'peers reconfigured', 10_000, mark);
    expect(a.logs.slice(mark).filter(about('Mesh_127_0_0_2'))).toEqual([]);
    expect(await since(actl, 'Mesh_127_0_0_2')).toBe(sinceB);
    const protos = await run('birdc', ['-s', actl, 'show', 'protocols']);
    expect(protos).not.toContain('Mesh_127_0_0_3');

    // 3. SIGHUP re-reads the same configuration: nothing moves.
    mark = a.logs.length;
    a.signal('SIGHUP');
    await a.waitLog('reload', (l) => l.msg === 'reloading configuration', 10_000, mark);
    const applied = await a.waitLog('applied', (l) => l.msg === 'configuration applied', 10_000, mark);
    expect([applied.added, applied.removed, applied.reset, applied.unchanged]).toEqual([0, 0, 0, 1]);
    expect(await since(actl, 'Mesh_127_0_0_2')).toBe(sinceB);
    expect(a.logs.slice(mark).filter(about('Mesh_127_0_0_2'))).toEqual([]);
    void b;
  });
});
