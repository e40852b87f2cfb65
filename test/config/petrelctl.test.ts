import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../tools/petrelctl.js';
import { formatG, formatPercent } from '../../tools/ctl/ipam.js';
import { compileConfigForChildren, tempDir } from './helpers.js';

const runFile = promisify(execFile);

async function ctl(...args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'petrelctl', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

let dir: string;
let ds: string;
beforeAll(async () => {
  dir = await tempDir('ctl');
  ds = `file:${join(dir, 'cluster.yaml')}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('number formats of calicoctl ipam show', () => {
  it('%.5g', () => {
    expect([256, 65536, 1024, 64, 16777216, 2 ** 80, 0, 11, 245].map((x) => formatG(x))).toEqual(['256', '65536', '1024', '64', '1.6777e+07', '1.2089e+24', '0', '11', '245']);
  });
  it('%.f rounds half to even', () => {
    expect([12.5, 87.5, 4.296875, 95.703125, 0.5, 1.5, 2.5000001].map(formatPercent)).toEqual(['12', '88', '4', '96', '0', '2', '3']);
  });
});

describe('petrelctl apply / get / ipam against a file datastore', () => {
  it('apply -f the example cluster', async () => {
    expect(await ctl('--datastore', ds, 'apply', '-f', 'docs/examples/cluster.yaml')).toBe('Successfully applied 6 resource(s)\n');
  });

  it('get nodes -o wide: inherited ASN in parentheses, addresses with prefix length', async () => {
    expect(await ctl('--datastore', ds, 'get', 'nodes', '-o', 'wide')).toBe(
      'NAME     ASN       IPV4           IPV6\n' +
        'node-a   (64512)   10.0.1.10/24   \n' +
        'node-b   (64512)   10.0.1.20/24   \n' +
        'node-c   (64512)   10.0.1.30/24   \n\n',
    );
    expect(await ctl('--datastore', ds, 'get', 'nodes')).toBe('NAME\nnode-a\nnode-b\nnode-c\n\n');
  });

  it('get ippools (narrow and wide), bgppeers, bgpconfigurations', async () => {
    expect(await ctl('--datastore', ds, 'get', 'ippools', '-o', 'wide')).toBe(
      'NAME                  CIDR            NAT    IPIPMODE   VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR\n' +
        'default-ipv4-ippool   10.244.0.0/16   true   Always     Never       false      false              all()\n\n',
    );
    expect(await ctl('--datastore', ds, 'get', 'ippools')).toBe('NAME                  CIDR            SELECTOR\ndefault-ipv4-ippool   10.244.0.0/16   all()\n\n');
    expect(await ctl('--datastore', ds, 'get', 'bgppeers')).toBe('NAME      PEERIP     NODE       ASN\nbastion   10.0.1.1   (global)   64512\n\n');
    expect(await ctl('--datastore', ds, 'get', 'bgpconfig')).toBe('NAME      LOGSEVERITY   MESHENABLED   ASNUMBER\ndefault   Info          true          64512\n\n');
  });

  it('get -o yaml is a calicoctl list that parses back; -o json too', async () => {
    const yaml = await ctl('--datastore', ds, 'get', 'ippools', '-o', 'yaml');
    expect(yaml).toContain('kind: IPPoolList');
    const back = join(dir, 'export.yaml');
    await writeFile(back, yaml);
    expect(await ctl('--datastore', ds, 'apply', '-f', back)).toBe("Successfully applied 1 'IPPool' resource(s)\n");
    const json = JSON.parse(await ctl('--datastore', ds, 'get', 'bgppeer', 'bastion', '-o', 'json')) as { kind: string; spec: { peerIP: string } };
    expect(json).toMatchObject({ kind: 'BGPPeer', spec: { peerIP: '10.0.1.1' } });
  });

  it('ipam allocate / show --show-blocks / release', async () => {
    const ip1 = (await ctl('--datastore', ds, 'ipam', 'allocate', '--node', 'node-a', '--handle', 'pod1')).trim();
    expect(ip1).toMatch(/^10\.244\.\d+\.\d+$/);
    for (let i = 0; i < 7; i++) await ctl('--datastore', ds, 'ipam', 'allocate', '--node', 'node-a');
    const show = await ctl('--datastore', ds, 'ipam', 'show', '--show-blocks');
    const lines = show.split('\n');
    expect(lines[1]).toMatch(/^\| GROUPING \| +CIDR +\| IPS TOTAL \| IPS IN USE \| +IPS FREE +\|$/);
    expect(lines[3]).toMatch(/^\| IP Pool  \| 10\.244\.0\.0\/16 +\| +65536 \| 8 \(0%\) +\| 65528 \(100%\) +\|$/);
    expect(lines[4]).toMatch(/^\| Block    \| 10\.244\.\d+\.\d+\/26 *\| +64 \| 8 \(12%\) +\| 56 \(88%\) +\|$/);
    expect(show.startsWith('+----------+')).toBe(true);
    expect(await ctl('--datastore', ds, 'ipam', 'release', '--handle', 'pod1')).toBe(`Successfully released IP ${ip1}\n`);
    expect(await ctl('--datastore', ds, 'ipam', 'show')).toContain('| IP Pool  | 10.244.0.0/16 |     65536 | 7 (0%)     | 65529 (100%) |');
    expect(await ctl('--datastore', ds, 'ipam', 'show', '--show-configuration')).toContain('| StrictAffinity     | false |');
  });

  it('ipam show matches calicoctl for the reference /24 example', async () => {
    const d = await tempDir('ctl-ref');
    const url = `file:${join(d, 'c.yaml')}`;
    await writeFile(join(d, 'c.yaml'), `apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: default-ipv4-ippool}
spec: {cidr: 10.244.0.0/24}
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: b1}
spec:
  cidr: 10.244.0.128/26
  affinity: host:n1
  allocations: [${Array.from({ length: 8 }, (_, i) => `{ordinal: ${i}, node: n1}`).join(', ')}]
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata: {name: b2}
spec:
  cidr: 10.244.0.64/26
  affinity: host:n2
  allocations: [{ordinal: 0, node: n2}, {ordinal: 1, node: n2}, {ordinal: 2, node: n2}]
`);
    expect(await ctl('--datastore', url, 'ipam', 'show', '--show-blocks')).toBe(
      '+----------+-----------------+-----------+------------+-----------+\n' +
        '| GROUPING |      CIDR       | IPS TOTAL | IPS IN USE | IPS FREE  |\n' +
        '+----------+-----------------+-----------+------------+-----------+\n' +
        '| IP Pool  | 10.244.0.0/24   |       256 | 11 (4%)    | 245 (96%) |\n' +
        '| Block    | 10.244.0.128/26 |        64 | 8 (12%)    | 56 (88%)  |\n' +
        '| Block    | 10.244.0.64/26  |        64 | 3 (5%)     | 61 (95%)  |\n' +
        '+----------+-----------------+-----------+------------+-----------+\n',
    );
    await rm(d, { recursive: true, force: true });
  });

  it('ipam show --show-borrowed lists addresses held in other nodes\' blocks', async () => {
    const d = await tempDir('ctl-borrow');
    const url = `file:${join(d, 'c.yaml')}`;
    await writeFile(join(d, 'c.yaml'), 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n' +
      'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n2}\nspec: {bgp: {ipv4Address: 10.0.0.2/24}}\n---\n' +
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: tiny}\nspec: {cidr: 10.91.2.0/26}\n');
    await ctl('--datastore', url, 'ipam', 'allocate', '--node', 'n1');
    expect((await ctl('--datastore', url, 'ipam', 'allocate', '--node', 'n2', '--handle', 'pod-x')).trim()).toBe('10.91.2.1');
    expect(await ctl('--datastore', url, 'ipam', 'show', '--show-borrowed')).toBe(
      '+-----------+----------------+--------------+-------------+--------+--------------+\n' +
        '|    IP     | BORROWING-NODE |    BLOCK     | BLOCK OWNER |  TYPE  | ALLOCATED-TO |\n' +
        '+-----------+----------------+--------------+-------------+--------+--------------+\n' +
        '| 10.91.2.1 | n2             | 10.91.2.0/26 | n1          | handle | pod-x        |\n' +
        '+-----------+----------------+--------------+-------------+--------+--------------+\n',
    );
    await rm(d, { recursive: true, force: true });
  });

  it('seed exhaustion through the CLI: the second node gets a clear error', async () => {
    const tiny = join(dir, 'tiny.yaml');
    await writeFile(tiny, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: tiny}\nspec: {cidr: 10.91.2.0/26}\n');
    await ctl('--datastore', ds, 'apply', '-f', tiny);
    expect((await ctl('--datastore', ds, 'ipam', 'allocate', '--node', 'node-a', '--pool', 'tiny')).trim()).toBe('10.91.2.0');
    await expect(ctl('--datastore', ds, 'ipam', 'allocate', '--node', 'node-b', '--pool', '10.91.2.0/26')).rejects.toThrow(/no block available for node "node-b" in IP pool 10.91.2.0\/26/);
  });

  it('apply of an invalid file names file, line, resource and field, and changes nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: small\nspec:\n  cidr: 10.91.3.0/27\n');
    await expect(ctl('--datastore', ds, 'apply', '-f', bad)).rejects.toThrow(`${bad}:6: IPPool(small) field spec.cidr: IP pool size is too small (min /26) for use with Calico IPAM`);
    expect(await ctl('--datastore', ds, 'get', 'ippools')).not.toContain('small');
  });

  it('delete -f and delete <kind> <name>', async () => {
    const peer = join(dir, 'peer.yaml');
    await writeFile(peer, 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 192.0.2.1, asNumber: 65001}\n');
    await ctl('--datastore', ds, 'apply', '-f', peer);
    expect(await ctl('--datastore', ds, 'delete', '-f', peer)).toBe("Successfully deleted 1 'BGPPeer' resource(s)\n");
    await expect(ctl('--datastore', ds, 'delete', 'bgppeer', 'tor')).rejects.toThrow('resource does not exist: BGPPeer(tor)');
  });
});

describe('petrelctl as a process', () => {
  let build: Awaited<ReturnType<typeof compileConfigForChildren>> | undefined;
  beforeAll(async () => {
    build = await compileConfigForChildren(['tools/petrelctl.ts']);
  }, 120_000);
  afterAll(async () => {
    await build?.cleanup();
  });

  it('apply of an invalid file exits non-zero with the message on stderr; PETREL_DATASTORE selects the store', async () => {
    const bad = join(dir, 'bad2.yaml');
    await writeFile(bad, 'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: node.a\nspec:\n  asNumber: 65000\n');
    const r = await runFile('node', [join(build!.dir, 'tools/petrelctl.js'), 'apply', '-f', bad], { env: { ...process.env, PETREL_DATASTORE: ds } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`petrelctl: ${bad}:6: BGPConfiguration(node.a) field spec.asNumber: Cannot set ASNumber on a non default BGP Configuration.\n`);
    const ok = await runFile('node', [join(build!.dir, 'tools/petrelctl.js'), 'get', 'nodes'], { env: { ...process.env, PETREL_DATASTORE: ds } });
    expect(ok.stdout).toBe('NAME\nnode-a\nnode-b\nnode-c\n\n');
    expect(readFileSync(ds.slice(5), 'utf8')).not.toContain('node.a');
  });
});
