/**
 * IPAM decisions as pure functions: given the current state, what to write. The datastores run
 * them inside their own transactions (file: under the lock; etcd: compare-and-swap), so one
 * algorithm serves both stores and two claimers can never both win the same block.
 */
import { CALICO_DEFAULTS } from '../../daemon/model.js';
import { canonicalAddress, containsAddress, formatAddress, formatCidr, parseAddress, parseCidr, type Cidr } from '../cidr.js';
import { IpamError } from '../errors.js';
import { API_VERSION, blockAffinityName, type BlockAffinity, type ClusterSnapshot, type IPAMBlock, type IPPool } from '../resources.js';
import { blockAt, blockCapacity, blockCidrAt, blockIndexOf, blockOrdinalAddress, fnv32, ordinalOf, poolGeometry } from './blocks.js';
import { choosePools, familyOfPool } from './pools.js';

/** A change to IPAM state. A put of a resource read from the store carries its resourceVersion for CAS. */
export type IpamWrite =
  | { readonly op: 'put'; readonly resource: BlockAffinity | IPAMBlock }
  | { readonly op: 'delete'; readonly resource: BlockAffinity | IPAMBlock };

export interface IpamSettings {
  readonly strictAffinity: boolean;
  readonly maxBlocksPerHost: number;
  readonly autoAllocateBlocks: boolean;
}

export function ipamSettings(s: ClusterSnapshot): IpamSettings {
  const c = s.ipamConfig?.spec;
  return {
    strictAffinity: c?.strictAffinity ?? false,
    maxBlocksPerHost: c?.maxBlocksPerHost || CALICO_DEFAULTS.maxBlocksPerHost,
    autoAllocateBlocks: c?.autoAllocateBlocks ?? true,
  };
}

export function blockName(cidr: string): string {
  return cidr.replace(/[./:]/g, '-');
}

export function newBlock(cidr: string, node: string | undefined): IPAMBlock {
  return { apiVersion: API_VERSION, kind: 'IPAMBlock', metadata: { name: blockName(cidr) }, spec: { cidr, ...(node ? { affinity: `host:${node}` } : {}), allocations: [] } };
}

export function newAffinity(node: string, cidr: string, state: BlockAffinity['spec']['state']): BlockAffinity {
  return { apiVersion: API_VERSION, kind: 'BlockAffinity', metadata: { name: blockAffinityName(node, cidr) }, spec: { state, node, cidr } };
}

function withSpec<R extends BlockAffinity | IPAMBlock>(r: R, spec: Partial<R['spec']>): R {
  return { ...r, metadata: { ...r.metadata }, spec: { ...r.spec, ...spec } };
}

function lowestFreeOrdinal(b: IPAMBlock, capacity: number): number | undefined {
  const used = new Set(b.spec.allocations.map((a) => a.ordinal));
  for (let i = 0; i < capacity; i++) if (!used.has(i)) return i;
  return undefined;
}

export interface AllocateRequest {
  readonly node: string;
  readonly handle?: string;
  readonly family?: 4 | 6;
  /** Pool names or CIDRs (from --pool or the ipv4pools annotation); selectors are then ignored. */
  readonly pools?: readonly string[];
  readonly use?: 'Workload' | 'Tunnel' | 'LoadBalancer';
  /**
   * Borrow from other nodes' blocks when no block is free (only without strictAffinity).
   * Default: true, unless pools were requested explicitly; then a full pool is a clear error.
   */
  readonly borrow?: boolean;
}

export type AllocatePlan =
  | { readonly kind: 'assign'; readonly ip: string; readonly block: string; readonly borrowed: boolean; readonly writes: IpamWrite[] }
  /** Phase one of a claim: affinity pending and the block created; confirm with planConfirm. */
  | { readonly kind: 'claim'; readonly block: string; readonly writes: IpamWrite[] };

interface PoolBlocks {
  readonly pool: IPPool;
  readonly geometry: ReturnType<typeof poolGeometry>;
  /** Existing blocks of this pool by CIDR text. */
  readonly blocks: Map<string, IPAMBlock>;
}

function blocksByPool(s: ClusterSnapshot, pools: readonly IPPool[]): PoolBlocks[] {
  const out = pools.map((pool) => ({ pool, geometry: poolGeometry(pool.spec.cidr, pool.spec.blockSize ?? (familyOfPool(pool) === 4 ? CALICO_DEFAULTS.blockSizeV4 : CALICO_DEFAULTS.blockSizeV6)), blocks: new Map<string, IPAMBlock>() }));
  for (const b of s.ipamBlocks) {
    const c = parseCidr(b.spec.cidr);
    const pb = out.find((p) => containsAddress(p.geometry.cidr, c.family, c.addr));
    pb?.blocks.set(formatCidr(c), b);
  }
  return out;
}

export function planAllocate(s: ClusterSnapshot, req: AllocateRequest): AllocatePlan {
  const node = s.nodes.find((n) => n.metadata.name === req.node);
  const family = req.family ?? 4;
  const pools = choosePools(s.ipPools, { family, ...(req.pools ? { requested: req.pools } : {}), ...(node?.metadata.labels ? { nodeLabels: node.metadata.labels } : {}), ...(req.use ? { use: req.use } : {}) });
  if (pools.length === 0) throw new IpamError('BAD_POOL', `no enabled IPv${family} pool selects node "${req.node}"`);
  const settings = ipamSettings(s);
  const perPool = blocksByPool(s, pools);
  const host = `host:${req.node}`;
  const assign = (b: IPAMBlock, ordinal: number, borrowed: boolean): AllocatePlan => {
    const c = parseCidr(b.spec.cidr);
    const allocation = { ordinal, ...(req.handle !== undefined ? { handle: req.handle } : {}), node: req.node };
    const next = withSpec(b, { allocations: [...b.spec.allocations, allocation].sort((x, y) => x.ordinal - y.ordinal) });
    return { kind: 'assign', ip: formatAddress(c.family, blockOrdinalAddress(c, ordinal)), block: formatCidr(c), borrowed, writes: [{ op: 'put', resource: next }] };
  };

  // 1. Free space in this node's confirmed blocks, in affinity order.
  const mine = s.blockAffinities.filter((a) => a.spec.node === req.node);
  for (const a of mine) {
    if (a.spec.state !== 'confirmed') continue;
    for (const pb of perPool) {
      const b = pb.blocks.get(formatCidr(parseCidr(a.spec.cidr)));
      if (!b || b.spec.affinity !== host) continue;
      const ord = lowestFreeOrdinal(b, blockCapacity(parseCidr(b.spec.cidr)));
      if (ord !== undefined) return assign(b, ord, false);
    }
  }

  // 2. Claim a new block: host-seeded start, sequential walk with wrap-around.
  if (settings.autoAllocateBlocks) {
    const atLimit = mine.length >= settings.maxBlocksPerHost;
    for (const pb of perPool) {
      const g = pb.geometry;
      if (BigInt(pb.blocks.size) >= g.blockCount && ![...pb.blocks.values()].some((b) => b.spec.affinity === host)) continue;
      const start = BigInt(fnv32(req.node)) % g.blockCount;
      for (let i = 0n; i < g.blockCount; i++) {
        const cidr = blockCidrAt(g, (start + i) % g.blockCount);
        const existing = pb.blocks.get(cidr);
        if (existing === undefined) {
          if (atLimit) break;
          return { kind: 'claim', block: cidr, writes: [{ op: 'put', resource: newAffinity(req.node, cidr, 'pending') }, { op: 'put', resource: newBlock(cidr, req.node) }] };
        }
        // Our own block left half-claimed (pending affinity) with free space: finish the claim.
        if (existing.spec.affinity === host && lowestFreeOrdinal(existing, blockCapacity(parseCidr(cidr))) !== undefined) {
          const aff = mine.find((a) => formatCidr(parseCidr(a.spec.cidr)) === cidr);
          if (!aff || aff.spec.state === 'pending') return { kind: 'claim', block: cidr, writes: [] };
        }
      }
    }
    // Calico: at the cap no block is claimed and the request fails rather than borrowing.
    if (atLimit) {
      throw new IpamError('BLOCK_LIMIT', `cannot allocate new block due to per host block limit (node "${req.node}" already has ${mine.length} blocks, maxBlocksPerHost ${settings.maxBlocksPerHost})`);
    }
  }

  // 3. Borrow from other nodes' blocks.
  if (settings.strictAffinity) throw new IpamError('STRICT_AFFINITY', 'No more free affine blocks and strict affinity enabled');
  const borrow = req.borrow ?? !(req.pools && req.pools.length > 0);
  if (borrow) {
    for (const pb of perPool) {
      const existing = [...pb.blocks.values()].sort((x, y) => cmpBig(blockIndexOf(pb.geometry, parseCidr(x.spec.cidr).addr), blockIndexOf(pb.geometry, parseCidr(y.spec.cidr).addr)));
      if (existing.length === 0) continue;
      const start = fnv32(req.node) % existing.length;
      for (let i = 0; i < existing.length; i++) {
        const b = existing[(start + i) % existing.length] as IPAMBlock;
        const ord = lowestFreeOrdinal(b, blockCapacity(parseCidr(b.spec.cidr)));
        if (ord !== undefined) return assign(b, ord, b.spec.affinity !== host);
      }
    }
  }
  const total = perPool.reduce((n, pb) => n + pb.geometry.blockCount, 0n);
  throw new IpamError(
    'NO_BLOCK',
    `no block available for node "${req.node}" in IP pool ${pools.map((p) => p.spec.cidr).join(', ')}: all ${total} block(s) are ${borrow ? 'claimed and full' : 'claimed by other nodes (explicitly requested pools are not borrowed from)'}`,
  );
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Phase two of a claim: mark the node's affinity for `cidr` confirmed (creating it if missing). */
export function planConfirm(s: ClusterSnapshot, node: string, cidr: string): IpamWrite[] {
  const aff = s.blockAffinities.find((a) => a.spec.node === node && formatCidr(parseCidr(a.spec.cidr)) === cidr);
  const block = s.ipamBlocks.find((b) => formatCidr(parseCidr(b.spec.cidr)) === cidr);
  if (!block || block.spec.affinity !== `host:${node}`) throw new IpamError('CONFLICT', `block ${cidr} is no longer claimed by node "${node}"`);
  if (aff?.spec.state === 'confirmed') return [];
  return [{ op: 'put', resource: aff ? withSpec(aff, { state: 'confirmed' }) : newAffinity(node, cidr, 'confirmed') }];
}

function findBlockOf(s: ClusterSnapshot, ip: string): { block: IPAMBlock; cidr: Cidr; ordinal: number } | undefined {
  const a = parseAddress(ip);
  for (const b of s.ipamBlocks) {
    const c = parseCidr(b.spec.cidr);
    if (containsAddress(c, a.family, a.addr)) return { block: b, cidr: c, ordinal: ordinalOf(c, a.addr) };
  }
  return undefined;
}

/** Writes that leave `block` with `allocations`; an empty block with no affinity is deleted at once. */
function blockAfter(block: IPAMBlock, allocations: IPAMBlock['spec']['allocations']): IpamWrite {
  if (allocations.length === 0 && !block.spec.affinity) return { op: 'delete', resource: block };
  return { op: 'put', resource: withSpec(block, { allocations }) };
}

export interface ReleasePlan {
  readonly released: string[];
  readonly writes: IpamWrite[];
}

export function planRelease(s: ClusterSnapshot, what: { readonly ip?: string; readonly handle?: string }): ReleasePlan {
  if (what.ip !== undefined) {
    const ip = canonicalAddress(what.ip);
    const hit = findBlockOf(s, ip);
    const alloc = hit?.block.spec.allocations.find((a) => a.ordinal === hit.ordinal);
    if (!hit || !alloc) throw new IpamError('NOT_FOUND', `${ip} is not assigned`);
    return { released: [ip], writes: [blockAfter(hit.block, hit.block.spec.allocations.filter((a) => a !== alloc))] };
  }
  if (what.handle !== undefined) {
    const released: string[] = [];
    const writes: IpamWrite[] = [];
    for (const b of s.ipamBlocks) {
      const gone = b.spec.allocations.filter((a) => a.handle === what.handle);
      if (gone.length === 0) continue;
      const c = parseCidr(b.spec.cidr);
      released.push(...gone.map((a) => formatAddress(c.family, blockOrdinalAddress(c, a.ordinal))));
      writes.push(blockAfter(b, b.spec.allocations.filter((a) => a.handle !== what.handle)));
    }
    if (released.length === 0) throw new IpamError('NOT_FOUND', `handle "${what.handle}" holds no addresses`);
    return { released, writes };
  }
  throw new IpamError('NOT_FOUND', 'nothing to release: give an IP or a handle');
}

/**
 * Releases a node's empty affine blocks (affinity and block). With keepLast, the node keeps one
 * block, as Calico's IPAM garbage collector does.
 */
export function planReleaseEmptyBlocks(s: ClusterSnapshot, node: string, keepLast = true): { blocks: string[]; writes: IpamWrite[] } {
  const mine = s.blockAffinities.filter((a) => a.spec.node === node);
  const blocks: string[] = [];
  const writes: IpamWrite[] = [];
  let remaining = mine.length;
  for (const a of mine) {
    const cidr = formatCidr(parseCidr(a.spec.cidr));
    const b = s.ipamBlocks.find((x) => formatCidr(parseCidr(x.spec.cidr)) === cidr);
    if (b && b.spec.allocations.length > 0) continue;
    if (keepLast && remaining <= 1) break;
    remaining--;
    blocks.push(cidr);
    writes.push({ op: 'delete', resource: a });
    if (b) writes.push({ op: 'delete', resource: b });
  }
  return { blocks, writes };
}

/** A node left the cluster: drop its affinities; its empty blocks go, non-empty ones lose their affinity. */
export function planReleaseNode(s: ClusterSnapshot, node: string): IpamWrite[] {
  const writes: IpamWrite[] = [];
  for (const a of s.blockAffinities.filter((x) => x.spec.node === node)) writes.push({ op: 'delete', resource: a });
  for (const b of s.ipamBlocks.filter((x) => x.spec.affinity === `host:${node}`)) {
    if (b.spec.allocations.length === 0) writes.push({ op: 'delete', resource: b });
    else {
      const { affinity: _a, ...spec } = b.spec;
      writes.push({ op: 'put', resource: { ...b, spec } });
    }
  }
  return writes;
}

/** Applies writes to a snapshot (the file store's transaction body, and tests). */
export function applyIpamWrites(s: ClusterSnapshot, writes: readonly IpamWrite[]): ClusterSnapshot {
  let affinities = [...s.blockAffinities];
  let blocks = [...s.ipamBlocks];
  for (const w of writes) {
    if (w.resource.kind === 'BlockAffinity') {
      affinities = affinities.filter((a) => a.metadata.name !== w.resource.metadata.name);
      if (w.op === 'put') affinities.push(w.resource);
    } else {
      blocks = blocks.filter((b) => b.metadata.name !== w.resource.metadata.name);
      if (w.op === 'put') blocks.push(w.resource);
    }
  }
  const byName = <T extends { metadata: { name: string } }>(a: T, b: T) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
  return { ...s, blockAffinities: affinities.sort(byName), ipamBlocks: blocks.sort(byName) };
}

export { blockAt };
