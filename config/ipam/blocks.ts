/**
 * A pool cut into blocks, computed on demand: block i of a pool is pool.addr + i * blockSpan.
 * Nothing enumerates all blocks, so a /8 of /26s (262,144 blocks) costs no more than a /24.
 */
import { formatCidr, hostMask, parseCidr, type Cidr } from '../cidr.js';

export interface PoolGeometry {
  readonly cidr: Cidr;
  readonly blockSize: number;
  /** Number of blocks: 2^(blockSize − pool prefix). */
  readonly blockCount: bigint;
  /** Addresses per block. */
  readonly blockAddresses: bigint;
}

export function poolGeometry(cidr: string, blockSize: number): PoolGeometry {
  const c = parseCidr(cidr);
  const bits = c.family === 4 ? 32 : 128;
  return { cidr: c, blockSize, blockCount: 1n << BigInt(Math.max(0, blockSize - c.len)), blockAddresses: 1n << BigInt(bits - blockSize) };
}

export function blockAt(g: PoolGeometry, index: bigint): Cidr {
  return { family: g.cidr.family, addr: g.cidr.addr + index * g.blockAddresses, len: g.blockSize };
}

export function blockCidrAt(g: PoolGeometry, index: bigint): string {
  return formatCidr(blockAt(g, index));
}

/** Index of the block holding `addr` (caller ensures addr is inside the pool). */
export function blockIndexOf(g: PoolGeometry, addr: bigint): bigint {
  return (addr - g.cidr.addr) / g.blockAddresses;
}

export function blockCapacity(block: Cidr): number {
  return Number(hostMask(block.family, block.len) + 1n);
}

export function blockOrdinalAddress(block: Cidr, ordinal: number): bigint {
  return block.addr + BigInt(ordinal);
}

export function ordinalOf(block: Cidr, addr: bigint): number {
  return Number(addr - block.addr);
}

/** FNV-1 32-bit hash (Go's hash/fnv New32), which Calico uses to seed a host's block choice. */
export function fnv32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ byte) >>> 0;
  }
  return h >>> 0;
}
