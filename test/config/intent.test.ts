import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeNodeIntent, diffIntent, parseResources, snapshotOf, chooseRouterId, type ClusterSnapshot } from '../../config/index.js';

function load(text: string): ClusterSnapshot {
  const r = parseResources(text, 'test.yaml');
  expect(r.errors).toEqual([]);
  return snapshotOf(r.resources);
}

const example = () => load(readFileSync('docs/examples/cluster.yaml', 'utf8'));

const node = (name: string, ip: string, extra = '', labels = '') => `---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: ${name}
  labels: {${labels}}
spec:
  bgp:
    ipv4Address: ${ip}/24
${extra ? `${extra}\n` : ''}`;

describe('mesh (calico-behaviour §1)', () => {
  it('every other node with an address is a Mesh_ peer; the greater address string dials', () => {
    const i = computeNodeIntent(example(), 'node-b');
    const mesh = i.peers.filter((p) => p.kind === 'mesh');
    expect(mesh.map((p) => [p.name, p.passive])).toEqual([
      ['Mesh_10_0_1_10', false],
      ['Mesh_10_0_1_30', true],
    ]);
    expect(mesh[0]).toMatchObject({ peerAs: 64512, localAs: 64512, peerPort: 179, sourceAddress: '10.0.1.20', holdTime: 240, connectRetryTime: 5, gracefulRestartTime: 120 });
    expect(i.routerId).toBe('10.0.1.20');
    expect(i.ipv4Network).toBe('10.0.1.0/24');
  });

  it('compares addresses as strings: 10.0.0.9 dials 10.0.0.10', () => {
    const s = load(node('a', '10.0.0.9') + node('b', '10.0.0.10'));
    expect(computeNodeIntent(s, 'a').peers[0]).toMatchObject({ name: 'Mesh_10_0_0_10', passive: false });
    expect(computeNodeIntent(s, 'b').peers[0]).toMatchObject({ name: 'Mesh_10_0_0_9', passive: true });
  });

  it('nodeToNodeMeshEnabled: false removes every mesh peer', () => {
    const s = load(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
${node('a', '10.0.0.1')}${node('b', '10.0.0.2')}`);
    expect(computeNodeIntent(s, 'a').peers).toEqual([]);
  });

  it('route reflectors leave the mesh; per-node AS and remote listenPort are used', () => {
    const s = load(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: node.b}
spec: {listenPort: 1790}
${node('a', '10.0.0.1')}${node('b', '10.0.0.2', '    asNumber: 65001')}${node('rr', '10.0.0.3', '    routeReflectorClusterID: 224.0.0.1')}`);
    const a = computeNodeIntent(s, 'a');
    expect(a.peers.map((p) => p.name)).toEqual(['Mesh_10_0_0_2']);
    expect(a.peers[0]).toMatchObject({ peerAs: 65001, peerPort: 1790, localAs: 64512 });
    expect(computeNodeIntent(s, 'rr').peers).toEqual([]);
    expect(computeNodeIntent(s, 'b').listenPort).toBe(1790);
  });

  it('IPv6 mesh between nodes with v6 addresses, names use _ for :', () => {
    const s = load(`${node('a', '10.0.0.1', '    ipv6Address: fd80:24e2:f998:72d7::1/64')}${node('b', '10.0.0.2', '    ipv6Address: fd80:24e2:f998:72d7::2/64')}`);
    const names = computeNodeIntent(s, 'a').peers.map((p) => [p.name, p.family, p.passive]);
    expect(names).toEqual([
      ['Mesh_10_0_0_2', 4, true],
      ['Mesh_fd80_24e2_f998_72d7__2', 6, true],
    ]);
  });
});

describe('BGPPeer expansion (calico-behaviour §2)', () => {
  it('global peer with port gets Global_<ip>_port_<n>; node-specific duplicate of it is dropped', () => {
    const s = load(`${node('a', '10.0.0.1')}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: g}
spec: {peerIP: "10.0.1.10:1790", asNumber: 65010}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: n}
spec: {node: a, peerIP: "10.0.1.10:1790", asNumber: 65010, keepOriginalNextHop: true}
`);
    const peers = computeNodeIntent(s, 'a').peers;
    expect(peers.map((p) => p.name)).toEqual(['Global_10_0_1_10_port_1790']);
    expect(peers[0]).toMatchObject({ peerPort: 1790, peerAs: 65010, kind: 'global', keepOriginalNextHop: false });
  });

  it('node selector + peer selector: clients get Node_<rr>, RRs get Node_<client> with rr client', () => {
    const s = load(`${node('a', '10.0.0.1')}${node('b', '10.0.0.2')}${node('rr', '10.0.0.9', '    routeReflectorClusterID: 224.0.0.1', 'route-reflector: "true"')}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-rr}
spec: {nodeSelector: all(), peerSelector: route-reflector == 'true'}
`);
    const a = computeNodeIntent(s, 'a');
    expect(a.peers.map((p) => p.name)).toEqual(['Mesh_10_0_0_2', 'Node_10_0_0_9']);
    expect(a.peers[1]).toMatchObject({ passive: false, rrClient: false });
    const rr = computeNodeIntent(s, 'rr');
    expect(rr.peers.map((p) => [p.name, p.rrClient, p.rrClusterId])).toEqual([
      ['Node_10_0_0_1', true, '224.0.0.1'],
      ['Node_10_0_0_2', true, '224.0.0.1'],
    ]);
  });

  it('global peerIP that is a Calico node: passive only on the smaller side; reverse peering appears on the target', () => {
    const s = load(`${node('a', '10.0.0.1')}${node('b', '10.0.0.2')}---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-b}
spec: {peerIP: 10.0.0.2, asNumber: 64512}
`);
    const a = computeNodeIntent(s, 'a');
    expect(a.peers.map((p) => [p.name, p.passive])).toEqual([['Global_10_0_0_2', true]]);
    // b skips its own IP; automatic reverse peering gives it a node-specific peering back to a.
    const b = computeNodeIntent(s, 'b');
    expect(b.peers.map((p) => [p.name, p.kind, p.passive])).toEqual([['Node_10_0_0_1', 'node', false]]);
  });

  it('Petrel extras and options: holdTime, keepaliveTime, maxPrefixes, passive, ttlSecurity, password, sourceAddress None, eBGP keep next hop', () => {
    const s = load(`${node('a', '10.0.0.1')}---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: tor}
spec:
  node: a
  peerIP: 192.0.2.1
  asNumber: 65100
  holdTime: 90s
  keepaliveTime: 30s
  maxPrefixes: 1000
  passive: true
  ttlSecurity: 1
  password: {value: s3cret}
  sourceAddress: None
  keepOriginalNextHop: true
  maxRestartTime: 2m
`);
    const [p] = computeNodeIntent(s, 'a').peers;
    expect(p).toMatchObject({ name: 'Node_192_0_2_1', holdTime: 90, keepaliveTime: 30, maxPrefixes: 1000, passive: true, ttlSecurity: 1, password: 's3cret', keepOriginalNextHop: true, gracefulRestartTime: 120 });
    expect(p?.sourceAddress).toBeUndefined();
  });
});

describe('blocks, borrowed addresses, router id', () => {
  it('own blocks: confirmed and pendingDeletion kept, pending dropped; borrowed /32 from another node block', () => {
    const s = load(`${node('a', '10.0.0.1')}${node('b', '10.0.0.2')}---
apiVersion: projectcalico.org/v3
kind: List
items:
- {apiVersion: projectcalico.org/v3, kind: BlockAffinity, metadata: {name: a-1}, spec: {node: a, cidr: 10.244.0.0/26, state: confirmed}}
- {apiVersion: projectcalico.org/v3, kind: BlockAffinity, metadata: {name: a-2}, spec: {node: a, cidr: 10.244.0.64/26, state: pending}}
- {apiVersion: projectcalico.org/v3, kind: BlockAffinity, metadata: {name: a-3}, spec: {node: a, cidr: 10.244.0.128/26, state: pendingDeletion}}
- {apiVersion: projectcalico.org/v3, kind: IPAMBlock, metadata: {name: b1}, spec: {cidr: 10.244.1.0/26, affinity: "host:b", allocations: [{ordinal: 0, node: b}, {ordinal: 5, node: a}]}}
`);
    const a = computeNodeIntent(s, 'a');
    expect(a.ownBlocks).toEqual(['10.244.0.0/26', '10.244.0.128/26']);
    expect(a.borrowed).toEqual(['10.244.1.5/32']);
    expect(computeNodeIntent(s, 'b').borrowed).toEqual([]);
  });

  it('router id: env address, hash (first octet > 223 lowered by 32), node IPv4, error for v6-only', () => {
    expect(chooseRouterId('n', '10.0.0.1', { CALICO_ROUTER_ID: '1.2.3.4' })).toBe('1.2.3.4');
    expect(chooseRouterId('n', '10.0.0.1')).toBe('10.0.0.1');
    const h = chooseRouterId('node-a', undefined, { CALICO_ROUTER_ID: 'hash' });
    expect(h).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(Number(h.split('.')[0])).toBeLessThanOrEqual(223);
    expect(chooseRouterId('node-a', undefined, { CALICO_ROUTER_ID: 'hash' })).toBe(h);
    expect(() => chooseRouterId('v6only', undefined)).toThrow(/CALICO_ROUTER_ID/);
  });
});

describe('diffIntent', () => {
  it('adds, removes, changes and keeps peers; block and borrowed changes', () => {
    const before = computeNodeIntent(example(), 'node-a');
    const text = readFileSync('docs/examples/cluster.yaml', 'utf8')
      .replace('peerIP: 10.0.1.1\n  asNumber: 64512', 'peerIP: 10.0.1.1\n  asNumber: 65000')
      .replace(/  - apiVersion: projectcalico.org\/v3\n    kind: Node\n    metadata:\n      name: node-c[\s\S]*?ipv4Address: 10.0.1.30\/24\n/, '');
    const after = { ...computeNodeIntent(load(text), 'node-a'), ownBlocks: ['10.244.0.0/26'], borrowed: ['10.244.9.1/32'] };
    const d = diffIntent(before, after);
    expect(d.peersRemoved.map((p) => p.name)).toEqual(['Mesh_10_0_1_30']);
    expect(d.peersAdded).toEqual([]);
    expect(d.peersChanged.map((c) => [c.next.name, c.fields])).toEqual([['Global_10_0_1_1', ['peerAs']]]);
    expect(d.peersUnchanged.map((p) => p.name)).toEqual(['Mesh_10_0_1_20']);
    expect(d.blocksAdded).toEqual(['10.244.0.0/26']);
    expect(d.borrowedAdded).toEqual(['10.244.9.1/32']);
  });
});
