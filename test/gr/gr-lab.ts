/**
 * A two-node Petrel cluster in network namespaces for graceful-restart and chaos tests, with real
 * workloads: each node has a /26 block from IPAM and one workload namespace behind a veth (as a
 * Calico pod: its /32 routed on the node, proxy ARP on the node's side), plus a BIRD 2 bastion
 * (graceful restart on) as a global peer. Pings between workloads cross both nodes' kernel routes:
 * node A reaches B's block through the route Petrel installed, and back.
 *
 * Namespaces are `<prefix>-<pid>-*`; down() kills what it started and deletes them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore } from '../../config/index.js';
import type { ChildProcess } from 'node:child_process';
import { addBridge, addNamespace, addVethPair, attachToBridge, nsExec, nsSpawn } from '../../tools/lab/netns.js';
import { MAIN } from '../support/dist-paths.js';
import { NsProcess } from '../support/ns-process.js';
import { untilAnswering } from '../support/control-socket-ready.js';
import { deleteNamespacesOf } from '../support/lab-namespaces.js';
import { calicoDocuments } from '../support/calico-yaml.js';
import { birdBgpProtocol, birdKernelProtocol } from '../support/bird-config.js';
import { birdRouteTargets } from '../support/kernel-routes.js';
import { parsePing, type PingResult } from '../support/ping.js';
import { untilOrDiagnose } from '../support/lab-lifecycle.js';

export interface GrNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly ctl: string;
  /** The workload's namespace and address (inside the node's block). */
  readonly wl: string;
  block: string;
  addr: string;
  proc?: NsProcess;
  /** Log lines of every run of this node, oldest first. */
  readonly runs: NsProcess[];
}

export { parsePing, type PingResult };

export type LogLine = Record<string, unknown> & { msg?: string; peer?: string };

export class GrLab {
  readonly prefix: string;
  readonly nodes: GrNode[] = [];
  readonly bastion: { ns: string; ip: string; ctl: string; proc?: NsProcess };
  dir = '';
  private readonly net: string;
  private readonly pool: string;
  private readonly extra: NsProcess[] = [];
  private readonly pings: ChildProcess[] = [];

  constructor(prefix: string, octet: number, private readonly holdTime?: number) {
    this.prefix = `${prefix}-${process.pid}`;
    this.net = `10.81.${octet}`;
    this.pool = `10.82.${octet}.0/24`;
    this.bastion = { ns: `${this.prefix}-bst`, ip: `${this.net}.1`, ctl: '' };
  }

  get hub(): string {
    return `${this.prefix}-hub`;
  }

  get datastore(): string {
    return `file:${join(this.dir, 'cluster.yaml')}`;
  }

  node(name: string): GrNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async up(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), `${this.prefix}-`));
    this.bastion.ctl = join(this.dir, 'bastion.ctl');
    await addBridge(this.hub, 'br0');
    await addNamespace(this.bastion.ns);
    await attachToBridge(this.hub, 'br0', this.bastion.ns, 'eth0', `${this.bastion.ip}/24`);
    for (const [i, name] of ['node-a', 'node-b'].entries()) {
      const n: GrNode = { name, ns: `${this.prefix}-n${i}`, ip: `${this.net}.${11 + i}`, ctl: join(this.dir, `${name}.ctl`), wl: `${this.prefix}-w${i}`, block: '', addr: '', runs: [] };
      this.nodes.push(n);
      await addNamespace(n.ns);
      await attachToBridge(this.hub, 'br0', n.ns, 'eth0', `${n.ip}/24`);
      await sysctl(n.ns, 'net/ipv4/ip_forward');
    }
    await writeFile(join(this.dir, 'cluster.yaml'), this.resources());
    const ds = openDatastore(this.datastore);
    try {
      for (const n of this.nodes) {
        const a = await ds.allocate({ node: n.name });
        n.block = a.block;
        n.addr = a.ip;
      }
    } finally {
      await ds.close();
    }
    for (const n of this.nodes) await this.addWorkload(n);
    // Started with restart intent on SIGTERM, as a node agent that is being upgraded would be.
    for (const n of this.nodes) await this.waitReady(this.startPetrel(n.name, ['--restart-on-sigterm']));
    await this.startBastion();
  }

  /** A pod: its own namespace, a veth to the node, its /32 routed on the node (not proto bird). */
  private async addWorkload(n: GrNode): Promise<void> {
    await addNamespace(n.wl);
    await addVethPair([n.ns, 'caliwl'], [n.wl, 'eth0', `${n.addr}/32`]);
    await nsExec(n.wl, 'ip', ['route', 'add', 'default', 'dev', 'eth0']);
    await sysctl(n.ns, 'net/ipv4/conf/caliwl/proxy_arp');
    await nsExec(n.ns, 'ip', ['route', 'add', `${n.addr}/32`, 'dev', 'caliwl']);
  }

  /** With a hold time, the mesh is off and explicit BGPPeers carry it (the mesh's is fixed at 240 s). */
  private resources(): string {
    const hold = this.holdTime ? `, holdTime: ${this.holdTime}s` : '';
    const peers = this.holdTime
      ? this.nodes.flatMap((n) => this.nodes.filter((o) => o !== n).map((o) => `kind: BGPPeer\nmetadata: { name: ${n.name}-to-${o.name} }\nspec: { node: ${n.name}, peerIP: ${o.ip}, asNumber: 64512${hold} }`))
      : [];
    const docs = [
      `kind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64512, nodeToNodeMeshEnabled: ${this.holdTime ? 'false' : 'true'}, logSeverityScreen: Info }`,
      ...peers,
      `kind: IPPool\nmetadata: { name: gr-pool }\nspec: { cidr: ${this.pool}, blockSize: 26, ipipMode: Never, vxlanMode: Never, natOutgoing: false, nodeSelector: all() }`,
      ...this.nodes.map((n) => `kind: Node\nmetadata: { name: ${n.name} }\nspec: { bgp: { ipv4Address: ${n.ip}/24 } }`),
      `kind: BGPPeer\nmetadata: { name: bastion }\nspec: { peerIP: ${this.bastion.ip}, asNumber: 64512${hold} }`,
    ];
    return calicoDocuments(docs);
  }

  startPetrel(name: string, extra: readonly string[] = []): NsProcess {
    const n = this.node(name);
    const proc = new NsProcess(`petrel ${n.name} run ${n.runs.length + 1}`, n.ns, [process.execPath, MAIN, '--node', n.name, '--listen', `${n.ip}:179`, '--ctl-socket', n.ctl, '--log-level', 'info', ...extra], {
      PETREL_DATASTORE: this.datastore,
    });
    n.proc = proc;
    n.runs.push(proc);
    return proc;
  }

  async waitReady(proc: NsProcess, timeoutMs = 30_000): Promise<void> {
    const n = this.nodes.find((x) => x.proc === proc);
    await untilAnswering(proc, n!.ctl, timeoutMs, `${proc.what} to answer`);
  }

  birdConfig(holdTime?: number): string {
    const lines = ['log stderr all;', `router id ${this.bastion.ip};`, 'protocol device { scan time 2; }', birdKernelProtocol('ipv4', 'graceful restart;')];
    for (const n of this.nodes) {
      const extra = ['graceful restart on;', 'graceful restart time 120;', ...(holdTime ? [`hold time ${holdTime};`] : [])];
      lines.push(birdBgpProtocol({ name: n.name.replace('-', '_'), local: this.bastion.ip, neighbor: n.ip, channel: 'ipv4', extra }));
    }
    return `${lines.join('\n')}\n`;
  }

  async startBastion(holdTime?: number): Promise<void> {
    const conf = join(this.dir, 'bastion.conf');
    await writeFile(conf, this.birdConfig(holdTime ?? this.holdTime));
    const proc = new NsProcess('bird (bastion)', this.bastion.ns, ['bird', '-f', '-c', conf, '-s', this.bastion.ctl]);
    this.bastion.proc = proc;
    this.extra.push(proc);
    await untilAnswering(proc, this.bastion.ctl, 15_000, 'the bastion BIRD to answer');
  }

  /** Proto-bird routes of a namespace: destination → gateway ('blackhole' for blackholes). */
  birdRoutes(ns: string): Promise<Map<string, string>> {
    return birdRouteTargets(ns);
  }

  /** Every node holds its own block as a blackhole and the other's via that node; the bastion has both. */
  async converged(): Promise<boolean> {
    for (const n of this.nodes) {
      const rs = await this.birdRoutes(n.ns);
      if (rs.get(n.block) !== 'blackhole') return false;
      for (const o of this.nodes) if (o !== n && rs.get(o.block) !== o.ip) return false;
    }
    const b = await this.birdRoutes(this.bastion.ns);
    return this.nodes.every((n) => b.get(n.block) === n.ip);
  }

  /**
   * A ping that runs until stopped (SIGINT makes ping print its summary), bounded by `maxSeconds`
   * (`-w`) in any case.
   */
  pingUntilStopped(fromNs: string, to: string, maxSeconds: number, interval = 0.1): { stop: () => Promise<PingResult>; result: Promise<PingResult>; replies: () => number; tail: () => string } {
    const child = nsSpawn(fromNs, 'ping', ['-n', '-i', String(interval), '-W', '1', '-w', String(maxSeconds), to]);
    this.pings.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const result = new Promise<PingResult>((resolve) => {
      child.on('close', () => resolve(parsePing(out) ?? { transmitted: 0, received: 0, lost: 0, error: out.trim() }));
    });
    return {
      result,
      // One "bytes from" line per echo reply.
      replies: () => out.split('bytes from').length - 1,
      tail: () => out.split('\n').slice(-8).join('\n'),
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        return result;
      },
    };
  }

  /**
   * A bounded ping (`-c count -i interval -W 1`, and `-w` as a hard deadline) started now; resolves
   * with its summary. The child is killed at down() if it is still running.
   */
  ping(fromNs: string, to: string, count: number, interval = 0.05): Promise<PingResult> {
    const deadline = Math.ceil(count * interval + 10);
    const child = nsSpawn(fromNs, 'ping', ['-n', '-q', '-i', String(interval), '-c', String(count), '-W', '1', '-w', String(deadline), to]);
    this.pings.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      // No summary (e.g. "Network is unreachable" at once): nothing got through.
      child.on('close', () => resolve(parsePing(out) ?? { transmitted: 0, received: 0, lost: count, error: out.trim() }));
    });
  }

  /** JSON log lines of a process (petrel logs one object per line on stdout). */
  logs(proc: NsProcess | undefined): LogLine[] {
    if (!proc) return [];
    const out: LogLine[] = [];
    for (const line of proc.out.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        /* partial line */
      }
    }
    return out;
  }

  async waitLog(proc: NsProcess | undefined, what: string, pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return this.until(what, async () => this.logs(proc).find(pred), timeoutMs);
  }

  diagnostics(): string {
    return [...this.nodes.map((n) => n.proc), this.bastion.proc].map((p) => p?.tail(25) ?? '').join('\n');
  }

  until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
    return untilOrDiagnose(what, probe, timeoutMs, () => this.diagnostics());
  }

  async down(): Promise<void> {
    for (const p of this.pings) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    const procs = [...this.nodes.flatMap((n) => n.runs), ...this.extra];
    await Promise.all(procs.map((p) => p.kill()));
    await deleteNamespacesOf(this.prefix);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Sets a /proc/sys switch to 1 inside a namespace (/proc/sys/net is per namespace; no procps needed). */
function sysctl(ns: string, path: string): Promise<string> {
  return nsExec(ns, 'sh', ['-c', `echo 1 > /proc/sys/${path}`]);
}
