/**
 * The lab's declarative topology: which hosts exist, what they run, how they are wired, and which
 * Calico resources the petrel hosts share. parseTopology turns YAML into a validated, normalised
 * Topology (every default applied) so the rest of the lab never second-guesses its input.
 */
import { parse as parseYaml } from 'yaml';
import { formatIpv4, maskOf, parsePrefix4, prefix4Within, PrefixParseError } from '../../proto/prefix.js';
import { CALICO_DEFAULTS, type EncapMode } from '../../daemon/model.js';
import { hostPart, parseCidrAny, withinCidr, type Family } from './addr.js';

/** What runs on a host. `host` runs nothing; the routers are Debian's packages. */
export const ROLES = ['petrel', 'bird', 'gobgp', 'frr', 'host'] as const;
export type Role = (typeof ROLES)[number];

/** A shared L2 segment: one bridge in the lab's hub namespace. */
export interface Network {
  readonly name: string;
  /** IPv4 subnet, e.g. 10.0.0.0/24. */
  readonly cidr: string;
  /** IPv6 subnet of a dual-stack segment, e.g. fd00:0:0:2::/64. */
  readonly cidr6?: string;
}

export interface HostInterface {
  /** Interface name inside the host's namespace (eth0, eth1, ...). */
  readonly name: string;
  readonly network: string;
  /** Address with prefix length, e.g. 10.0.0.1/24. */
  readonly address: string;
  /** IPv6 address with prefix length on a dual-stack segment, e.g. fd00:0:0:2::1/64. */
  readonly address6?: string;
}

export interface Host {
  readonly name: string;
  readonly role: Role;
  readonly interfaces: readonly HostInterface[];
  /** The host's main address (first interface) without prefix: router id, BGP transport, node IP. */
  readonly ip: string;
  /** The first interface's IPv6 address without prefix, on dual-stack hosts: IPv6 transport and node IPv6 address. */
  readonly ip6?: string;
  /** AS of this host (routers: their own; petrel: the node's AS override, else the cluster's). */
  readonly asNumber: number;
  /** Routers: host names they open sessions with (default: every petrel host). */
  readonly peers: readonly string[];
  /** Routers: prefixes they originate (as blackholes) and announce to their peers. */
  readonly originate: readonly string[];
  /** Routers: make the petrel nodes peer with this host through a global BGPPeer. */
  readonly globalPeer: boolean;
  /** Petrel hosts: workload addresses to allocate from IPAM at `lab up`, per pool name (or '' for any). */
  readonly workloads: readonly { readonly pool: string; readonly count: number }[];
}

export interface Pool {
  readonly name: string;
  readonly cidr: string;
  /** From the CIDR: an IPv6 pool's blocks default to /122, an IPv4 pool's to /26. */
  readonly family: Family;
  readonly blockSize: number;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
  readonly natOutgoing: boolean;
  readonly disabled: boolean;
  readonly disableBGPExport: boolean;
}

export interface Topology {
  /** Default lab name (namespaces are `<name>-<host>`), overridable on the command line. */
  readonly name: string;
  readonly asNumber: number;
  readonly nodeToNodeMesh: boolean;
  readonly networks: readonly Network[];
  readonly hosts: readonly Host[];
  readonly pools: readonly Pool[];
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
  constructor(readonly where: string, message: string) {
    super(`topology: ${where}: ${message}`);
  }
}

export const DEFAULT_LAB_NAME = 'petrel';

const NAME_RE = /^[a-z][a-z0-9-]{0,14}$/;

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Raw, key: string, where: string, fallback?: string): string {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || v.length === 0) throw new TopologyError(where, `'${key}' must be a non-empty string`);
  return v;
}

function num(obj: Raw, key: string, where: string, fallback: number, min = 0, max = 4294967295): number {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TopologyError(where, `'${key}' must be an integer in ${min}..${max}`);
  }
  return v;
}

function bool(obj: Raw, key: string, where: string, fallback: boolean): boolean {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TopologyError(where, `'${key}' must be true or false`);
  return v;
}

function list(obj: Raw, key: string, where: string): unknown[] {
  const v = obj[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new TopologyError(where, `'${key}' must be a list`);
  return v;
}

function checkKeys(obj: Raw, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new TopologyError(where, `unknown field '${k}' (known: ${allowed.join(', ')})`);
  }
}

function cidrOf(text: string, where: string, strict: boolean): { addr: number; len: number } {
  try {
    return parsePrefix4(text, strict);
  } catch (e) {
    throw new TopologyError(where, e instanceof PrefixParseError ? e.message : `bad prefix '${text}'`);
  }
}

/** A prefix of either family (pools, originated prefixes). */
function anyCidrOf(text: string, where: string, strict: boolean): { family: Family; len: number } {
  try {
    return parseCidrAny(text, strict);
  } catch (e) {
    throw new TopologyError(where, e instanceof PrefixParseError ? e.message : `bad prefix '${text}'`);
  }
}

/** An IPv6 prefix; `want6` names the field in the error. */
function cidr6Of(text: string, where: string, strict: boolean, field: string): number {
  const c = anyCidrOf(text, where, strict);
  if (c.family !== 6) throw new TopologyError(where, `'${field}' must be an IPv6 prefix, not '${text}'`);
  return c.len;
}

function encap(v: unknown, where: string): EncapMode {
  if (v === undefined) return 'Never';
  if (v === 'Always' || v === 'CrossSubnet' || v === 'Never') return v;
  throw new TopologyError(where, `encapsulation mode must be Always, CrossSubnet or Never, not '${String(v)}'`);
}

function parsePool(raw: unknown, i: number): Pool {
  const where = `pools[${i}]`;
  if (!isRecord(raw)) throw new TopologyError(where, 'must be a mapping');
  checkKeys(raw, ['name', 'cidr', 'blockSize', 'ipipMode', 'vxlanMode', 'natOutgoing', 'disabled', 'disableBGPExport'], where);
  const cidr = str(raw, 'cidr', where);
  // Pools are validated by config/ (Calico's rules and messages); here only the shape matters,
  // so a scenario can deliberately declare a pool that the datastore will refuse.
  const { family } = anyCidrOf(cidr, where, false);
  return {
    name: str(raw, 'name', where),
    cidr,
    family,
    blockSize: family === 4 ? num(raw, 'blockSize', where, CALICO_DEFAULTS.blockSizeV4, 0, 32) : num(raw, 'blockSize', where, CALICO_DEFAULTS.blockSizeV6, 0, 128),
    ipipMode: encap(raw.ipipMode, where),
    vxlanMode: encap(raw.vxlanMode, where),
    natOutgoing: bool(raw, 'natOutgoing', where, false),
    disabled: bool(raw, 'disabled', where, false),
    disableBGPExport: bool(raw, 'disableBGPExport', where, false),
  };
}

function parseInterfaces(raw: Raw, where: string, networks: readonly Network[]): HostInterface[] {
  const out: HostInterface[] = [];
  if (raw.address !== undefined) {
    const first = networks[0];
    if (!first) throw new TopologyError(where, "'address' needs at least one network");
    out.push({ name: 'eth0', network: first.name, address: str(raw, 'address', where), ...(raw.address6 !== undefined ? { address6: str(raw, 'address6', where) } : {}) });
  } else if (raw.address6 !== undefined) {
    throw new TopologyError(where, "'address6' goes with 'address' (or on an entry of 'interfaces')");
  }
  list(raw, 'interfaces', where).forEach((r, j) => {
    const w = `${where}.interfaces[${j}]`;
    if (!isRecord(r)) throw new TopologyError(w, 'must be a mapping');
    checkKeys(r, ['name', 'network', 'address', 'address6'], w);
    out.push({
      name: str(r, 'name', w, `eth${out.length}`), network: str(r, 'network', w), address: str(r, 'address', w),
      ...(r.address6 !== undefined ? { address6: str(r, 'address6', w) } : {}),
    });
  });
  if (out.length === 0) throw new TopologyError(where, "needs 'address' or 'interfaces'");
  for (const itf of out) {
    const net = networks.find((n) => n.name === itf.network);
    if (!net) throw new TopologyError(where, `network '${itf.network}' is not declared`);
    const a = cidrOf(itf.address, where, false);
    const n = cidrOf(net.cidr, where, true);
    cidrOf(`${itf.address.split('/')[0]}/32`, where, true); // a well-formed host address
    if (!prefix4Within(a.addr, 32, n.addr, n.len) || a.len !== n.len) {
      throw new TopologyError(where, `address ${itf.address} is not in network ${net.name} (${net.cidr})`);
    }
    if (itf.address6 !== undefined) {
      if (!net.cidr6) throw new TopologyError(where, `address6 ${itf.address6}: network ${net.name} has no IPv6 prefix ('cidr6', or 'network6' for the default network)`);
      const len = cidr6Of(itf.address6, where, false, 'address6');
      if (!itf.address6.includes('/') || !withinCidr(hostPart(itf.address6), net.cidr6) || len !== parseCidrAny(net.cidr6).len) {
        throw new TopologyError(where, `address6 ${itf.address6} is not in network ${net.name} (${net.cidr6})`);
      }
    }
  }
  if (new Set(out.map((i) => i.name)).size !== out.length) throw new TopologyError(where, 'interface names repeat');
  return out;
}

/** Parses and validates a topology document; every default is applied. */
export function parseTopology(text: string): Topology {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new TopologyError('yaml', (e as Error).message);
  }
  if (!isRecord(doc)) throw new TopologyError('document', 'must be a mapping');
  checkKeys(doc, ['name', 'asNumber', 'nodeToNodeMesh', 'network', 'network6', 'networks', 'hosts', 'pools'], 'document');
  const name = str(doc, 'name', 'document', DEFAULT_LAB_NAME);
  if (!NAME_RE.test(name)) throw new TopologyError('name', `'${name}' must match ${NAME_RE.source}`);
  const asNumber = num(doc, 'asNumber', 'document', CALICO_DEFAULTS.asNumber, 1);

  const networks: Network[] = [];
  const network6 = doc.network6 === undefined ? {} : { cidr6: str(doc, 'network6', 'document') };
  if (doc.network !== undefined) networks.push({ name: 'lan', cidr: str(doc, 'network', 'document'), ...network6 });
  list(doc, 'networks', 'document').forEach((r, i) => {
    const w = `networks[${i}]`;
    if (!isRecord(r)) throw new TopologyError(w, 'must be a mapping');
    checkKeys(r, ['name', 'cidr', 'cidr6'], w);
    networks.push({ name: str(r, 'name', w), cidr: str(r, 'cidr', w), ...(r.cidr6 !== undefined ? { cidr6: str(r, 'cidr6', w) } : {}) });
  });
  if (networks.length === 0) networks.push({ name: 'lan', cidr: '10.0.0.0/24', ...network6 });
  else if (doc.network === undefined && doc.network6 !== undefined) throw new TopologyError('document', "'network6' goes with 'network' (use 'cidr6' in 'networks')");
  networks.forEach((n, i) => {
    cidrOf(n.cidr, `networks[${i}]`, true);
    if (n.cidr6 !== undefined) cidr6Of(n.cidr6, `networks[${i}]`, true, 'cidr6');
    if (!/^[a-z][a-z0-9]{0,7}$/.test(n.name)) throw new TopologyError(`networks[${i}]`, `name '${n.name}' must be 1-8 lower-case letters or digits`);
  });

  const pools = list(doc, 'pools', 'document').map(parsePool);
  const rawHosts = list(doc, 'hosts', 'document');
  if (rawHosts.length === 0) throw new TopologyError('hosts', 'at least one host is needed');

  const partial = rawHosts.map((r, i) => {
    const where = `hosts[${i}]`;
    if (!isRecord(r)) throw new TopologyError(where, 'must be a mapping');
    checkKeys(r, ['name', 'role', 'address', 'address6', 'interfaces', 'asNumber', 'peers', 'originate', 'globalPeer', 'workloads'], where);
    const hostName = str(r, 'name', where);
    if (!NAME_RE.test(hostName) || hostName === 'hub') throw new TopologyError(where, `name '${hostName}' must match ${NAME_RE.source} and not be 'hub'`);
    const role = str(r, 'role', where, 'host');
    if (!(ROLES as readonly string[]).includes(role)) throw new TopologyError(where, `role '${role}' is not one of ${ROLES.join(', ')}`);
    const interfaces = parseInterfaces(r, where, networks);
    const originate = list(r, 'originate', where).map((p, j) => {
      if (typeof p !== 'string') throw new TopologyError(`${where}.originate[${j}]`, 'must be a prefix');
      anyCidrOf(p, `${where}.originate[${j}]`, true);
      return p;
    });
    const peers = r.peers === undefined ? undefined : list(r, 'peers', where).map(String);
    const workloads = parseWorkloads(r.workloads, `${where}.workloads`);
    return {
      name: hostName,
      role: role as Role,
      interfaces,
      ip: interfaces[0]!.address.split('/')[0]!,
      ...(interfaces[0]!.address6 !== undefined ? { ip6: hostPart(interfaces[0]!.address6) } : {}),
      asNumber: num(r, 'asNumber', where, asNumber, 1),
      peers,
      originate,
      globalPeer: bool(r, 'globalPeer', where, role !== 'petrel' && role !== 'host'),
      workloads,
    };
  });

  const names = partial.map((h) => h.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new TopologyError('hosts', `host name '${dup}' repeats`);
  const ips = partial.flatMap((h) => h.interfaces.flatMap((i) => [i.address, ...(i.address6 !== undefined ? [i.address6] : [])].map(hostPart)));
  const dupIp = ips.find((a, i) => ips.indexOf(a) !== i);
  if (dupIp) throw new TopologyError('hosts', `address ${dupIp} is used twice`);
  const petrels = partial.filter((h) => h.role === 'petrel').map((h) => h.name);

  const hosts: Host[] = partial.map((h) => {
    const peers = h.role === 'petrel' || h.role === 'host' ? [] : (h.peers ?? petrels);
    for (const p of peers) {
      if (!names.includes(p) || p === h.name) throw new TopologyError(`hosts.${h.name}.peers`, `'${p}' is not another host of the lab`);
    }
    if (h.workloads.length > 0 && h.role !== 'petrel') throw new TopologyError(`hosts.${h.name}`, 'only petrel hosts get workloads');
    for (const w of h.workloads) {
      if (w.pool !== '' && !pools.some((p) => p.name === w.pool)) throw new TopologyError(`hosts.${h.name}.workloads`, `pool '${w.pool}' is not declared`);
    }
    return { ...h, peers };
  });

  return { name, asNumber, nodeToNodeMesh: bool(doc, 'nodeToNodeMesh', 'document', true), networks, hosts, pools };
}

/** `workloads: 2` (any pool) or `workloads: {pool-a: 2, pool-b: 1}`. */
function parseWorkloads(v: unknown, where: string): Array<{ pool: string; count: number }> {
  if (v === undefined) return [];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 64) return v === 0 ? [] : [{ pool: '', count: v }];
  if (isRecord(v)) {
    return Object.entries(v).map(([pool, count]) => {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 64) throw new TopologyError(where, `count for '${pool}' must be 0..64`);
      return { pool, count };
    });
  }
  throw new TopologyError(where, 'must be a count or a mapping of pool name to count');
}

/** Namespace of a lab host. */
export const hostNamespace = (lab: string, host: string): string => `${lab}-${host}`;
/** Namespace holding the lab's bridges (and etcd, when the lab runs one). */
export const hubNamespace = (lab: string): string => `${lab}-hub`;

/** The address the hub's bridge for `network` takes: the last usable one of the subnet. */
export function hubAddress(net: Network): string {
  const { addr, len } = parsePrefix4(net.cidr);
  const last = (addr | (~maskOf(len) >>> 0)) >>> 0;
  return `${formatIpv4(last - 1)}/${len}`;
}

/** True when any host has an IPv6 address: the lab then runs IPv6 sessions, sysctls and routes too. */
export function hasIpv6(topo: Pick<Topology, 'hosts'>): boolean {
  return topo.hosts.some((h) => h.ip6 !== undefined);
}

/** Host lookup that throws a clear error. */
export function hostByName(topo: Topology, name: string): Host {
  const h = topo.hosts.find((x) => x.name === name);
  if (!h) throw new TopologyError('hosts', `no host named '${name}' (hosts: ${topo.hosts.map((x) => x.name).join(', ')})`);
  return h;
}

