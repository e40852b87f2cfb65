/**
 * Reflection on the wire, read by another implementation: a Petrel route reflector with two BIRD 2
 * routers as its clients (global BGPPeers of the same AS become clients of a node with a cluster
 * id, as in Calico). A route BIRD A announces reaches BIRD B with ORIGINATOR_ID = A's router id,
 * CLUSTER_LIST = our cluster id and A's next hop, as BIRD decodes them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBridge, addNamespace, attachToBridge, deleteNamespace, listNamespaces, run, waitFor } from '../../tools/lab/netns.js';
import { MAIN, NsProcess } from '../interop/mesh-fixture.js';
import { existsSync } from 'node:fs';

const PREFIX = `pt-rr-${process.pid}b`;
const CLUSTER = '244.0.0.7';
const RR = { name: 'rr', ns: `${PREFIX}-rr`, ip: '10.83.0.11' };
const BIRDS = [
  { name: 'a', ns: `${PREFIX}-a`, ip: '10.83.0.21', route: '192.168.83.0/24' },
  { name: 'b', ns: `${PREFIX}-b`, ip: '10.83.0.22', route: '192.168.84.0/24' },
] as const;
let dir = '';
const procs: NsProcess[] = [];
const ctlOf = (name: string) => join(dir, `${name}.ctl`);

function birdConfig(me: (typeof BIRDS)[number]): string {
  return [
    'log stderr all;',
    `router id ${me.ip};`,
    'protocol device { scan time 2; }',
    `protocol static { ipv4; route ${me.route} blackhole; }`,
    'protocol bgp reflector {',
    `  local ${me.ip} as 64512;`,
    `  neighbor ${RR.ip} as 64512;`,
    '  direct;',
    '  connect delay time 1;',
    '  connect retry time 2;',
    '  error wait time 1, 3;',
    '  ipv4 { import all; export where source = RTS_STATIC; };',
    '}',
  ].join('\n') + '\n';
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  dir = await mkdtemp(join(tmpdir(), 'pt-rr-b-'));
  await addBridge(`${PREFIX}-hub`, 'br0');
  for (const h of [RR, ...BIRDS]) {
    await addNamespace(h.ns);
    await attachToBridge(`${PREFIX}-hub`, 'br0', h.ns, 'eth0', `${h.ip}/24`);
  }
  await writeFile(join(dir, 'cluster.yaml'), [
    `kind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64512, nodeToNodeMeshEnabled: false }`,
    // Calico exports only what lies in an IP pool (or a service range): the clients' routes must.
    `kind: IPPool\nmetadata: { name: clients }\nspec: { cidr: 192.168.80.0/21, ipipMode: Never, vxlanMode: Never }`,
    `kind: Node\nmetadata: { name: ${RR.name} }\nspec: { bgp: { ipv4Address: ${RR.ip}/24, routeReflectorClusterID: ${CLUSTER} } }`,
    ...BIRDS.map((b) => `kind: BGPPeer\nmetadata: { name: bird-${b.name} }\nspec: { peerIP: ${b.ip}, asNumber: 64512 }`),
  ].map((d) => `apiVersion: projectcalico.org/v3\n${d}\n`).join('---\n'));
  const rr = new NsProcess('petrel rr', RR.ns, [process.execPath, MAIN, '--node', RR.name, '--ctl-socket', ctlOf('rr'), '--sink', 'mock', '--log-level', 'info'], {
    PETREL_DATASTORE: `file:${join(dir, 'cluster.yaml')}`,
  });
  procs.push(rr);
  await waitFor('petrel to answer', async () => {
    if (rr.exit) throw new Error(rr.tail());
    return run('birdc', ['-s', ctlOf('rr'), 'show', 'status']).then(() => true);
  }, 20_000);
  for (const b of BIRDS) {
    const conf = join(dir, `${b.name}.conf`);
    await writeFile(conf, birdConfig(b));
    const p = new NsProcess(`bird ${b.name}`, b.ns, ['bird', '-f', '-c', conf, '-s', ctlOf(b.name)]);
    procs.push(p);
    await waitFor(`bird ${b.name} to answer`, async () => {
      if (p.exit) throw new Error(p.tail());
      return run('birdc', ['-s', ctlOf(b.name), 'show', 'status']).then(() => true);
    }, 15_000);
  }
}, 40_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const ns of (await listNamespaces()).filter((x) => x.startsWith(`${PREFIX}-`))) await deleteNamespace(ns).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

const diagnostics = () => procs.map((p) => p.tail(10)).join('\n');

describe('Petrel reflecting between two BIRD clients', () => {
  it('BIRD B gets A\'s route with ORIGINATOR_ID, CLUSTER_LIST and A\'s next hop', async () => {
    const [a, b] = BIRDS;
    const out = await waitFor('A\'s route at B', async () => {
      const t = await run('birdc', ['-s', ctlOf('b'), 'show', 'route', 'all', 'for', a.route]);
      return t.includes('BGP.originator_id') ? t : undefined;
    }, 20_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${diagnostics()}\n${await run('birdc', ['-s', ctlOf('rr'), 'show', 'protocols', 'all']).catch(String)}`);
    });
    expect(out).toContain(`BGP.originator_id: ${a.ip}`);
    expect(out).toContain(`BGP.cluster_list: ${CLUSTER}`);
    expect(out).toContain(`BGP.next_hop: ${a.ip}`);
    // And the other way round; BIRD installs it via A itself.
    const back = await run('birdc', ['-s', ctlOf('a'), 'show', 'route', 'all', 'for', b.route]);
    expect(back).toContain(`BGP.originator_id: ${b.ip}`);
    expect(back).toContain(`via ${b.ip} on eth0`);
  });

  it('neither client gets its own route back from the reflector', async () => {
    for (const b of BIRDS) {
      const out = await run('birdc', ['-s', ctlOf(b.name), 'show', 'route', 'protocol', 'reflector']);
      expect(out).not.toContain(b.route);
      // The reflector protocol's import counter: exactly the other client's route.
      const proto = await run('birdc', ['-s', ctlOf(b.name), 'show', 'protocols', 'all', 'reflector']);
      expect(proto).toMatch(/Routes:\s+1 imported/);
    }
  });
});
