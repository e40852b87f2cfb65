/** Property tests: random allocate/release sequences by several nodes keep IPAM's invariants. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyIpamWrites, IpamError, parseCidr, parseResources, planAllocate, planConfirm, planRelease, snapshotOf, blockOrdinalAddress, formatAddress,
  type ClusterSnapshot,
} from '../../config/index.js';

const NODES = ['n0', 'n1', 'n2', 'n3'];

function cluster(strict: boolean, blockSize: number): ClusterSnapshot {
  const text =
    NODES.map((n, i) => `---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: ${n}}\nspec: {bgp: {ipv4Address: 10.0.0.${i + 1}/24}}\n`).join('') +
    `---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.1.0.0/27, blockSize: ${blockSize}}\n` +
    `---\napiVersion: projectcalico.org/v3\nkind: IPAMConfiguration\nmetadata: {name: default}\nspec: {strictAffinity: ${strict}, maxBlocksPerHost: 3}\n`;
  const r = parseResources(text, 'prop.yaml');
  expect(r.errors).toEqual([]);
  return snapshotOf(r.resources);
}

type Op = { kind: 'alloc'; node: number } | { kind: 'release'; pick: number };

function invariants(s: ClusterSnapshot, strict: boolean): void {
  // A block has at most one affinity, and an affine block names the same node.
  const byBlock = new Map<string, string>();
  for (const a of s.blockAffinities) {
    expect(byBlock.has(a.spec.cidr)).toBe(false);
    byBlock.set(a.spec.cidr, a.spec.node);
  }
  const ips = new Set<string>();
  for (const b of s.ipamBlocks) {
    const owner = byBlock.get(b.spec.cidr);
    if (b.spec.affinity) expect(b.spec.affinity).toBe(`host:${owner}`);
    const c = parseCidr(b.spec.cidr);
    for (const a of b.spec.allocations) {
      const ip = formatAddress(c.family, blockOrdinalAddress(c, a.ordinal));
      expect(ips.has(ip)).toBe(false);
      ips.add(ip);
      if (strict) expect(b.spec.affinity).toBe(`host:${a.node}`);
    }
    expect(b.spec.allocations.length).toBeGreaterThan(b.spec.affinity ? -1 : 0); // no empty orphan blocks
  }
  for (const n of NODES) expect(s.blockAffinities.filter((a) => a.spec.node === n).length).toBeLessThanOrEqual(3);
}

describe('IPAM invariants under random operation sequences', () => {
  for (const strict of [false, true]) {
    it(`strictAffinity=${strict}: no shared block, no duplicate address, cap respected, full pool gives a typed error`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.oneof(fc.record({ kind: fc.constant('alloc' as const), node: fc.nat(NODES.length - 1) }), fc.record({ kind: fc.constant('release' as const), pick: fc.nat(100) })), { maxLength: 60 }),
          fc.constantFrom(28, 29, 30),
          (ops: Op[], blockSize: number) => {
            let s = cluster(strict, blockSize);
            const held: string[] = [];
            for (const op of ops) {
              if (op.kind === 'alloc') {
                const node = NODES[op.node]!;
                try {
                  for (let round = 0; round < 5; round++) {
                    const plan = planAllocate(s, { node });
                    s = applyIpamWrites(s, plan.writes);
                    if (plan.kind === 'assign') {
                      held.push(plan.ip);
                      break;
                    }
                    s = applyIpamWrites(s, planConfirm(s, node, plan.block));
                  }
                } catch (e) {
                  expect(e).toBeInstanceOf(IpamError);
                  expect(['NO_BLOCK', 'STRICT_AFFINITY', 'BLOCK_LIMIT']).toContain((e as IpamError).code);
                }
              } else if (held.length > 0) {
                const [ip] = held.splice(op.pick % held.length, 1);
                s = applyIpamWrites(s, planRelease(s, { ip: ip! }).writes);
              }
              invariants(s, strict);
            }
            expect(s.ipamBlocks.reduce((n, b) => n + b.spec.allocations.length, 0)).toBe(held.length);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});
