/**
 * The lab's dual-stack topology pieces that scenario 2 relies on, without namespaces: `network6`
 * and `address6` parse and validate, IPv6 pools default to /122 blocks, the Calico resources carry
 * the nodes' IPv6 addresses and an IPv6 global BGPPeer, the BIRD and GoBGP configs add one IPv6
 * session per dual-stack peer (and BIRD and gobgpd accept them), and the GoBGP pump reads an IPv6
 * next hop. An IPv4-only topology renders as before.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseTopology, TopologyError } from '../../tools/lab/topology.js';
import { labResources, renderResources } from '../../tools/lab/calico-resources.js';
import { renderBirdConfig, renderGobgpConfig } from '../../tools/lab/router-config.js';
import { desiredRoutes } from '../../tools/lab/gobgp-pump.js';
import { withinCidr } from '../../tools/lab/addr.js';
import { run } from '../../tools/lab/netns.js';

const dual = `
network: 10.0.2.0/24
network6: fd00:0:0:2::/64
pools:
  - { name: v4, cidr: 10.244.0.0/16 }
  - { name: v6, cidr: 'fd00:10:244::/112' }
hosts:
  - { name: node1, role: petrel, address: 10.0.2.1/24, address6: 'fd00:0:0:2::1/64', workloads: 1 }
  - { name: node2, role: petrel, address: 10.0.2.2/24, address6: 'fd00:0:0:2::2/64' }
  - { name: node3, role: petrel, address: 10.0.2.3/24 }
  - { name: bastion, role: bird, address: 10.0.2.10/24, address6: 'fd00:0:0:2::a/64', originate: [192.168.5.0/24, 'fd99:5::/64'] }
  - { name: gw, role: gobgp, address: 10.0.2.11/24, address6: 'fd00:0:0:2::b/64' }
`;

async function accepted(file: string, text: string, argv: (path: string) => string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pt-lab-ds-'));
  try {
    await writeFile(join(dir, file), text);
    const [cmd, ...args] = argv(join(dir, file));
    await run(cmd!, args);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('dual-stack topology', () => {
  it('parses network6 and address6; IPv6 pools default to /122 blocks, IPv4 pools to /26', () => {
    const t = parseTopology(dual);
    expect(t.networks[0]).toEqual({ name: 'lan', cidr: '10.0.2.0/24', cidr6: 'fd00:0:0:2::/64' });
    expect(t.pools.map((p) => [p.name, p.family, p.blockSize])).toEqual([['v4', 4, 26], ['v6', 6, 122]]);
    expect(t.hosts.find((h) => h.name === 'node1')).toMatchObject({ ip: '10.0.2.1', ip6: 'fd00:0:0:2::1' });
    expect(t.hosts.find((h) => h.name === 'node3')!.ip6).toBeUndefined();
  });

  it.each([
    ['hosts: [{ name: a, address: 10.0.0.1/24, address6: "fd00::1/64" }]', /network lan has no IPv6 prefix/],
    ['network: 10.0.0.0/24\nnetwork6: "fd00::/64"\nhosts: [{ name: a, address: 10.0.0.1/24, address6: "fd01::1/64" }]', /not in network lan/],
    ['network: 10.0.0.0/24\nnetwork6: "fd00::/64"\nhosts: [{ name: a, address: 10.0.0.1/24, address6: "10.0.0.9/24" }]', /must be an IPv6 prefix/],
    ['network: 10.0.0.0/24\nnetwork6: "fd00::/64"\nhosts: [{ name: a, address: 10.0.0.1/24, address6: "fd00::1/64" }, { name: b, address: 10.0.0.2/24, address6: "fd00::1/64" }]', /used twice/],
    ['hosts: [{ name: a, address6: "fd00::1/64" }]', /'address6' goes with 'address'/],
  ])('refuses %s', (text, message) => {
    expect(() => parseTopology(text)).toThrow(TopologyError);
    expect(() => parseTopology(text)).toThrow(message);
  });

  it('gives dual-stack nodes an ipv6Address and a dual-stack router a second global BGPPeer over IPv6', () => {
    const docs = parseAllDocuments(renderResources(labResources(parseTopology(dual)))).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
    expect(docs.find((d) => d.kind === 'Node' && d.metadata.name === 'node1')!.spec).toEqual({ bgp: { ipv4Address: '10.0.2.1/24', ipv6Address: 'fd00:0:0:2::1/64' } });
    expect(docs.find((d) => d.kind === 'Node' && d.metadata.name === 'node3')!.spec).toEqual({ bgp: { ipv4Address: '10.0.2.3/24' } });
    expect(docs.find((d) => d.kind === 'IPPool' && d.metadata.name === 'v6')!.spec).toMatchObject({ cidr: 'fd00:10:244::/112', blockSize: 122 });
    expect(docs.filter((d) => d.kind === 'BGPPeer').map((d) => [d.metadata.name, d.spec.peerIP])).toEqual([
      ['bastion', '10.0.2.10'], ['bastion-v6', 'fd00:0:0:2::a'], ['gw', '10.0.2.11'], ['gw-v6', 'fd00:0:0:2::b'],
    ]);
  });

  it('renders a BIRD config with an IPv6 session per dual-stack peer only, an IPv6 kernel protocol and IPv6 originates; bird accepts it', async () => {
    const t = parseTopology(dual);
    const conf = renderBirdConfig(t, t.hosts.find((h) => h.name === 'bastion')!);
    expect(conf).toMatch(/protocol bgp peer_node1_v6 \{[^}]*local fd00:0:0:2::a as 64512;\s+neighbor fd00:0:0:2::1 as 64512;[^}]*ipv6 \{\s+import all;\s+export where proto = "lab_originate6";/);
    expect(conf).toContain('protocol bgp peer_node2_v6 {');
    expect(conf).not.toContain('peer_node3_v6');
    expect(conf).toMatch(/protocol kernel \{[^}]*ipv6 \{\s+import none;\s+export where source = RTS_BGP;/);
    expect(conf).toMatch(/protocol static lab_originate6 \{\s+ipv6;\s+route fd99:5::\/64 blackhole;/);
    expect(conf).toMatch(/protocol static lab_originate \{\s+ipv4;\s+route 192\.168\.5\.0\/24 blackhole;\s+\}/);
    await accepted('bird.conf', conf, (f) => ['bird', '-p', '-c', f]);
  });

  it('renders a GoBGP config with an ipv6-unicast neighbor per dual-stack peer; gobgpd accepts it', async () => {
    const t = parseTopology(dual);
    const conf = renderGobgpConfig(t, t.hosts.find((h) => h.name === 'gw')!);
    expect(conf).toContain('local-address-list = ["10.0.2.11", "fd00:0:0:2::b"]');
    expect(conf).toMatch(/neighbor-address = "fd00:0:0:2::1"[\s\S]*?local-address = "fd00:0:0:2::b"[\s\S]*?afi-safi-name = "ipv6-unicast"/);
    expect(conf).not.toContain('neighbor-address = "fd00:0:0:2::3"');
    await accepted('gobgpd.toml', conf, (f) => ['gobgpd', '-d', '-f', f, '-t', 'toml']);
  });

  it('an IPv4-only topology renders no IPv6 at all', () => {
    const t = parseTopology('network: 10.0.0.0/24\nhosts: [{ name: n, role: petrel, address: 10.0.0.1/24 }, { name: r, role: bird, address: 10.0.0.10/24 }]');
    const conf = renderBirdConfig(t, t.hosts[1]!);
    expect(conf).not.toMatch(/ipv6|_v6/);
    expect(renderResources(labResources(t))).not.toMatch(/ipv6Address|-v6/);
  });

  it("the GoBGP pump takes an IPv6 route's next hop from MP_REACH_NLRI", () => {
    const rib = JSON.stringify({
      'fd00:10:244::40/122': [{ best: true, 'neighbor-ip': 'fd00:0:0:2::2', attrs: [{ type: 1 }, { type: 14, nexthop: 'fd00:0:0:2::2' }] }],
      'fd99::/64': [{ best: true, attrs: [{ type: 14, nexthop: '::' }] }],
    });
    expect(desiredRoutes(rib)).toEqual([{ prefix: 'fd00:10:244::40/122', via: 'fd00:0:0:2::2' }]);
  });

  it('withinCidr works for both families and never across them', () => {
    expect(withinCidr('fd00:10:244::45', 'fd00:10:244::40/122')).toBe(true);
    expect(withinCidr('fd00:10:244::85', 'fd00:10:244::40/122')).toBe(false);
    expect(withinCidr('10.244.1.5', '10.244.1.0/26')).toBe(true);
    expect(withinCidr('10.244.1.5', 'fd00::/8')).toBe(false);
  });
});
