/**
 * The namespace lab: a Topology becomes namespaces, bridges, veth pairs, routers, petrel daemons
 * and workload addresses; `labDown` removes exactly that, from the state file `labUp` keeps.
 * Every step checks before it acts, so `labUp` is idempotent and also repairs a half-built lab.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addBridge, addNamespace, addVethPair, deleteNamespace, listNamespaces, nsExec, run, waitFor, NetnsError,
} from './netns.js';
import { hasIpv6, hostByName, hostNamespace, hubAddress, hubNamespace, type Host, type Topology } from './topology.js';
import { labDir, readState, removeLabDir, writeState, type LabState, type WorkloadRecord } from './state.js';
import { isAlive, spawnDetached, stopProcess, type ProcessRecord } from './processes.js';
import { renderBirdConfig, renderGobgpConfig } from './router-config.js';
import { labResources, renderResources } from './calico-resources.js';
import { daemonJs, gobgpPumpJs, petrelctlJs } from './paths.js';
import { openDatastore } from '../../config/index.js';

export class LabError extends Error {
  override readonly name = 'LabError';
}

export interface UpOptions {
  /** Lab name (namespaces `<name>-<host>`); default: the topology's name. */
  readonly name?: string;
  readonly datastore?: 'file' | 'etcd';
  /** Progress lines for the CLI; silent by default. */
  readonly log?: (line: string) => void;
  /** How long to wait for each router or daemon to answer on its control socket. */
  readonly readyTimeoutMs?: number;
}

const bridgeName = (network: string): string => `br-${network}`;
export const ctlSocketPath = (state: Pick<LabState, 'dir'>, host: string): string => join(state.dir, `${host}.ctl`);
/**
 * A dual-stack petrel host's IPv6 control socket (bird6.ctl's role). Each host its own: the
 * daemon's default, bird6.ctl beside the IPv4 socket, would be one file for the whole lab.
 */
export const ctlSocket6Path = (state: Pick<LabState, 'dir'>, host: string): string => join(state.dir, `${host}.ctl6`);
export const logPath = (state: Pick<LabState, 'dir'>, file: string): string => join(state.dir, 'logs', file);
const hostBinDir = (state: Pick<LabState, 'dir'>, host: string): string => join(state.dir, 'bin', host);

export function topologyHash(topo: Topology): string {
  return createHash('sha256').update(JSON.stringify(topo)).digest('hex').slice(0, 16);
}

/** Builds (or completes) the lab and returns its state. */
export async function labUp(topoIn: Topology, opts: UpOptions = {}): Promise<LabState> {
  const name = opts.name ?? topoIn.name;
  const topo: Topology = { ...topoIn, name };
  const log = opts.log ?? (() => undefined);
  const hash = topologyHash(topo);
  const datastoreKind = opts.datastore ?? 'file';
  const frr = topo.hosts.find((h) => h.role === 'frr');
  if (frr) throw new LabError(`host ${frr.name}: role 'frr' is not supported by this lab yet (FRR is not packaged on this machine)`);
  let state = await readState(name);
  if (state && (state.topologyHash !== hash || state.datastoreKind !== datastoreKind)) {
    throw new LabError(`lab '${name}' is already up with another topology or datastore; run 'petrelctl lab down --name ${name}' first`);
  }
  if (!state) {
    const dir = labDir(name);
    state = {
      version: 1, name, dir, topologyHash: hash, topology: topo, datastoreKind,
      datastore: datastoreKind === 'file' ? `file:${join(dir, 'datastore.yaml')}` : '',
      namespaces: [], processes: [], workloads: [],
    };
  }
  const st = state;
  await mkdir(join(st.dir, 'logs'), { recursive: true });
  await writeState(st);

  const ensureNs = async (ns: string): Promise<void> => {
    if (!st.namespaces.includes(ns)) {
      st.namespaces.push(ns); // write-ahead: recorded before it exists, so a crash cannot orphan it
      await writeState(st);
    }
    await addNamespace(ns);
  };

  // The shared segments: one bridge per network inside the hub namespace.
  const hub = hubNamespace(name);
  await ensureNs(hub);
  for (const net of topo.networks) await addBridge(hub, bridgeName(net.name));
  log(`namespaces: hub ${hub}, bridges ${topo.networks.map((n) => `${bridgeName(n.name)} (${n.cidr})`).join(', ')}`);

  for (const [idx, host] of topo.hosts.entries()) {
    const ns = hostNamespace(name, host.name);
    await ensureNs(ns);
    await setSysctls(ns, host, hasIpv6(topo));
    for (const itf of host.interfaces) {
      if (await linkExists(ns, itf.name)) continue;
      const port = `h${idx}-${itf.name}`.slice(0, 15);
      await addVethPair([hub, port], [ns, itf.name, itf.address]);
      // nodad: usable at once (duplicate address detection would hold it back about a second).
      if (itf.address6 !== undefined) await nsExec(ns, 'ip', ['addr', 'add', itf.address6, 'dev', itf.name, 'nodad']);
      await nsExec(hub, 'ip', ['link', 'set', port, 'master', bridgeName(itf.network)]);
    }
    if (host.role === 'petrel') st.tunnel = await ensureTunnelDevice(hub, ns, host, idx);
    await writeBinWrappers(st, host);
  }
  await writeState(st);
  log(`hosts: ${topo.hosts.map((h) => `${h.name} (${h.role}, ${h.ip})`).join(', ')}`);

  const petrels = topo.hosts.filter((h) => h.role === 'petrel');
  if (datastoreKind === 'etcd') await ensureEtcd(st, hub, log, opts.readyTimeoutMs);
  if (petrels.length > 0) {
    await applyResourcesFile(st, join(st.dir, 'resources.yaml'), renderResources(labResources(topo)));
    log(`datastore: ${st.datastore} (Nodes, IPPools, BGPPeers from the topology)`);
  }

  // Routers and daemons start concurrently; each is waited on until it answers.
  await Promise.all(topo.hosts.map(async (host) => {
    if (host.role === 'bird') await ensureBird(st, host, opts.readyTimeoutMs);
    else if (host.role === 'gobgp') await ensureGobgp(st, host, opts.readyTimeoutMs);
    else if (host.role === 'petrel') await ensurePetrel(st, host, opts.readyTimeoutMs);
  }));
  if (petrels.length > 0) log(`petrel daemons: ${petrels.map((h) => h.name).join(', ')} (logs in ${join(st.dir, 'logs')})`);

  // Workloads recorded earlier whose plumbing has gone (a crash, a deleted namespace) are rebuilt.
  const present = new Set(await listNamespaces());
  for (const w of st.workloads) if (!present.has(w.namespace)) await plumbWorkload(w);
  for (const host of petrels) {
    for (const w of host.workloads) {
      const have = st.workloads.filter((x) => x.host === host.name && x.pool === w.pool).length;
      for (let i = have; i < w.count; i++) {
        const rec = await addWorkload(st, host.name, w.pool === '' ? undefined : w.pool);
        log(`workload ${rec.address} on ${host.name} (namespace ${rec.namespace})`);
      }
    }
  }
  await writeState(st);
  return st;
}

/**
 * Sysctls a lab host needs: routers and nodes forward (IPv6 too in a dual-stack lab); ARP answers
 * only for the receiving interface's addresses.
 */
async function setSysctls(ns: string, host: Host, ipv6: boolean): Promise<void> {
  const forward = host.role === 'host' ? '0' : '1';
  const settings: Array<[string, string]> = [
    ['net/ipv4/ip_forward', forward],
    ['net/ipv4/conf/all/arp_ignore', '1'],
    ['net/ipv4/conf/all/rp_filter', '0'],
    ['net/ipv4/conf/default/rp_filter', '0'],
    ...(ipv6 ? [['net/ipv6/conf/all/forwarding', forward] as [string, string]] : []),
  ];
  const script = settings.map(([k, v]) => `echo ${v} > /proc/sys/${k}`).join(' && ');
  await nsExec(ns, 'sh', ['-c', script]);
}

async function linkExists(ns: string, dev: string): Promise<boolean> {
  try {
    await nsExec(ns, 'ip', ['link', 'show', 'dev', dev]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The IPIP device petrel programs for IPIP pools (tunl0). With the kernel's ipip module, the real
 * tunl0 is brought up. Kernels without it (CONFIG_NET_IPIP unset, as on this project's machines)
 * get a stand-in: a veth named tunl0 on the host's first segment. Routes then read exactly as on
 * a Calico node (`via <node> dev tunl0 onlink proto bird`) and packets flow, unencapsulated.
 */
export async function ensureTunnelDevice(hub: string, ns: string, host: Host, idx: number): Promise<'ipip' | 'veth'> {
  const dev = 'tunl0';
  if (!(await linkExists(ns, dev))) {
    try {
      await nsExec(ns, 'ip', ['link', 'add', dev, 'type', 'ipip']);
    } catch (e) {
      if (!(e instanceof NetnsError) || !/Unknown device type|not supported|Operation not supported/i.test(e.stderr)) throw e;
      const port = `t${idx}-${dev}`.slice(0, 15);
      const net = host.interfaces[0]!.network;
      await addVethPair([hub, port], [ns, dev]);
      await nsExec(hub, 'ip', ['link', 'set', port, 'master', bridgeName(net)]);
    }
  }
  await nsExec(ns, 'ip', ['link', 'set', dev, 'up']);
  const details = await nsExec(ns, 'ip', ['-d', 'link', 'show', 'dev', dev]);
  return /\bveth\b/.test(details) ? 'veth' : 'ipip';
}

/** `lab exec` puts <lab>/bin/<host> first on PATH: petrelctl (and birdc) already aimed at this host. */
async function writeBinWrappers(st: LabState, host: Host): Promise<void> {
  const dir = hostBinDir(st, host.name);
  await mkdir(dir, { recursive: true });
  const sock = ctlSocketPath(st, host.name);
  // A dual-stack node's `node status` also needs its own IPv6 socket (see ctlSocket6Path).
  const v6Status = host.role === 'petrel' && host.ip6 !== undefined
    ? `if [ "$1" = node ] && [ "$2" = status ]; then shift 2; exec node ${petrelctlJs()} --ctl-socket ${sock} node status --ctl-socket6 ${ctlSocket6Path(st, host.name)} "$@"; fi\n`
    : '';
  const files: Array<[string, string]> = [
    ['petrelctl', `#!/bin/sh\n${v6Status}exec node ${petrelctlJs()} --ctl-socket ${sock} "$@"\n`],
  ];
  if (host.role === 'bird') files.push(['birdc', `#!/bin/sh\nexec /usr/sbin/birdc -s ${sock} "$@"\n`]);
  for (const [f, text] of files) {
    await writeFile(join(dir, f), text);
    await chmod(join(dir, f), 0o755);
  }
}

/** Runs petrelctl against the lab's datastore, from the hub namespace (where etcd is reachable). */
export async function labPetrelctl(st: LabState, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  if (!existsSync(petrelctlJs())) throw new LabError(`${petrelctlJs()} is missing: run 'npm run build' first`);
  return nsExec(hubNamespace(st.name), process.execPath, [petrelctlJs(), '--datastore', st.datastore, ...args], { timeoutMs });
}

/**
 * Seeds the datastore. A new file datastore is simply written (it is Calico YAML, and this lab
 * is its only user); an existing one, or etcd, goes through `petrelctl apply` and its validation.
 */
async function applyResourcesFile(st: LabState, file: string, yamlText: string): Promise<void> {
  await writeFile(file, yamlText);
  const path = st.datastore.startsWith('file:') ? st.datastore.slice('file:'.length) : undefined;
  if (path !== undefined && !existsSync(path)) {
    await writeFile(path, yamlText);
    return;
  }
  await labPetrelctl(st, ['apply', '-f', file]);
}

function liveProcess(st: LabState, host: string, what: string): ProcessRecord | undefined {
  return st.processes.find((p) => p.host === host && p.what === what && isAlive(p));
}

async function recordProcess(st: LabState, rec: ProcessRecord): Promise<void> {
  const i = st.processes.findIndex((p) => p.host === rec.host && p.what === rec.what);
  if (i >= 0) st.processes.splice(i, 1);
  st.processes.push(rec);
  await writeState(st);
}

/** The error for a process that died while we waited, with the end of its log (the log goes with `down`). */
function exitedError(rec: ProcessRecord): LabError {
  let tail = '';
  try {
    tail = readFileSync(rec.log, 'utf8').trimEnd().split('\n').slice(-6).join('\n');
  } catch {
    /* no log */
  }
  return new LabError(`${rec.what} on ${rec.host} exited; see ${rec.log}${tail ? `; it ends with:\n${tail}` : ''}`);
}

async function waitAlive<T>(rec: ProcessRecord, what: string, probe: () => Promise<T> | T, timeoutMs: number): Promise<T> {
  try {
    return await waitFor(what, async () => {
      if (!isAlive(rec)) throw exitedError(rec);
      return probe();
    }, timeoutMs, 100);
  } catch (e) {
    if (!isAlive(rec)) throw exitedError(rec);
    throw e;
  }
}

async function ensureBird(st: LabState, host: Host, timeoutMs = 30_000): Promise<void> {
  const ns = hostNamespace(st.name, host.name);
  const conf = join(st.dir, `${host.name}.bird.conf`);
  const sock = ctlSocketPath(st, host.name);
  await writeFile(conf, renderBirdConfig(st.topology, host));
  let rec = liveProcess(st, host.name, 'bird');
  if (!rec) {
    await run('bird', ['-p', '-c', conf]).catch((e: NetnsError) => {
      throw new LabError(`generated BIRD config for ${host.name} is invalid: ${e.stderr.trim()}`);
    });
    rec = spawnDetached(host.name, 'bird', ns, ['bird', '-f', '-c', conf, '-s', sock], logPath(st, `${host.name}.bird.log`));
    await recordProcess(st, rec);
  }
  await waitAlive(rec, `BIRD on ${host.name} to answer on ${sock}`, () => run('birdc', ['-s', sock, 'show', 'status']).then(() => true), timeoutMs);
}

async function ensureGobgp(st: LabState, host: Host, timeoutMs = 30_000): Promise<void> {
  const ns = hostNamespace(st.name, host.name);
  const conf = join(st.dir, `${host.name}.gobgpd.toml`);
  await writeFile(conf, renderGobgpConfig(st.topology, host));
  let rec = liveProcess(st, host.name, 'gobgpd');
  if (!rec) {
    rec = spawnDetached(host.name, 'gobgpd', ns, ['gobgpd', '-f', conf, '-t', 'toml', '-p', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], logPath(st, `${host.name}.gobgpd.log`));
    await recordProcess(st, rec);
  }
  await waitAlive(rec, `gobgpd on ${host.name} to answer`, () => nsExec(ns, 'gobgp', ['global']).then(() => true), timeoutMs);
  for (const p of host.originate) await nsExec(ns, 'gobgp', ['global', 'rib', 'add', p, '-a', p.includes(':') ? 'ipv6' : 'ipv4']);
  // gobgpd has no kernel programming without zebra: the pump copies its RIB into the kernel.
  if (!liveProcess(st, host.name, 'gobgp-pump')) {
    const pump = spawnDetached(host.name, 'gobgp-pump', ns, [process.execPath, gobgpPumpJs()], logPath(st, `${host.name}.gobgp-pump.log`));
    await recordProcess(st, pump);
  }
}

async function ensurePetrel(st: LabState, host: Host, timeoutMs = 30_000): Promise<void> {
  const ns = hostNamespace(st.name, host.name);
  const sock = ctlSocketPath(st, host.name);
  let rec = liveProcess(st, host.name, 'petrel');
  if (!rec) {
    if (!existsSync(daemonJs())) throw new LabError(`${daemonJs()} is missing: run 'npm run build' first`);
    const argv = [process.execPath, daemonJs(), '--node', host.name, ...listenArgs(host), '--ctl-socket', sock, ...ctl6Args(st, host), '--sink', 'kernel', '--log-level', 'info'];
    rec = spawnDetached(host.name, 'petrel', ns, argv, logPath(st, `${host.name}.petrel.log`), { PETREL_DATASTORE: st.datastore, NODENAME: host.name });
    await recordProcess(st, rec);
  }
  // Ready once it listens for BGP (the control socket may come a moment later; status shows it).
  await waitAlive(rec, `petrel on ${host.name} to listen on ${host.ip6 === undefined ? host.ip : 'every address'} port 179`, async () => listensForBgp(await nsExec(ns, 'ss', ['-ltnH']), host), timeoutMs);
}

/**
 * An IPv4-only node listens on its address; a dual-stack one on every address (no --listen), as
 * calico-node's bird and bird6 together do: one --listen address would leave a family deaf.
 */
function listenArgs(host: Host): string[] {
  return host.ip6 === undefined ? ['--listen', `${host.ip}:179`] : [];
}

function ctl6Args(st: LabState, host: Host): string[] {
  return host.ip6 === undefined ? [] : ['--ctl-socket6', ctlSocket6Path(st, host.name)];
}

/** `ss -ltnH` shows the BGP listener: on the host's address, or on the wildcard for a dual-stack host. */
function listensForBgp(ss: string, host: Host): boolean {
  const local = ss.split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '');
  const wanted = host.ip6 === undefined ? [`${host.ip}:179`] : ['*:179', '[::]:179'];
  return local.some((a) => wanted.includes(a));
}

/** etcd in the hub namespace, on the first network's hub address so every host reaches it. */
async function ensureEtcd(st: LabState, hub: string, log: (l: string) => void, timeoutMs = 30_000): Promise<void> {
  const net = st.topology.networks[0]!;
  const addr = hubAddress(net);
  const ip = addr.split('/')[0]!;
  const br = bridgeName(net.name);
  const have = await nsExec(hub, 'ip', ['-o', 'addr', 'show', 'dev', br]);
  if (!have.includes(` ${addr} `)) await nsExec(hub, 'ip', ['addr', 'add', addr, 'dev', br]);
  st.datastore = `etcd:http://${ip}:2379`;
  let rec = liveProcess(st, 'hub', 'etcd');
  if (!rec) {
    const data = join(st.dir, 'etcd');
    rec = spawnDetached('hub', 'etcd', hub, [
      'etcd', '--name', `${st.name}-etcd`, '--data-dir', data,
      '--listen-client-urls', `http://${ip}:2379`, '--advertise-client-urls', `http://${ip}:2379`,
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', `${st.name}-etcd=http://127.0.0.1:2380`,
    ], logPath(st, 'etcd.log'));
    await recordProcess(st, rec);
  }
  await waitAlive(rec, `etcd to listen on ${ip}:2379`, async () => (await nsExec(hub, 'ss', ['-ltnH'])).includes(`${ip}:2379`), timeoutMs);
  log(`etcd: http://${ip}:2379 in namespace ${hub}`);
}

/**
 * Allocates an address from IPAM for `host` and plumbs it with attachWorkload. Without a pool, a
 * dual-stack host in a lab with an IPv6 pool gets a dual-stack workload, as a Calico pod: one
 * IPv4 and one IPv6 address under the same handle, in one namespace. With a pool, one address
 * of that pool's family (a topology pool's, else the CIDR's; a pool added later by name is IPv4
 * unless `family` says otherwise).
 */
export async function addWorkload(st: LabState, hostName: string, pool?: string, family?: 4 | 6): Promise<WorkloadRecord> {
  const host = hostByName(st.topology, hostName);
  if (host.role !== 'petrel') throw new LabError(`workloads live on petrel hosts; ${hostName} is '${host.role}'`);
  const handle = `${st.name}-${hostName}-w${st.workloads.filter((w) => w.host === hostName).length}`;
  if (pool) {
    const fam = family ?? st.topology.pools.find((p) => p.name === pool)?.family ?? (pool.includes(':') ? 6 : 4);
    return attachWorkload(st, hostName, await allocateAddress(st, hostName, handle, fam, pool), pool);
  }
  const dual = host.ip6 !== undefined && st.topology.pools.some((p) => p.family === 6 && !p.disabled) && family === undefined;
  const address = await allocateAddress(st, hostName, handle, family ?? 4);
  const address6 = dual ? await allocateAddress(st, hostName, handle, 6) : undefined;
  return attachWorkload(st, hostName, address, '', address6);
}

/**
 * One address from IPAM. A file datastore is reached in-process through config/ (what `petrelctl
 * ipam allocate` runs, without a Node start per address); etcd, which lives in the hub
 * namespace, through `petrelctl ipam allocate` run there.
 */
async function allocateAddress(st: LabState, hostName: string, handle: string, family: 4 | 6, pool?: string): Promise<string> {
  if (st.datastore.startsWith('file:')) {
    const ds = openDatastore(st.datastore);
    try {
      return (await ds.allocate({ node: hostName, handle, family, ...(pool ? { pools: [pool] } : {}) })).ip;
    } finally {
      await ds.close();
    }
  }
  const out = await labPetrelctl(st, ['ipam', 'allocate', '--node', hostName, ...(pool ? ['--pool', pool] : []), ...(family === 6 ? ['--ipv6'] : []), '--handle', handle]);
  const address = family === 4 ? /\b(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(out)?.[1] : /(?:^|\s)([0-9a-f]*:[0-9a-f:]+)(?:\s|$)/i.exec(out)?.[1];
  if (!address) throw new LabError(`petrelctl ipam allocate printed no IPv${family} address: ${out.trim()}`);
  return address;
}

/**
 * Plumbs a workload address as Calico does: its own namespace `<lab>-<host>-w<n>` with eth0
 * holding the /32 and a default route out of eth0, and on the host a veth end `caliw<n>` with
 * proxy ARP and a /32 route to it. An IPv6 address (`address`, or `address6` beside an IPv4 one)
 * is a /128 on eth0 with a default route via the host end's link-local address, and a /128
 * route to it on the host.
 */
export async function attachWorkload(st: LabState, hostName: string, address: string, pool = '', address6?: string): Promise<WorkloadRecord> {
  hostByName(st.topology, hostName);
  const n = st.workloads.filter((w) => w.host === hostName).length;
  const nodeNs = hostNamespace(st.name, hostName);
  const wlNs = `${nodeNs}-w${n}`;
  const nodeIf = `caliw${n}`;
  const rec: WorkloadRecord = { host: hostName, pool, address, ...(address6 !== undefined ? { address6 } : {}), namespace: wlNs, nodeInterface: nodeIf };
  if (!st.namespaces.includes(wlNs)) st.namespaces.push(wlNs);
  st.workloads.push(rec);
  await writeState(st);
  await plumbWorkload(rec);
  return rec;
}

/** The host end's link-local address, Calico's: the workload's IPv6 default gateway. */
const WORKLOAD_GATEWAY6 = 'fe80::ecee:eeff:feee:eeee';

async function plumbWorkload(rec: WorkloadRecord): Promise<void> {
  const { namespace: wlNs, nodeInterface: nodeIf } = rec;
  const nodeNs = wlNs.slice(0, wlNs.lastIndexOf('-w'));
  const v4 = rec.address.includes(':') ? undefined : rec.address;
  const v6 = rec.address.includes(':') ? rec.address : rec.address6;
  await addNamespace(wlNs);
  if (!(await linkExists(nodeNs, nodeIf))) {
    await addVethPair([nodeNs, nodeIf], [wlNs, 'eth0', v4 !== undefined ? `${v4}/32` : undefined]);
    // nodad: usable at once (duplicate address detection would hold each address about a second).
    if (v6 !== undefined) {
      await nsExec(wlNs, 'ip', ['addr', 'add', `${v6}/128`, 'dev', 'eth0', 'nodad']);
      await nsExec(nodeNs, 'ip', ['addr', 'add', `${WORKLOAD_GATEWAY6}/64`, 'dev', nodeIf, 'nodad']);
    }
  }
  if (v4 !== undefined) {
    await nsExec(wlNs, 'ip', ['route', 'replace', 'default', 'dev', 'eth0']);
    // Proxy ARP answers the workload for every destination; without proxy_delay 0 (as Calico sets it)
    // each answer waits up to 0.8 s.
    await nsExec(nodeNs, 'sh', ['-c', `echo 1 > /proc/sys/net/ipv4/conf/${nodeIf}/proxy_arp && echo 0 > /proc/sys/net/ipv4/neigh/${nodeIf}/proxy_delay`]);
    await nsExec(nodeNs, 'ip', ['route', 'replace', `${v4}/32`, 'dev', nodeIf, 'scope', 'link']);
  }
  if (v6 !== undefined) {
    await nsExec(wlNs, 'ip', ['-6', 'route', 'replace', 'default', 'via', WORKLOAD_GATEWAY6, 'dev', 'eth0']);
    await nsExec(nodeNs, 'ip', ['-6', 'route', 'replace', `${v6}/128`, 'dev', nodeIf]);
  }
}

export interface DownReport {
  readonly name: string;
  readonly stopped: readonly string[];
  readonly namespaces: readonly string[];
}

/** Stops the lab's processes and deletes its namespaces and files; undefined when no such lab. */
export async function labDown(name: string): Promise<DownReport | undefined> {
  const st = await readState(name);
  if (!st) return undefined;
  const stopped: string[] = [];
  // Daemons first (petrel withdraws cleanly), then routers, etcd last.
  const order = (p: ProcessRecord): number => (p.what === 'petrel' ? 0 : p.what === 'etcd' ? 2 : 1);
  for (const p of [...st.processes].sort((a, b) => order(a) - order(b))) {
    if (isAlive(p)) {
      await stopProcess(p);
      stopped.push(`${p.what}@${p.host} (pid ${p.pid})`);
    }
  }
  const present = new Set(await listNamespaces());
  const deleted: string[] = [];
  for (const ns of [...st.namespaces].reverse()) {
    if (!present.has(ns)) continue;
    await deleteNamespace(ns);
    deleted.push(ns);
  }
  await removeLabDir(name);
  return { name, stopped, namespaces: deleted };
}

async function capture(ns: string, cmd: string, args: readonly string[]): Promise<string> {
  try {
    return await nsExec(ns, cmd, args, { timeoutMs: 10_000 });
  } catch (e) {
    const why = e instanceof NetnsError ? e.stderr.trim().split('\n')[0] || 'failed' : String(e);
    return `(${cmd === process.execPath ? 'petrelctl' : cmd} failed: ${why})\n`;
  }
}

/** What `lab status` prints: per host its processes, its BGP status and its routing table. */
export async function labStatus(name: string): Promise<string> {
  const st = await readState(name);
  if (!st) return `no lab named '${name}' is up\n`;
  const present = new Set(await listNamespaces());
  const out: string[] = [`lab ${st.name}: datastore ${st.datastore}, state in ${st.dir}, logs in ${join(st.dir, 'logs')}`];
  if (st.tunnel === 'veth') out.push('note: this kernel has no IPIP; tunl0 is a veth stand-in on the lab segment (routes as in Calico, packets unencapsulated)');
  for (const host of st.topology.hosts) {
    const ns = hostNamespace(st.name, host.name);
    const procs = st.processes.filter((p) => p.host === host.name).map((p) => `${p.what} pid ${p.pid} ${isAlive(p) ? 'running' : 'NOT RUNNING'}`);
    out.push('', `=== ${host.name} (${host.role}, ${host.ip}, namespace ${ns}${present.has(ns) ? '' : ' MISSING'})${procs.length ? ` ${procs.join(', ')}` : ''}`);
    if (!present.has(ns)) continue;
    const sock = ctlSocketPath(st, host.name);
    const v6Status = host.ip6 !== undefined ? ['--ctl-socket6', ctlSocket6Path(st, host.name)] : [];
    if (host.role === 'petrel') out.push(`$ petrelctl node status`, (await capture(ns, process.execPath, [petrelctlJs(), '--ctl-socket', sock, 'node', 'status', ...v6Status])).trimEnd());
    if (host.role === 'bird') out.push(`$ birdc show protocols`, (await capture(ns, 'birdc', ['-s', sock, 'show', 'protocols'])).trimEnd());
    if (host.role === 'gobgp') out.push(`$ gobgp neighbor`, (await capture(ns, 'gobgp', ['neighbor'])).trimEnd());
    out.push('$ ip route', (await capture(ns, 'ip', ['route'])).trimEnd());
    if (host.ip6 !== undefined) out.push('$ ip -6 route', (await capture(ns, 'ip', ['-6', 'route'])).trimEnd());
    const wl = st.workloads.filter((w) => w.host === host.name);
    if (wl.length) out.push(`workloads: ${wl.map((w) => `${[w.address, ...(w.address6 !== undefined ? [w.address6] : [])].join(' ')} (${w.namespace})`).join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

/** Runs a command inside a host's namespace with the lab's environment; resolves to its exit code. */
export async function labExec(name: string, hostName: string, argv: readonly string[]): Promise<number> {
  const st = await readState(name);
  if (!st) throw new LabError(`no lab named '${name}' is up`);
  const host = st.topology.hosts.find((h) => h.name === hostName);
  const wl = st.workloads.find((w) => w.namespace === hostName || w.address === hostName || w.address6 === hostName);
  if (!host && !wl) throw new LabError(`lab ${name} has no host '${hostName}' (hosts: ${st.topology.hosts.map((h) => h.name).join(', ')})`);
  const ns = host ? hostNamespace(st.name, host.name) : wl!.namespace;
  const owner = host?.name ?? wl!.host;
  const env = {
    ...process.env,
    PATH: `${hostBinDir(st, owner)}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    PETREL_DATASTORE: st.datastore,
    PETREL_CTL_SOCKET: ctlSocketPath(st, owner),
  };
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
