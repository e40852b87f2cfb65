/**
 * Router ids of IPv6-only nodes (issue 9, calico-behaviour.md §8): the node's IPv4 address when it
 * has one, CALICO_ROUTER_ID when set, otherwise a deterministic id derived from the node name that
 * no other node of the cluster holds.
 */
import { describe, expect, it } from 'vitest';
import { chooseRouterId, clusterRouterId, computeNodeIntent, parseResources, snapshotOf, type ClusterSnapshot } from '../../config/index.js';

const hash = (seed: string) => chooseRouterId(seed, undefined, { CALICO_ROUTER_ID: 'hash' });

function cluster(nodes: ReadonlyArray<{ name: string; v4?: string; v6?: string }>): ClusterSnapshot {
  const text = nodes
    .map((n) => {
      const addrs = [n.v4 ? `ipv4Address: ${n.v4}/24` : '', n.v6 ? `ipv6Address: '${n.v6}/64'` : ''].filter(Boolean).join(', ');
      return `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: ${n.name} }\nspec: { bgp: { ${addrs} } }\n`;
    })
    .join('---\n');
  const r = parseResources(text, 'cluster.yaml');
  expect(r.errors).toEqual([]);
  return snapshotOf(r.resources);
}

describe('router id of IPv6-only nodes', () => {
  it('is the SHA-256 derivation of the node name, the same on every computation', () => {
    const s = cluster([{ name: 'v6-a', v6: 'fd00::1' }, { name: 'dual', v4: '10.0.0.2', v6: 'fd00::2' }]);
    const id = computeNodeIntent(s, 'v6-a').routerId;
    expect(id).toBe(hash('v6-a'));
    expect(id).toMatch(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
    expect(Number(id.split('.')[0])).toBeLessThanOrEqual(223);
    expect(computeNodeIntent(s, 'v6-a').routerId).toBe(id);
    // Another name, another id.
    expect(computeNodeIntent(cluster([{ name: 'v6-b', v6: 'fd00::1' }]), 'v6-b').routerId).not.toBe(id);
  });

  it('dual-stack nodes keep their IPv4 address; CALICO_ROUTER_ID still wins', () => {
    const s = cluster([{ name: 'v6-a', v6: 'fd00::1' }, { name: 'dual', v4: '10.0.0.2', v6: 'fd00::2' }]);
    expect(computeNodeIntent(s, 'dual').routerId).toBe('10.0.0.2');
    expect(computeNodeIntent(s, 'v6-a', { CALICO_ROUTER_ID: '192.0.2.9' }).routerId).toBe('192.0.2.9');
  });

  it('never takes an id another node holds: a clash moves on deterministically', () => {
    // IPv4 nodes whose addresses are exactly the first two candidates of v6-a.
    const s = cluster([
      { name: 'v6-a', v6: 'fd00::1' },
      { name: 'x', v4: hash('v6-a') },
      { name: 'y', v4: hash('v6-a#1') },
    ]);
    expect(computeNodeIntent(s, 'v6-a').routerId).toBe(hash('v6-a#2'));
  });

  it('IPv6-only nodes claim in name order, so two of them never end up equal', () => {
    const nodes = [
      { name: 'b', ipv4Address: undefined },
      { name: 'a', ipv4Address: undefined },
      { name: 'c', ipv4Address: hash('a') },
    ];
    const a = clusterRouterId(nodes, 'a', undefined);
    const b = clusterRouterId(nodes, 'b', undefined);
    expect(a).toBe(hash('a#1'));
    expect(b).toBe(hash('b') === a ? hash('b#1') : hash('b'));
    expect(new Set([a, b, hash('a')]).size).toBe(3);
    // Many IPv6-only nodes: all distinct, and each node computes the same id for itself as the set implies.
    const many = Array.from({ length: 300 }, (_, i) => ({ name: `node-${i}`, ipv4Address: undefined }));
    const ids = many.map((n) => clusterRouterId(many, n.name, undefined));
    expect(new Set(ids).size).toBe(300);
    expect(ids).not.toContain('0.0.0.0');
  });
});
