/**
 * petrelctl ipam allocate|release|show: IPAM against the datastore, for labs and CNI-like use.
 * `show` prints calicoctl's table (calico-behaviour.md §7): %.5g numbers, half-even percentages.
 */
import type { Command } from 'commander';
import {
  cidrToKey, blockCapacity, blockOrdinalAddress, formatAddress, ipamSettings, openDatastore, overlaps, parseCidr, resolveDatastoreUrl, type ClusterSnapshot, type Datastore,
} from '../../config/index.js';
import { renderBoxTable } from './table.js';

/** Go's %.<p>g: shortest of %e/%f by the exponent rule, trailing zeros removed, two-digit exponent. */
export function formatG(x: number, precision = 5): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  const [mant, expText] = x.toExponential(precision - 1).split('e') as [string, string];
  const exp = Number(expText);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= precision) return `${strip(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(x.toFixed(Math.max(0, precision - 1 - exp)));
}

/** Go's %.f: round to an integer, ties to even (12.5 → 12, 87.5 → 88). */
export function formatPercent(x: number): string {
  const floor = Math.floor(x);
  const diff = x - floor;
  const r = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  return String(r);
}

const usage = (inUse: number, total: number) => `${formatG(inUse)} (${formatPercent(total === 0 ? 0 : (inUse / total) * 100)}%)`;

/** The rows of `ipam show [--show-blocks]`. */
export function ipamShowRows(s: ClusterSnapshot, showBlocks: boolean): string[][] {
  const pools = s.ipPools.map((p) => ({ pool: p, cidr: parseCidr(p.spec.cidr) }));
  const groups = new Map<number, { cidr: string; cap: number; used: number }[]>();
  // Blocks in datastore key order (lexicographic), each under the first pool it overlaps; -1 = orphaned.
  const blocks = [...s.ipamBlocks].sort((a, b) => (cidrToKey(a.spec.cidr) < cidrToKey(b.spec.cidr) ? -1 : 1));
  for (const b of blocks) {
    const c = parseCidr(b.spec.cidr);
    const idx = pools.findIndex((p) => overlaps(p.cidr, c));
    const list = groups.get(idx) ?? [];
    list.push({ cidr: b.spec.cidr, cap: blockCapacity(c), used: b.spec.allocations.length });
    groups.set(idx, list);
  }
  const rows: string[][] = [];
  const blockRows = (idx: number) => {
    if (!showBlocks) return;
    for (const b of groups.get(idx) ?? []) rows.push(['Block', b.cidr, formatG(b.cap), usage(b.used, b.cap), usage(b.cap - b.used, b.cap)]);
  };
  pools.forEach((p, idx) => {
    const total = 2 ** ((p.cidr.family === 4 ? 32 : 128) - p.cidr.len);
    const used = (groups.get(idx) ?? []).reduce((n, b) => n + b.used, 0);
    rows.push(['IP Pool', p.pool.spec.cidr, formatG(total), usage(used, total), usage(total - used, total)]);
    blockRows(idx);
  });
  blockRows(-1);
  return rows;
}

export function renderIpamShow(s: ClusterSnapshot, showBlocks: boolean): string {
  return renderBoxTable(['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'], ipamShowRows(s, showBlocks));
}

/** `ipam show --show-borrowed`: addresses held by a node in a block affine to another node (or to none). */
export function renderIpamBorrowed(s: ClusterSnapshot): string {
  const rows: string[][] = [];
  const blocks = [...s.ipamBlocks].sort((a, b) => (cidrToKey(a.spec.cidr) < cidrToKey(b.spec.cidr) ? -1 : 1));
  for (const b of blocks) {
    const owner = b.spec.affinity?.startsWith('host:') ? b.spec.affinity.slice(5) : '';
    const c = parseCidr(b.spec.cidr);
    for (const a of b.spec.allocations) {
      if (a.node === owner) continue;
      rows.push([formatAddress(c.family, blockOrdinalAddress(c, a.ordinal)), a.node, b.spec.cidr, owner || '-', a.handle ? 'handle' : '-', a.handle ?? '-']);
    }
  }
  return renderBoxTable(['IP', 'BORROWING-NODE', 'BLOCK', 'BLOCK OWNER', 'TYPE', 'ALLOCATED-TO'], rows);
}

export function renderIpamConfiguration(s: ClusterSnapshot): string {
  const c = ipamSettings(s);
  return renderBoxTable(['PROPERTY', 'VALUE'], [
    ['StrictAffinity', String(c.strictAffinity)],
    ['AutoAllocateBlocks', String(c.autoAllocateBlocks)],
    ['MaxBlocksPerHost', String(s.ipamConfig?.spec.maxBlocksPerHost ?? 0)],
  ]);
}

async function withStore<T>(cmd: Command, fn: (ds: Datastore) => Promise<T>): Promise<T> {
  const opts = cmd.optsWithGlobals<{ datastore?: string }>();
  const ds = openDatastore(resolveDatastoreUrl(opts.datastore));
  try {
    return await fn(ds);
  } finally {
    await ds.close();
  }
}

export function register(program: Command): void {
  const ipam = program.command('ipam').description('IP address management in the datastore (Calico IPAM semantics)');

  ipam
    .command('allocate')
    .description('allocate one address for a node from its blocks (claiming a block if needed)')
    .requiredOption('--node <name>', 'node the address is for')
    .option('--pool <pool...>', 'pool names or CIDRs to use (as the cni.projectcalico.org/ipv4pools annotation)')
    .option('--handle <id>', 'handle to release the address by later')
    .option('--ipv6', 'allocate an IPv6 address')
    .option('--no-borrow', 'never take an address from another node\'s block')
    .option('-o, --output <format>', 'ip (default) or json', 'ip')
    .action(async (o: { node: string; pool?: string[]; handle?: string; ipv6?: boolean; borrow: boolean; output: string }, cmd: Command) => {
      const r = await withStore(cmd, (ds) =>
        ds.allocate({ node: o.node, family: o.ipv6 ? 6 : 4, ...(o.pool ? { pools: o.pool } : {}), ...(o.handle !== undefined ? { handle: o.handle } : {}), ...(o.borrow ? {} : { borrow: false }) }),
      );
      process.stdout.write(o.output === 'json' ? `${JSON.stringify(r, null, 2)}\n` : `${r.ip}\n`);
    });

  ipam
    .command('release')
    .description('release an address, or every address of a handle')
    .option('--ip <ip>', 'address to release')
    .option('--handle <id>', 'release every address allocated with this handle')
    .action(async (o: { ip?: string; handle?: string }, cmd: Command) => {
      if ((o.ip === undefined) === (o.handle === undefined)) throw new Error('give exactly one of --ip or --handle');
      const released = await withStore(cmd, (ds) => ds.release(o.ip !== undefined ? { ip: o.ip } : { handle: o.handle as string }));
      for (const ip of released) process.stdout.write(`Successfully released IP ${ip}\n`);
    });

  ipam
    .command('show')
    .description("show IP pool (and block) usage as calicoctl's table")
    .option('--show-blocks', 'also list every block under its pool')
    .option('--show-borrowed', 'list addresses borrowed from other nodes\' blocks instead')
    .option('--show-configuration', 'show the IPAM configuration instead')
    .action(async (o: { showBlocks?: boolean; showBorrowed?: boolean; showConfiguration?: boolean }, cmd: Command) => {
      const s = await withStore(cmd, (ds) => ds.snapshot());
      process.stdout.write(o.showConfiguration ? renderIpamConfiguration(s) : o.showBorrowed ? renderIpamBorrowed(s) : renderIpamShow(s, o.showBlocks === true));
    });
}
