import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { hubAddress, parseTopology, TopologyError } from '../../tools/lab/topology.js';
import { renderBirdConfig, renderGobgpConfig } from '../../tools/lab/router-config.js';
import { labResources, renderResources } from '../../tools/lab/calico-resources.js';
import { run } from '../../tools/lab/netns.js';

const demo = `
name: demo
network: 10.0.0.0/24
pools:
  - name: default-ipv4-ippool
    cidr: 10.48.0.0/24
    ipipMode: Always
  - name: external-pool
    cidr: 10.48.2.0/24
    blockSize: 29
hosts:
  - { name: node1, role: petrel, address: 10.0.0.1/24, workloads: 2 }
  - { name: node2, role: petrel, address: 10.0.0.2/24, workloads: { external-pool: 1 } }
  - { name: bastion, role: bird, address: 10.0.0.10/24 }
  - { name: gw, role: gobgp, address: 10.0.0.11/24, asNumber: 65001, globalPeer: false }
`;

describe('topology', () => {
  it('applies defaults: AS 64512, block size 26, routers peer with every petrel host', () => {
    const t = parseTopology(demo);
    expect(t.asNumber).toBe(64512);
    expect(t.pools[0]).toMatchObject({ blockSize: 26, ipipMode: 'Always', vxlanMode: 'Never' });
    const bastion = t.hosts.find((h) => h.name === 'bastion')!;
    expect(bastion).toMatchObject({ ip: '10.0.0.10', asNumber: 64512, peers: ['node1', 'node2'], globalPeer: true });
    expect(t.hosts.find((h) => h.name === 'node1')!.workloads).toEqual([{ pool: '', count: 2 }]);
    expect(t.hosts.find((h) => h.name === 'node2')!.workloads).toEqual([{ pool: 'external-pool', count: 1 }]);
    expect(hubAddress(t.networks[0]!)).toBe('10.0.0.254/24');
  });

  it.each([
    ['hosts: []', /at least one host/],
    ['hosts: [{ name: a, role: quagga, address: 10.0.0.1/24 }]', /role 'quagga'/],
    ['hosts: [{ name: a, address: 10.1.0.1/24 }]', /not in network lan/],
    ['hosts: [{ name: a, address: 10.0.0.1/24 }, { name: a, address: 10.0.0.2/24 }]', /'a' repeats/],
    ['hosts: [{ name: a, address: 10.0.0.1/24 }, { name: b, address: 10.0.0.1/24 }]', /used twice/],
    ['hosts: [{ name: a, address: 10.0.0.1/24, colour: red }]', /unknown field 'colour'/],
    ['hosts: [{ name: r, role: bird, address: 10.0.0.1/24, peers: [ghost] }]', /'ghost' is not another host/],
    ['hosts: [{ name: a, role: petrel, address: 10.0.0.1/24, workloads: { nopool: 1 } }]', /pool 'nopool' is not declared/],
    ['hosts: [{ name: Bad_Name, address: 10.0.0.1/24 }]', /must match/],
  ])('refuses %s', (text, message) => {
    expect(() => parseTopology(text)).toThrow(TopologyError);
    expect(() => parseTopology(text)).toThrow(message);
  });
});

describe('generated configs', () => {
  it('renders a BIRD config that bird itself accepts, one BGP protocol per petrel host', async () => {
    const t = parseTopology(demo);
    const conf = renderBirdConfig(t, t.hosts.find((h) => h.name === 'bastion')!);
    expect(conf).toMatch(/protocol bgp peer_node1 \{[^}]*local 10\.0\.0\.10 as 64512;\s+neighbor 10\.0\.0\.1 as 64512;/);
    expect(conf).toContain('neighbor 10.0.0.2 as 64512;');
    expect(conf).toContain('export where source = RTS_BGP;');
    expect(conf).toContain('import all;');
    const dir = await mkdtemp(join(tmpdir(), 'pt-lab-conf-'));
    try {
      await writeFile(join(dir, 'bird.conf'), conf);
      await run('bird', ['-p', '-c', join(dir, 'bird.conf')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders a GoBGP config that gobgpd accepts', async () => {
    const t = parseTopology(demo);
    const conf = renderGobgpConfig(t, t.hosts.find((h) => h.name === 'gw')!);
    expect(conf).toContain('as = 65001');
    expect(conf).toContain('neighbor-address = "10.0.0.1"');
    const dir = await mkdtemp(join(tmpdir(), 'pt-lab-conf-'));
    try {
      await writeFile(join(dir, 'gobgpd.toml'), conf);
      await run('gobgpd', ['-d', '-f', join(dir, 'gobgpd.toml'), '-t', 'toml']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders the Calico resources the petrel hosts share', () => {
    const t = parseTopology(demo);
    const docs = parseAllDocuments(renderResources(labResources(t))).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'BGPConfiguration/default', 'Node/node1', 'Node/node2', 'IPPool/default-ipv4-ippool', 'IPPool/external-pool', 'BGPPeer/bastion',
    ]);
    expect(docs[1]!.spec).toEqual({ bgp: { ipv4Address: '10.0.0.1/24' } });
    expect(docs[4]!.spec).toMatchObject({ cidr: '10.48.2.0/24', blockSize: 29, ipipMode: 'Never' });
    expect(docs[5]!.spec).toEqual({ peerIP: '10.0.0.10', asNumber: 64512 });
    expect(parseYaml(renderResources([labResources(t)[0]!]))).toMatchObject({ apiVersion: 'projectcalico.org/v3' });
  });
});
