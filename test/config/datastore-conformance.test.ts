/**
 * One conformance suite, run against the file datastore and against a real etcd process.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeNodeIntent, ConfigError, IpamError, openDatastore, parseResources, type ClusterSnapshot, type Datastore, type WatchEvent,
} from '../../config/index.js';
import { waitFor } from '../../tools/lab/netns.js';
import { compileConfigForChildren, startEtcd, tempDir, type EtcdProcess } from './helpers.js';

const runFile = promisify(execFile);
const EXAMPLE = readFileSync('docs/examples/cluster.yaml', 'utf8');

function resources(text: string, file = 'apply.yaml') {
  const r = parseResources(text, file);
  expect(r.errors).toEqual([]);
  return r.resources;
}

const pool = (name: string, cidr: string, extra = '') => `---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}${extra}}\n`;
const nodeYaml = (name: string, i: number) => `---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${name}}\nspec: {bgp: {ipv4Address: 10.0.0.${i}/24}}\n`;

interface StoreKind {
  readonly name: 'file' | 'etcd';
  /** A fresh, empty datastore URL for one test. */
  fresh(): Promise<string>;
  /** Puts invalid content into the store behind the Datastore's back. */
  corrupt(url: string): Promise<void>;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

let etcd: EtcdProcess | undefined;
let seq = 0;
const dirs: string[] = [];

const FILE: StoreKind = {
  name: 'file',
  async fresh() {
    const d = await tempDir('ds');
    dirs.push(d);
    return `file:${join(d, 'cluster.yaml')}`;
  },
  async corrupt(url) {
    await writeFile(url.slice(5), 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: broken}\nspec: {cidr: 10.91.3.0/27}\n');
  },
  async setup() {},
  async teardown() {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  },
};

const ETCD: StoreKind = {
  name: 'etcd',
  async fresh() {
    return `${etcd!.url}?prefix=/pt-cfg-${process.pid}-${++seq}`;
  },
  async corrupt(url) {
    const prefix = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('prefix')!;
    const c = new Etcd3({ hosts: etcd!.clientUrl });
    await c.namespace(prefix).put('/calico/resources/v3/projectcalico.org/ippools/broken').value(JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'broken' }, spec: { cidr: '10.91.3.0/27' } }));
    c.close();
  },
  async setup() {
    etcd = await startEtcd();
  },
  async teardown() {
    await etcd?.stop();
  },
};

let build: Awaited<ReturnType<typeof compileConfigForChildren>> | undefined;
beforeAll(async () => {
  build = await compileConfigForChildren();
}, 120_000);
afterAll(async () => {
  await build?.cleanup();
});

for (const kind of [FILE, ETCD]) {
  describe(`datastore conformance: ${kind.name}`, () => {
    const open: Datastore[] = [];
    const openStore = (url: string) => {
      const ds = openDatastore(url);
      open.push(ds);
      return ds;
    };
    beforeAll(() => kind.setup(), 60_000);
    afterAll(async () => {
      await Promise.all(open.map((d) => d.close()));
      await kind.teardown();
    });

    it('apply, list, get, delete round trip; snapshot feeds computeNodeIntent', async () => {
      const ds = openStore(await kind.fresh());
      const res = await ds.apply(resources(EXAMPLE, 'cluster.yaml'));
      expect(res.created.sort()).toEqual(['BGPConfiguration/default', 'BGPPeer/bastion', 'IPPool/default-ipv4-ippool', 'Node/node-a', 'Node/node-b', 'Node/node-c']);
      expect((await ds.list('Node')).map((n) => n.metadata.name)).toEqual(['node-a', 'node-b', 'node-c']);
      const again = await ds.apply(resources(EXAMPLE, 'cluster.yaml'));
      expect(again.updated.length).toBe(6);
      expect(again.created).toEqual([]);
      const intent = computeNodeIntent(await ds.snapshot(), 'node-a');
      expect(intent.peers.map((p) => p.name)).toEqual(['Mesh_10_0_1_20', 'Mesh_10_0_1_30', 'Global_10_0_1_1']);
      expect((await ds.get('BGPPeer', 'bastion'))?.spec).toMatchObject({ peerIP: '10.0.1.1', asNumber: 64512 });
      const del = await ds.delete([{ kind: 'BGPPeer', name: 'bastion' }, { kind: 'IPPool', name: 'nope' }]);
      expect(del).toEqual({ deleted: ['BGPPeer/bastion'], missing: ['IPPool/nope'] });
      expect(await ds.get('BGPPeer', 'bastion')).toBeUndefined();
    });

    it('apply validates against what is stored: overlap and immutable fields, naming file and line', async () => {
      const ds = openStore(await kind.fresh());
      await ds.apply(resources(pool('a', '10.0.0.0/16')));
      const err = await ds.apply(resources(pool('b', '10.0.5.0/24'), 'new.yaml')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ file: 'new.yaml', line: 5, kind: 'IPPool', name: 'b', field: 'spec.cidr', message: 'IPPool(b) CIDR overlaps with IPPool(a) CIDR 10.0.0.0/16' }]);
      const mod = await ds.apply(resources(pool('a', '10.1.0.0/16'), 'mod.yaml')).catch((e: unknown) => e);
      expect((mod as ConfigError).issues.map((i) => i.message)).toEqual(['IPPool CIDR cannot be modified']);
      expect((await ds.list('IPPool')).map((p) => p.metadata.name)).toEqual(['a']);
    });

    it('seed exhaustion: a /26 pool serves one node; the second gets a clear no-block error', async () => {
      const ds = openStore(await kind.fresh());
      await ds.apply(resources(nodeYaml('a', 1) + nodeYaml('b', 2) + pool('tiny', '10.91.2.0/26')));
      const r = await ds.allocate({ node: 'a', pools: ['10.91.2.0/26'], handle: 'pod-a' });
      expect(r).toEqual({ ip: '10.91.2.0', block: '10.91.2.0/26', borrowed: false, claimed: ['10.91.2.0/26'] });
      const err = await ds.allocate({ node: 'b', pools: ['10.91.2.0/26'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IpamError);
      expect((err as IpamError).message).toMatch(/^no block available for node "b" in IP pool 10.91.2.0\/26/);
      const s = await ds.snapshot();
      expect(s.blockAffinities.map((a) => [a.spec.node, a.spec.cidr, a.spec.state])).toEqual([['a', '10.91.2.0/26', 'confirmed']]);
      expect(computeNodeIntent(s, 'a').ownBlocks).toEqual(['10.91.2.0/26']);
    });

    it('borrowing without strictAffinity, none with it; release by handle and IP', async () => {
      const ds = openStore(await kind.fresh());
      await ds.apply(resources(nodeYaml('a', 1) + nodeYaml('b', 2) + pool('tiny', '10.91.2.0/26')));
      await ds.allocate({ node: 'a' });
      const borrowed = await ds.allocate({ node: 'b', handle: 'pod-b' });
      expect(borrowed).toMatchObject({ ip: '10.91.2.1', borrowed: true });
      expect(computeNodeIntent(await ds.snapshot(), 'b').borrowed).toEqual(['10.91.2.1/32']);
      expect(await ds.release({ handle: 'pod-b' })).toEqual(['10.91.2.1']);
      await ds.apply(resources('apiVersion: projectcalico.org/v3\nkind: IPAMConfiguration\nmetadata: {name: default}\nspec: {strictAffinity: true}\n'));
      await expect(ds.allocate({ node: 'b' })).rejects.toThrow('No more free affine blocks and strict affinity enabled');
      expect(await ds.release({ ip: '10.91.2.0' })).toEqual(['10.91.2.0']);
      await expect(ds.release({ ip: '10.91.2.0' })).rejects.toThrow('10.91.2.0 is not assigned');
    });

    it('N concurrent claimers in separate processes never get the same block or address', async () => {
      const url = await kind.fresh();
      const ds = openStore(url);
      const N = 5;
      const names = Array.from({ length: N }, (_, i) => `n${i}`);
      await ds.apply(resources(names.map((n, i) => nodeYaml(n, i + 1)).join('') + pool('p', '10.50.0.0/24', ', blockSize: 29')));
      const script = join(build!.dir, 'claim.mjs');
      await writeFile(script, `import { openDatastore } from './config/index.js';
const [url, node, count] = process.argv.slice(2);
const ds = openDatastore(url);
const out = [];
for (let i = 0; i < Number(count); i++) out.push(await ds.allocate({ node, handle: node + '-' + i }));
await ds.close();
process.stdout.write(JSON.stringify(out));
`);
      const results = await Promise.all(names.map((n) => runFile('node', [script, url, n, '10'], { timeout: 60_000 }).then((r) => JSON.parse(r.stdout) as { ip: string; block: string; borrowed: boolean }[])));
      const ips = results.flat().map((r) => r.ip);
      expect(new Set(ips).size).toBe(N * 10);
      expect(results.flat().every((r) => !r.borrowed)).toBe(true);
      // Each node's addresses come from its own blocks, and no block belongs to two nodes.
      const owner = new Map<string, string>();
      results.forEach((rs, i) => {
        for (const r of rs) {
          const prev = owner.get(r.block);
          expect(prev === undefined || prev === names[i]).toBe(true);
          owner.set(r.block, names[i]!);
        }
      });
      const s: ClusterSnapshot = await ds.snapshot();
      expect(s.blockAffinities.length).toBe(N * 2);
      expect(new Set(s.blockAffinities.map((a) => a.spec.cidr)).size).toBe(N * 2);
      expect(s.blockAffinities.every((a) => a.spec.state === 'confirmed')).toBe(true);
      expect(s.ipamBlocks.reduce((n, b) => n + b.spec.allocations.length, 0)).toBe(N * 10);
    });

    it('concurrent claimers with separate Datastore instances in one process', async () => {
      const url = await kind.fresh();
      const admin = openStore(url);
      const names = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'];
      await admin.apply(resources(names.map((n, i) => nodeYaml(n, i + 1)).join('') + pool('p', '10.60.0.0/26', ', blockSize: 29')));
      const results = await Promise.all(names.map((n) => openStore(url).allocate({ node: n })));
      expect(new Set(results.map((r) => r.block)).size).toBe(8);
      const s = await admin.snapshot();
      expect(s.blockAffinities.length).toBe(8);
      // The pool is now full: a ninth node must borrow.
      await admin.apply(resources(nodeYaml('late', 99)));
      expect((await admin.allocate({ node: 'late' })).borrowed).toBe(true);
    });

    it('watch delivers changes; an invalid store is reported and the last good snapshot kept', async () => {
      const url = await kind.fresh();
      const ds = openStore(url);
      await ds.apply(resources(nodeYaml('a', 1) + pool('p', '10.70.0.0/24')));
      const events: WatchEvent[] = [];
      const stop = await ds.watch((ev) => events.push(ev));
      expect(events[0]?.type).toBe('snapshot');
      await openStore(url).apply(resources(nodeYaml('b', 2)));
      await waitFor('watch snapshot with node b', () => events.some((e) => e.type === 'snapshot' && e.snapshot.nodes.length === 2), 10_000, 20);
      await kind.corrupt(url);
      const bad = await waitFor('watch error', () => events.find((e) => e.type === 'error'), 10_000, 20);
      expect(bad.type === 'error' && bad.error.message).toContain('IP pool size is too small (min /26) for use with Calico IPAM');
      expect(bad.type === 'error' && bad.lastGood?.nodes.map((n) => n.metadata.name)).toEqual(['a', 'b']);
      await expect(ds.snapshot()).rejects.toBeInstanceOf(ConfigError);
      await stop();
    });

    it('deleting a Node releases its affinities: empty blocks go, used blocks stay without affinity', async () => {
      const ds = openStore(await kind.fresh());
      await ds.apply(resources(nodeYaml('a', 1) + nodeYaml('b', 2) + pool('p', '10.90.0.0/24', ', blockSize: 30')));
      const used = await ds.allocate({ node: 'a', handle: 'keep' });
      for (let i = 0; i < 4; i++) await ds.allocate({ node: 'a', handle: `tmp${i}` });
      await ds.release({ handle: 'tmp3' }); // the second block is empty again
      const before = await ds.snapshot();
      expect(before.blockAffinities.filter((a) => a.spec.node === 'a').length).toBe(2);
      expect(await ds.delete([{ kind: 'Node', name: 'a' }])).toEqual({ deleted: ['Node/a'], missing: [] });
      const after = await ds.snapshot();
      expect(after.blockAffinities).toEqual([]);
      expect(after.ipamBlocks.map((b) => [b.spec.cidr, b.spec.affinity ?? null, b.spec.allocations.length])).toEqual([[used.block, null, 4]]);
    });

    it('IPv6 pools: blocks of /122 and addresses from them', async () => {
      const ds = openStore(await kind.fresh());
      await ds.apply(resources(`${nodeYaml('a', 1)}${pool('v6', 'fd00:10::/120')}`));
      const r = await ds.allocate({ node: 'a', family: 6 });
      expect(r.block).toMatch(/^fd00:10::(\w+)?\/122$/);
      expect(r.ip.startsWith('fd00:10::')).toBe(true);
      expect(computeNodeIntent(await ds.snapshot(), 'a').ownBlocks).toEqual([r.block]);
    });

    it('liveness: a registered node is listed until it lets go', async () => {
      const ds = openStore(await kind.fresh());
      const live = await ds.registerLiveness('node-a', 10);
      expect(await ds.liveNodes()).toEqual(['node-a']);
      await live.close();
      expect(await ds.liveNodes()).toEqual([]);
    });

    it('liveness: a process that dies is no longer listed (lease expiry / dead pid)', async () => {
      const url = await kind.fresh();
      const ds = openStore(url);
      const script = join(build!.dir, 'live.mjs');
      await writeFile(script, `import { openDatastore } from './config/index.js';
const ds = openDatastore(process.argv[2]);
await ds.registerLiveness(process.argv[3], 2);
process.stdout.write('registered\\n');
setInterval(() => {}, 1000);
`);
      const child = spawn('node', [script, url, 'node-z'], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((res, rej) => {
          child.stdout!.on('data', (d: Buffer) => d.toString().includes('registered') && res());
          child.once('exit', (code) => rej(new Error(`child exited ${code}`)));
        });
        expect(await ds.liveNodes()).toEqual(['node-z']);
      } finally {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      await waitFor('node-z to drop out of liveNodes', async () => (await ds.liveNodes()).length === 0, 15_000, 100);
    });
  });
}

describe('file datastore: a directory of YAML files', () => {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('reads every file, writes new resources and IPAM state to their own files, leaves other files alone', async () => {
    const d = await tempDir('dir');
    made.push(d);
    await writeFile(join(d, '10-nodes.yaml'), nodeYaml('a', 1) + nodeYaml('b', 2));
    await writeFile(join(d, '20-pool.yaml'), '# hand-written, keep my comment\n' + pool('p', '10.80.0.0/24'));
    const ds = openDatastore(`file:${d}`);
    expect((await ds.snapshot()).nodes.length).toBe(2);
    const r = await ds.allocate({ node: 'a' });
    await ds.apply(resources(pool('q', '10.81.0.0/24')));
    expect(readFileSync(join(d, '20-pool.yaml'), 'utf8')).toContain('keep my comment');
    expect(readFileSync(join(d, 'ipam.yaml'), 'utf8')).toContain(r.block);
    expect(readFileSync(join(d, 'resources.yaml'), 'utf8')).toContain('10.81.0.0/24');
    // A cross-file overlap is reported with both names.
    await writeFile(join(d, '30-bad.yaml'), pool('clash', '10.80.0.0/25'));
    await expect(ds.snapshot()).rejects.toThrow(`${join(d, '30-bad.yaml')}:5: IPPool(clash) field spec.cidr: IPPool(clash) CIDR overlaps with IPPool(p) CIDR 10.80.0.0/24`);
    await ds.close();
  });
});
