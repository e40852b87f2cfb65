/**
 * One multiprotocol session per peer (issue 9), Petrel's extension: BGPConfiguration
 * `nodeMeshAddressFamilies` and BGPPeer `addressFamilies`. Unset, the intent stays Calico's (one
 * session per family); set, a pair gets ONE PeerIntent carrying the listed families, and no
 * second per-family session. Also bindMode NodeIP listening on both node addresses.
 */
import { describe, expect, it } from 'vitest';
import { computeNodeIntent, formatIssue, parseResources, snapshotOf, type ClusterSnapshot } from '../../config/index.js';

const doc = (kind: string, name: string, body: string) => `---\napiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata:\n  name: ${name}\n${body}\n`;

const node = (name: string, v4?: string, v6?: string, labels = '') =>
  doc('Node', name, `  labels: {${labels}}\nspec:\n  bgp:\n${v4 ? `    ipv4Address: ${v4}/24\n` : ''}${v6 ? `    ipv6Address: '${v6}/64'\n` : ''}`);

const meshFamilies = (list: string) => doc('BGPConfiguration', 'default', `spec:\n  nodeMeshAddressFamilies: ${list}`);

function load(text: string): ClusterSnapshot {
  const r = parseResources(text, 'cluster.yaml');
  expect(r.errors.map(formatIssue)).toEqual([]);
  return snapshotOf(r.resources);
}

function issues(text: string): string[] {
  return parseResources(text, 'cluster.yaml').errors.map(formatIssue);
}

const summary = (s: ClusterSnapshot, n: string) => computeNodeIntent(s, n).peers.map((p) => ({ name: p.name, family: p.family, families: p.families, passive: p.passive, src: p.sourceAddress }));

describe('mesh: nodeMeshAddressFamilies', () => {
  const dual = node('a', '10.0.0.1', 'fd00::1') + node('b', '10.0.0.2', 'fd00::2');

  it('unset: Calico, one session per family', () => {
    expect(summary(load(dual), 'a').map((p) => [p.name, p.families])).toEqual([
      ['Mesh_10_0_0_2', [4]],
      ['Mesh_fd00__2', [6]],
    ]);
  });

  it('[IPv4, IPv6]: one session over IPv4 carrying both, on both ends, the greater IPv4 address dials', () => {
    const s = load(meshFamilies('[IPv4, IPv6]') + dual);
    expect(summary(s, 'a')).toEqual([{ name: 'Mesh_10_0_0_2', family: 4, families: [4, 6], passive: true, src: '10.0.0.1' }]);
    expect(summary(s, 'b')).toEqual([{ name: 'Mesh_10_0_0_1', family: 4, families: [4, 6], passive: false, src: '10.0.0.2' }]);
  });

  it('order in the list does not matter; families only where both nodes have an address; v6-only pairs use an IPv6 transport', () => {
    const s = load(meshFamilies('[IPv6, IPv4]') + node('a', '10.0.0.1', 'fd00::1') + node('b', '10.0.0.2') + node('c', undefined, 'fd00::3') + node('d', '10.0.0.4', 'fd00::4'));
    expect(summary(s, 'a').map((p) => [p.name, p.family, p.families])).toEqual([
      ['Mesh_10_0_0_2', 4, [4]],
      ['Mesh_fd00__3', 6, [6]],
      ['Mesh_10_0_0_4', 4, [4, 6]],
    ]);
    expect(summary(s, 'c').map((p) => [p.name, p.families])).toEqual([
      ['Mesh_fd00__1', [6]],
      ['Mesh_fd00__4', [6]],
    ]);
  });

  it('[IPv6] alone: the pair session carries only IPv6 (over IPv4 when both have IPv4); no IPv4 mesh', () => {
    const s = load(meshFamilies('[IPv6]') + dual + node('v4only', '10.0.0.9'));
    expect(summary(s, 'a').map((p) => [p.name, p.family, p.families])).toEqual([['Mesh_10_0_0_2', 4, [6]]]);
  });
});

describe('BGPPeer addressFamilies', () => {
  const router = (extra = '') => doc('BGPPeer', 'router', `spec:\n  peerIP: 10.81.0.1\n  asNumber: 64512\n${extra}`);

  it('peerIP: one Global_ session over the peer IP carrying both families; a node without IPv6 carries IPv4 only', () => {
    const s = load(router('  addressFamilies: [IPv4, IPv6]') + node('a', '10.81.0.11', 'fd81::11') + node('b', '10.81.0.12'));
    expect(summary(s, 'a')).toEqual([
      { name: 'Mesh_10_81_0_12', family: 4, families: [4], passive: true, src: '10.81.0.11' },
      { name: 'Global_10_81_0_1', family: 4, families: [4, 6], passive: false, src: '10.81.0.11' },
    ]);
    expect(summary(s, 'b').find((p) => p.name === 'Global_10_81_0_1')?.families).toEqual([4]);
  });

  it('peerIP without addressFamilies: Calico, the transport family alone', () => {
    const s = load(router() + node('a', '10.81.0.11', 'fd81::11'));
    expect(summary(s, 'a').find((p) => p.name === 'Global_10_81_0_1')?.families).toEqual([4]);
  });

  it('peerSelector: one Node_ session per selected node (no per-family pair), reversed the same way on the target', () => {
    const rr = doc('BGPPeer', 'to-rr', "spec:\n  nodeSelector: all()\n  peerSelector: route-reflector == 'true'\n  addressFamilies: [IPv4, IPv6]");
    const cfg = doc('BGPConfiguration', 'default', 'spec:\n  nodeToNodeMeshEnabled: false');
    const s = load(cfg + rr + node('a', '10.0.0.1', 'fd00::1') + node('rr', '10.0.0.9', 'fd00::9', "route-reflector: 'true'"));
    expect(summary(s, 'a')).toEqual([{ name: 'Node_10_0_0_9', family: 4, families: [4, 6], passive: false, src: '10.0.0.1' }]);
    expect(summary(s, 'rr')).toEqual([{ name: 'Node_10_0_0_1', family: 4, families: [4, 6], passive: false, src: '10.0.0.9' }]);
  });

  it('a family already carried to a node by an earlier multiprotocol session is not given a second session', () => {
    const cfg = doc('BGPConfiguration', 'default', 'spec:\n  nodeToNodeMeshEnabled: false');
    const combined = doc('BGPPeer', 'a-combined', "spec:\n  peerSelector: all()\n  addressFamilies: [IPv4, IPv6]");
    const perFamily = doc('BGPPeer', 'b-per-family', "spec:\n  node: a\n  peerSelector: all()");
    const s = load(cfg + combined + perFamily + node('a', '10.0.0.1', 'fd00::1') + node('b', '10.0.0.2', 'fd00::2'));
    expect(summary(s, 'a').map((p) => [p.name, p.families])).toEqual([['Global_10_0_0_2', [4, 6]]]);
  });

  it('a per-family peering after a multiprotocol one drops the family already carried; without addressFamilies Calico keeps both ports', () => {
    const cfg = doc('BGPConfiguration', 'default', 'spec:\n  nodeToNodeMeshEnabled: false');
    const v6First = doc('BGPPeer', 'a-v6', "spec:\n  node: a\n  peerIP: 'fd00::2'\n  asNumber: 64512");
    const combined = doc('BGPPeer', 'b-combined', "spec:\n  node: a\n  peerSelector: all()\n  addressFamilies: [IPv4, IPv6]");
    const s = load(cfg + v6First + combined + node('a', '10.0.0.1', 'fd00::1') + node('b', '10.0.0.2', 'fd00::2'));
    // IPv6 already has its own session: the multiprotocol one carries IPv4 only.
    expect(summary(s, 'a').map((p) => [p.name, p.families])).toEqual([['Node_fd00__2', [6]], ['Node_10_0_0_2', [4]]]);
    const twoPorts = doc('BGPPeer', 'p1', "spec:\n  node: a\n  peerIP: '10.0.0.2:1790'\n  asNumber: 64512") + doc('BGPPeer', 'p2', "spec:\n  node: a\n  peerIP: 10.0.0.2\n  asNumber: 64512");
    const t = load(cfg + twoPorts + node('a', '10.0.0.1') + node('b', '10.0.0.2'));
    expect(summary(t, 'a').map((p) => p.name)).toEqual(['Node_10_0_0_2_port_1790', 'Node_10_0_0_2']);
  });

  it('a peerIP that is a Calico node: the reverse peering on the target is the same one session', () => {
    const cfg = doc('BGPConfiguration', 'default', 'spec:\n  nodeToNodeMeshEnabled: false');
    const p = doc('BGPPeer', 'a-to-b', 'spec:\n  node: a\n  peerIP: 10.0.0.2\n  addressFamilies: [IPv4, IPv6]');
    const s = load(cfg + p + node('a', '10.0.0.1', 'fd00::1') + node('b', '10.0.0.2', 'fd00::2'));
    expect(summary(s, 'a').map((x) => [x.name, x.families])).toEqual([['Node_10_0_0_2', [4, 6]]]);
    expect(summary(s, 'b').map((x) => [x.name, x.families])).toEqual([['Node_10_0_0_1', [4, 6]]]);
  });
});

describe('validation names the file, resource and field', () => {
  it('an empty list, a family listed twice, an unknown family', () => {
    expect(issues(doc('BGPPeer', 'p', 'spec:\n  peerIP: 10.0.0.1\n  asNumber: 1\n  addressFamilies: []'))).toEqual([
      'cluster.yaml:9: BGPPeer(p) field spec.addressFamilies: addressFamilies must list at least one of IPv4, IPv6 (leave it out for one session per family)',
    ]);
    expect(issues(doc('BGPPeer', 'p', 'spec:\n  peerIP: 10.0.0.1\n  asNumber: 1\n  addressFamilies: [IPv4, IPv4]'))).toEqual([
      'cluster.yaml:9: BGPPeer(p) field spec.addressFamilies: IPv4 is listed twice',
    ]);
    const unknown = issues(meshFamilies('[IPv4, IPv5]'));
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatch(/^cluster\.yaml:7: BGPConfiguration\(default\) field spec\.nodeMeshAddressFamilies\.1: .*IPv4, IPv6/);
  });

  it('nodeMeshAddressFamilies only on the default BGPConfiguration', () => {
    expect(issues(doc('BGPConfiguration', 'node.a', 'spec:\n  nodeMeshAddressFamilies: [IPv4, IPv6]'))).toEqual([
      'cluster.yaml:7: BGPConfiguration(node.a) field spec.nodeMeshAddressFamilies: Cannot set NodeMeshAddressFamilies on a non default BGP Configuration.',
    ]);
  });
});

describe('annotation form (for stores that refuse unknown spec fields)', () => {
  const annotated = (kind: string, name: string, key: string, value: string, spec: string) =>
    `---\napiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata:\n  name: ${name}\n  annotations:\n    ${key}: '${value}'\nspec:\n${spec}\n`;
  const dual = node('a', '10.0.0.1', 'fd00::1') + node('b', '10.0.0.2', 'fd00::2');

  it('petrel.io/node-mesh-address-families on the default BGPConfiguration works as nodeMeshAddressFamilies', () => {
    const s = load(annotated('BGPConfiguration', 'default', 'petrel.io/node-mesh-address-families', 'IPv4, IPv6', '  asNumber: 64512') + dual);
    expect(summary(s, 'a').map((p) => [p.name, p.families])).toEqual([['Mesh_10_0_0_2', [4, 6]]]);
  });

  it('petrel.io/address-families on a BGPPeer works as addressFamilies', () => {
    const s = load(annotated('BGPPeer', 'router', 'petrel.io/address-families', 'IPv4,IPv6', '  peerIP: 10.0.0.9\n  asNumber: 64512') + dual);
    expect(summary(s, 'a').find((p) => p.name === 'Global_10_0_0_9')?.families).toEqual([4, 6]);
  });

  it('a bad family name, both forms at once, the mesh annotation on a node config: errors name the annotation', () => {
    expect(issues(annotated('BGPPeer', 'p', 'petrel.io/address-families', 'IPv4,ipv6', '  peerIP: 10.0.0.9\n  asNumber: 1'))).toEqual([
      'cluster.yaml:7: BGPPeer(p) field metadata.annotations.petrel.io/address-families: "ipv6" is not an address family: use IPv4, IPv6 (comma-separated)',
    ]);
    expect(issues(annotated('BGPPeer', 'p', 'petrel.io/address-families', 'IPv4', '  peerIP: 10.0.0.9\n  asNumber: 1\n  addressFamilies: [IPv4]'))).toEqual([
      'cluster.yaml:7: BGPPeer(p) field metadata.annotations.petrel.io/address-families: set either spec.addressFamilies or the petrel.io/address-families annotation, not both',
    ]);
    expect(issues(annotated('BGPConfiguration', 'node.a', 'petrel.io/node-mesh-address-families', 'IPv4,IPv6', '  listenPort: 1790'))).toEqual([
      'cluster.yaml:7: BGPConfiguration(node.a) field metadata.annotations.petrel.io/node-mesh-address-families: Cannot set NodeMeshAddressFamilies on a non default BGP Configuration.',
    ]);
  });
});

describe('bindMode NodeIP', () => {
  it('a dual-stack node listens on both node addresses, IPv4 first; a v6-only node on its IPv6 address', () => {
    const s = load(doc('BGPConfiguration', 'default', 'spec:\n  bindMode: NodeIP') + node('a', '10.0.0.1', 'fd00::1') + node('c', undefined, 'fd00::3'));
    expect(computeNodeIntent(s, 'a')).toMatchObject({ listenAddress: '10.0.0.1', listenAddresses: ['10.0.0.1', 'fd00::1'] });
    expect(computeNodeIntent(s, 'c')).toMatchObject({ listenAddress: 'fd00::3', listenAddresses: ['fd00::3'] });
  });

  it('bindMode None (default): no listen address', () => {
    const i = computeNodeIntent(load(node('a', '10.0.0.1', 'fd00::1')), 'a');
    expect(i.listenAddress).toBeUndefined();
    expect(i.listenAddresses).toBeUndefined();
  });
});
