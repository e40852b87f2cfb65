import { describe, expect, it } from 'vitest';
import { ConfigError, formatIssue, parseResources } from '../../config/index.js';

const pool = (spec: string, name = 'p') => `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: ${name}
spec:
${spec}`;

const peer = (spec: string) => `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: bad-peer
spec:
${spec}`;

const bgpConfig = (name: string, spec: string) => `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: ${name}
spec:
${spec}`;

/** [case, YAML, expected message, expected field, expected line] */
const TABLE: [string, string, string, string, number][] = [
  ['v4 block size too large', pool('  cidr: 10.0.0.0/16\n  blockSize: 33'), 'IPv4 block size must be between 20 and 32', 'spec.blockSize', 7],
  ['v4 block size too small', pool('  cidr: 10.0.0.0/16\n  blockSize: 19'), 'IPv4 block size must be between 20 and 32', 'spec.blockSize', 7],
  ['v6 block size out of range', pool('  cidr: fd00::/48\n  blockSize: 115'), 'IPv6 block size must be between 116 and 128', 'spec.blockSize', 7],
  ['pool smaller than default block (seed /27)', pool('  cidr: 10.91.3.0/27'), 'IP pool size is too small (min /26) for use with Calico IPAM', 'spec.cidr', 6],
  ['pool smaller than its block size', pool('  cidr: 10.91.3.0/29\n  blockSize: 28'), 'IP pool size is too small (min /28) for use with Calico IPAM', 'spec.cidr', 6],
  ['host bits set', pool('  cidr: 10.0.0.1/16'), 'IPPool CIDR is not strictly masked', 'spec.cidr', 6],
  ['IPIP on IPv6', pool('  cidr: fd00::/48\n  ipipMode: Always'), 'IPIP is not supported on an IPv6 IP pool', 'spec.ipipMode', 7],
  ['IPIP and VXLAN', pool('  cidr: 10.0.0.0/16\n  ipipMode: Always\n  vxlanMode: CrossSubnet'), 'Cannot enable both VXLAN and IPIP on the same IPPool', 'spec.vxlanMode', 8],
  ['v4 link local', pool('  cidr: 169.254.0.0/16'), 'IPPool CIDR overlaps with IPv4 Link Local range 169.254.0.0/16', 'spec.cidr', 6],
  ['v6 link local', pool('  cidr: fe80::/64'), 'IPPool CIDR overlaps with IPv6 Link Local range fe80::/10', 'spec.cidr', 6],
  ['bad encap mode', pool('  cidr: 10.0.0.0/16\n  ipipMode: Sometimes'), 'must be one of Always, CrossSubnet, Never', 'spec.ipipMode', 7],
  ['bad pool selector', pool("  cidr: 10.0.0.0/16\n  nodeSelector: rack == r1"), 'invalid selector: expected a quoted value at position 8 in selector "rack == r1"', 'spec.nodeSelector', 7],
  ['unknown field', pool('  cidr: 10.0.0.0/16\n  blocksize: 26'), 'unknown field "blocksize"', 'spec.blocksize', 7],
  ['duplicate key', pool('  cidr: 10.0.0.0/16\n  cidr: 10.1.0.0/16'), 'duplicate key "cidr"', 'spec.cidr', 7],
  ['wrong type', pool('  cidr: 10.0.0.0/16\n  natOutgoing: yes'), 'must be a boolean (true/false)', 'spec.natOutgoing', 7],
  ['peer node and nodeSelector', peer('  node: a\n  nodeSelector: all()\n  peerIP: 10.0.0.1\n  asNumber: 65000'), 'Node field must be empty when NodeSelector is specified', 'spec.nodeSelector', 7],
  ['peer peerIP and peerSelector', peer("  peerIP: 10.0.0.1\n  peerSelector: rr == 'true'"), 'PeerIP field must be empty when PeerSelector is specified', 'spec.peerSelector', 7],
  ['peer asNumber with peerSelector', peer("  peerSelector: rr == 'true'\n  asNumber: 65000"), 'ASNumber field must be empty when PeerSelector is specified', 'spec.asNumber', 7],
  ['peer without target', peer('  asNumber: 65000'), 'Either PeerIP or PeerSelector must be specified', 'spec.peerIP', 5],
  ['peer bad IP', peer('  peerIP: 10.0.0.300\n  asNumber: 65000'), 'invalid peerIP "10.0.0.300": expected an IP, IPv4:port or [IPv6]:port', 'spec.peerIP', 6],
  ['per-node ASNumber', bgpConfig('node.a', '  asNumber: 65000'), 'Cannot set ASNumber on a non default BGP Configuration.', 'spec.asNumber', 6],
  ['per-node mesh switch', bgpConfig('node.a', '  nodeToNodeMeshEnabled: false'), 'Cannot set NodeToNodeMeshEnabled on a non default BGP Configuration.', 'spec.nodeToNodeMeshEnabled', 6],
  ['per-node service IPs', bgpConfig('node.a', '  serviceClusterIPs:\n  - cidr: 10.96.0.0/12'), 'Cannot set ServiceClusterIPs on a non default BGP Configuration.', 'spec.serviceClusterIPs', 6],
  ['bad AS number', bgpConfig('default', '  asNumber: 1.70000'), 'must be an AS number', 'spec.asNumber', 6],
  ['bad listen port', bgpConfig('default', '  listenPort: 70000'), 'must be a port number (1-65535)', 'spec.listenPort', 6],
  ['unknown kind', 'apiVersion: projectcalico.org/v3\nkind: IPPoool\nmetadata: {name: x}\nspec: {}', 'unknown kind "IPPoool" (expected one of BGPConfiguration, BGPPeer, IPPool, Node, BlockAffinity, IPAMBlock, IPAMConfiguration)', 'kind', 2],
  ['missing name', 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {}\nspec: {cidr: 10.0.0.0/16}', 'metadata.name is required', 'metadata.name', 2],
  ['bad node address', 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: a}\nspec:\n  bgp:\n    ipv4Address: fd00::1/64', 'invalid IPv4 address "fd00::1/64"', 'spec.bgp.ipv4Address', 6],
];

describe('validation table: each invalid resource and its exact message', () => {
  for (const [name, yaml, message, field, line] of TABLE) {
    it(name, () => {
      const r = parseResources(yaml, 'bad.yaml');
      expect(r.resources).toEqual([]);
      expect(r.errors.map((e) => ({ message: e.message, field: e.field, line: e.line, file: e.file }))).toContainEqual({ message, field, line, file: 'bad.yaml' });
    });
  }

  it('a disabled pool smaller than its block size is accepted (Calico only checks enabled pools)', () => {
    expect(parseResources(pool('  cidr: 10.91.3.0/27\n  disabled: true'), 'ok.yaml').errors).toEqual([]);
  });

  it('overlapping pools: the later one is reported with the other pool named', () => {
    const r = parseResources(`${pool('  cidr: 10.0.0.0/16', 'first')}\n---\n${pool('  cidr: 10.0.128.0/24', 'second')}`, 'two.yaml');
    expect(r.errors).toEqual([{ file: 'two.yaml', line: 13, kind: 'IPPool', name: 'second', field: 'spec.cidr', message: 'IPPool(second) CIDR overlaps with IPPool(first) CIDR 10.0.0.0/16' }]);
  });

  it('YAML syntax errors carry the line', () => {
    const r = parseResources('kind: IPPool\nmetadata:\n  name: [unclosed\n', 'syntax.yaml');
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]?.file).toBe('syntax.yaml');
    expect(r.errors[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('ConfigError lists file:line, resource and field', () => {
    const r = parseResources(pool('  cidr: 10.91.3.0/27', 'small'), 'cluster.yaml');
    expect(new ConfigError(r.errors).message).toBe('cluster.yaml:6: IPPool(small) field spec.cidr: IP pool size is too small (min /26) for use with Calico IPAM');
    expect(formatIssue(r.errors[0]!)).toContain('cluster.yaml:6');
  });

  it('kind: List and several documents, calicoctl export shape, all accepted', () => {
    const text = `apiVersion: projectcalico.org/v3
kind: List
items:
- apiVersion: projectcalico.org/v3
  kind: Node
  metadata:
    name: n1
    creationTimestamp: "2024-01-01T00:00:00Z"
    resourceVersion: "123"
    uid: abc
  spec:
    bgp: {ipv4Address: 10.0.0.1/24}
    orchRefs: [{nodeName: n1, orchestrator: k8s}]
  status: {podCIDRs: [10.244.0.0/24]}
metadata:
  resourceVersion: "9"
---
${pool('  cidr: 192.168.0.0/16\n  ipipMode: Always\n  natOutgoing: true\n  nodeSelector: all()\n  allowedUses: [Workload, Tunnel]')}
`;
    const r = parseResources(text, 'export.yaml');
    expect(r.errors).toEqual([]);
    expect(r.resources.map((x) => `${x.kind}/${x.metadata.name}`)).toEqual(['Node/n1', 'IPPool/p']);
    expect(r.resources[1]?.origin?.fieldLines['spec.cidr']).toBe(23);
  });
});

describe('document-cached parsing of files', () => {
  it('gives the same resources, lines and errors as parsing the whole text', async () => {
    const { parseFileCached } = await import('../../config/datastore/file.js');
    const { readFileSync } = await import('node:fs');
    const text = `${readFileSync('docs/examples/cluster.yaml', 'utf8')}---\n${pool('  cidr: 10.244.0.0/24', 'overlapping')}\n---\n${pool('  cidr: 10.91.3.0/27', 'small')}\n`;
    const whole = parseResources(text, 'c.yaml');
    const cached = parseFileCached(text, 'c.yaml');
    expect(cached.resources).toEqual(whole.resources);
    expect(cached.errors.map(formatIssue).sort()).toEqual(whole.errors.map(formatIssue).sort());
    expect(whole.errors.map(formatIssue).sort()).toEqual([
      'c.yaml:71: IPPool(overlapping) field spec.cidr: IPPool(overlapping) CIDR overlaps with IPPool(default-ipv4-ippool) CIDR 10.244.0.0/16',
      'c.yaml:78: IPPool(small) field spec.cidr: IP pool size is too small (min /26) for use with Calico IPAM',
    ]);
    expect(parseFileCached(text, 'c.yaml').resources).toEqual(whole.resources);
  });
});
