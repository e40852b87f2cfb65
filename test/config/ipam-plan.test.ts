import { describe, expect, it } from 'vitest';
import {
  applyIpamWrites, blockCidrAt, fnv32, IpamError, parseResources, planAllocate, planConfirm, planRelease, planReleaseEmptyBlocks, poolGeometry,
  requestedPools, choosePools, snapshotOf, type AllocateRequest, type ClusterSnapshot,
} from '../../config/index.js';

function load(text: string): ClusterSnapshot {
  const r = parseResources(text, 't.yaml');
  expect(r.errors).toEqual([]);
  return snapshotOf(r.resources);
}

const nodes = (...names: string[]) =>
  names.map((n, i) => `---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${n}, labels: {rack: r${i % 2}}}\nspec: {bgp: {ipv4Address: 10.0.0.${i + 1}/24}}\n`).join('');
const pool = (name: string, cidr: string, extra = '') => `---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}${extra}}\n`;
const ipamConfig = (spec: string) => `---\napiVersion: projectcalico.org/v3\nkind: IPAMConfiguration\nmetadata: {name: default}\nspec: {${spec}}\n`;

/** Runs the same claim/confirm loop the datastores run, on an in-memory snapshot. */
function allocate(s: ClusterSnapshot, req: AllocateRequest): { s: ClusterSnapshot; ip: string; block: string; borrowed: boolean } {
  for (let i = 0; i < 10; i++) {
    const plan = planAllocate(s, req);
    s = applyIpamWrites(s, plan.writes);
    if (plan.kind === 'assign') return { s, ip: plan.ip, block: plan.block, borrowed: plan.borrowed };
    expect(s.blockAffinities.find((a) => a.spec.cidr === plan.block)?.spec.state).toBe('pending');
    s = applyIpamWrites(s, planConfirm(s, req.node, plan.block));
  }
  throw new Error('no progress');
}

describe('block arithmetic', () => {
  it('a /8 of /26 costs nothing: block i computed on demand', () => {
    const g = poolGeometry('10.0.0.0/8', 26);
    expect(g.blockCount).toBe(262144n);
    expect(blockCidrAt(g, 0n)).toBe('10.0.0.0/26');
    expect(blockCidrAt(g, 262143n)).toBe('10.255.255.192/26');
    expect(blockCidrAt(poolGeometry('fd00::/48', 122), 3n)).toBe('fd00::c0/122');
  });

  it('FNV-1 32 matches Go hash/fnv New32', () => {
    expect(fnv32('')).toBe(0x811c9dc5);
    expect(fnv32('a')).toBe(0x050c5d7e);
    expect(fnv32('foobar')).toBe(0x31f0b262);
  });

  it('claims in a huge pool are instant', () => {
    let s = load(nodes('a') + pool('big', '10.0.0.0/8'));
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) s = allocate(s, { node: 'a' }).s;
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(s.blockAffinities.length).toBe(4); // 200 addresses in 64-address blocks
  });
});

describe('allocation', () => {
  it('ordinals are handed out in order within the node-seeded block; start index = fnv32(host) mod blocks', () => {
    let s = load(nodes('a') + pool('p', '10.244.0.0/24'));
    const r1 = allocate(s, { node: 'a', handle: 'h1' });
    const start = fnv32('a') % 4;
    expect(r1.block).toBe(blockCidrAt(poolGeometry('10.244.0.0/24', 26), BigInt(start)));
    s = r1.s;
    const r2 = allocate(s, { node: 'a' });
    const base = r1.ip.split('.').map(Number);
    expect(r2.ip).toBe(`${base[0]}.${base[1]}.${base[2]}.${base[3]! + 1}`);
    expect(r2.s.blockAffinities.map((a) => a.spec.state)).toEqual(['confirmed']);
    expect(r2.s.ipamBlocks[0]?.spec.affinity).toBe('host:a');
  });

  it('seed exhaustion: a /26 pool with the default block size serves one node; the second gets a clear error', () => {
    let s = load(nodes('a', 'b') + pool('tiny', '10.91.2.0/26'));
    s = allocate(s, { node: 'a', pools: ['10.91.2.0/26'] }).s;
    expect(() => planAllocate(s, { node: 'b', pools: ['10.91.2.0/26'] })).toThrow(
      'no block available for node "b" in IP pool 10.91.2.0/26: all 1 block(s) are claimed by other nodes (explicitly requested pools are not borrowed from)',
    );
  });

  it('borrowing: without strictAffinity a node takes a free address from another node block', () => {
    let s = load(nodes('a', 'b') + pool('tiny', '10.91.2.0/26'));
    s = allocate(s, { node: 'a' }).s;
    const r = allocate(s, { node: 'b' });
    expect(r).toMatchObject({ ip: '10.91.2.1', block: '10.91.2.0/26', borrowed: true });
    expect(r.s.ipamBlocks[0]?.spec.allocations.map((a) => a.node)).toEqual(['a', 'b']);
  });

  it('strictAffinity: no borrowing, Calico message', () => {
    let s = load(nodes('a', 'b') + pool('tiny', '10.91.2.0/26') + ipamConfig('strictAffinity: true'));
    s = allocate(s, { node: 'a' }).s;
    expect(() => planAllocate(s, { node: 'b' })).toThrow('No more free affine blocks and strict affinity enabled');
  });

  it('a full pool with every block full is exhausted even with borrowing', () => {
    let s = load(nodes('a', 'b') + pool('t', '10.9.0.0/30', ', blockSize: 30'));
    for (let i = 0; i < 4; i++) s = allocate(s, { node: 'a' }).s;
    const err = (() => {
      try {
        planAllocate(s, { node: 'b' });
      } catch (e) {
        return e as IpamError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('NO_BLOCK');
    expect(err?.message).toContain('claimed and full');
  });

  it('per-host cap: maxBlocksPerHost blocks, then a block-limit error instead of borrowing', () => {
    let s = load(nodes('a') + pool('p', '10.10.0.0/24', ', blockSize: 30') + ipamConfig('maxBlocksPerHost: 2'));
    for (let i = 0; i < 8; i++) s = allocate(s, { node: 'a' }).s;
    expect(s.blockAffinities.length).toBe(2);
    expect(() => planAllocate(s, { node: 'a' })).toThrow(/per host block limit/);
  });

  it('two nodes never get the same block', () => {
    let s = load(nodes('a', 'b', 'c') + pool('p', '10.20.0.0/24'));
    const blocks = new Set<string>();
    for (const n of ['a', 'b', 'c']) {
      const r = allocate(s, { node: n });
      s = r.s;
      blocks.add(r.block);
    }
    expect(blocks.size).toBe(3);
  });

  it('release by IP and handle; an empty block without affinity disappears; empty affine blocks released keeping the last', () => {
    let s = load(nodes('a', 'b') + pool('p', '10.30.0.0/26'));
    const a1 = allocate(s, { node: 'a', handle: 'pod1' });
    s = a1.s;
    const b1 = allocate(s, { node: 'b', handle: 'pod2' });
    s = b1.s;
    let rel = planRelease(s, { handle: 'pod2' });
    expect(rel.released).toEqual([b1.ip]);
    s = applyIpamWrites(s, rel.writes);
    rel = planRelease(s, { ip: a1.ip });
    s = applyIpamWrites(s, rel.writes);
    expect(s.ipamBlocks[0]?.spec.allocations).toEqual([]);
    expect(() => planRelease(s, { ip: a1.ip })).toThrow(`${a1.ip} is not assigned`);
    expect(planReleaseEmptyBlocks(s, 'a').blocks).toEqual([]);
    const all = planReleaseEmptyBlocks(s, 'a', false);
    expect(all.blocks).toEqual(['10.30.0.0/26']);
    s = applyIpamWrites(s, all.writes);
    expect(s.ipamBlocks).toEqual([]);
    expect(s.blockAffinities).toEqual([]);
  });
});

describe('pool choice (ipv4pools annotation)', () => {
  const s = load(nodes('a', 'b') + pool('p1', '10.1.0.0/16') + pool('p2', '10.2.0.0/16', ", nodeSelector: \"rack == 'r1'\"") + pool('off', '10.3.0.0/16', ', disabled: true'));

  it('pod annotation replaces the namespace annotation', () => {
    expect(requestedPools(4, { 'cni.projectcalico.org/ipv4pools': '["p2"]' }, { 'cni.projectcalico.org/ipv4pools': '["p1"]' })).toEqual(['p2']);
    expect(requestedPools(4, {}, { 'cni.projectcalico.org/ipv4pools': '["10.1.0.0/16"]' })).toEqual(['10.1.0.0/16']);
    expect(requestedPools(4, {}, {})).toBeUndefined();
  });

  it('by name or CIDR; selectors ignored when explicit; errors for unknown and disabled', () => {
    expect(choosePools(s.ipPools, { family: 4, requested: ['p2', '10.1.0.0/16'], nodeLabels: { rack: 'r0' } }).map((p) => p.metadata.name)).toEqual(['p2', 'p1']);
    expect(() => choosePools(s.ipPools, { family: 4, requested: ['10.9.0.0/16'] })).toThrow('the given pool (10.9.0.0/16) does not exist, or is not enabled');
    expect(() => choosePools(s.ipPools, { family: 4, requested: ['off'] })).toThrow('the given pool (10.3.0.0/16) does not exist, or is not enabled');
    expect(() => choosePools(s.ipPools, { family: 4, requested: ['nope'] })).toThrow('error parsing pool "nope"');
  });

  it('without a request: enabled pools whose selector matches the node', () => {
    expect(choosePools(s.ipPools, { family: 4, nodeLabels: { rack: 'r0' } }).map((p) => p.metadata.name)).toEqual(['p1']);
    expect(choosePools(s.ipPools, { family: 4, nodeLabels: { rack: 'r1' } }).map((p) => p.metadata.name)).toEqual(['p1', 'p2']);
  });
});
