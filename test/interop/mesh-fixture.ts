/**
 * A whole dual-stack Petrel cluster in network namespaces, built directly with tools/lab/netns.ts
 * so the tests own every process handle: three petrel nodes (real `dist/daemon/main.js` processes)
 * on one bridge, each with an IPv4 and an IPv6 address, a /26 block from the IPv4 pool and a /122
 * from the IPv6 pool (Calico's default block size) claimed from the datastore's IPAM (config/'s
 * allocate), and a real BIRD 2 bastion that is a global BGPPeer (AS 64512) once per family, with
 * a separate IPv6 transport session per node as Calico's bird6 has them.
 *
 * The IPv4 pool is IPIP Always; this kernel has no ipip module, so each node gets a `tunl0` veth
 * stand-in on the same bridge (as the lab does) and petrel's IPv4 routes read as on a Calico node:
 * `via <node> dev tunl0 onlink proto bird`. IPIP carries IPv4 only: IPv6 blocks are routed
 * `via <node's IPv6 address> dev eth0 proto bird`, as on a Calico node.
 *
 * Each node has its own IPv4 and IPv6 control sockets (`<node>.ctl`, `<node>.ctl6`): the daemon's
 * default bird6.ctl beside the IPv4 socket would be shared by the three nodes here.
 *
 * Namespaces are `pt-e2e-<pid><tag>-*`; `down()` removes them and kills what we started, whatever
 * state the test left.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { addBridge, addNamespace, attachToBridge, nsExec } from '../../tools/lab/netns.js';
import { openDatastore } from '../../config/index.js';
import { blockName } from '../../config/ipam/assign.js';
import { blockAffinityName } from '../../config/resources.js';
import { KernelSink } from '../../daemon/sink/kernel.js';
import type { SinkRoute } from '../../daemon/model.js';
import { MAIN, PETRELCTL } from '../support/dist-paths.js';
import { NsProcess } from '../support/ns-process.js';
import { untilAnswering } from '../support/control-socket-ready.js';
import { deleteNamespacesOf } from '../support/lab-namespaces.js';
import { birdKernelRoutes, type KernelRoute } from '../support/kernel-routes.js';
import { pingReceived } from '../support/ping.js';
import { untilOrDiagnose } from '../support/lab-lifecycle.js';
import { calicoDocuments } from '../support/calico-yaml.js';
import { birdBgpProtocol, birdKernelProtocol } from '../support/bird-config.js';

// Other labs (test/ipv6, test/rr) take these from here.
export { MAIN, PETRELCTL, NsProcess, type KernelRoute };
/** Preload for `--sink mock` runs: writes the MockSink's table as JSON after every change. */
const MOCK_DUMP_HOOK = pathToFileURL(resolve(import.meta.dirname, 'mock-dump-hook.mjs')).href;

export interface PetrelNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly ip6: string;
  readonly ctl: string;
  /** The IPv6 control socket (bird6.ctl's role). */
  readonly ctl6: string;
  /** The /26 block `ipam allocate` claimed for this node, and the address it handed out. */
  block: string;
  addr: string;
  /** The /122 block claimed from the IPv6 pool, and the address it handed out. */
  block6: string;
  addr6: string;
  proc?: NsProcess;
  sink?: 'kernel' | 'mock';
  /** Where the mock sink's table is written (mock runs only). */
  readonly mockDump: string;
}

export interface Bastion {
  readonly ns: string;
  readonly ip: string;
  readonly ip6: string;
  readonly ctl: string;
  proc?: NsProcess;
}

export class MeshLab {
  readonly prefix: string;
  readonly hub: string;
  readonly nodes: PetrelNode[] = [];
  bastion!: Bastion;
  dir = '';
  /** Other processes a test started in this lab's namespaces (killed by down()). */
  private readonly extra: NsProcess[] = [];
  private readonly net: string;
  private readonly net6: string;
  readonly pool: string;
  readonly pool6: string;

  /**
   * `octet` picks the underlay 10.77.<octet>.0/24 and fd77:<octet>::/64 and the pools
   * 10.78.<octet>.0/24 and fd78:<octet>::/116, so files never look alike.
   */
  constructor(tag: string, private readonly octet: number) {
    this.prefix = `pt-e2e-${process.pid}${tag}`;
    this.hub = `${this.prefix}-hub`;
    this.net = `10.77.${octet}`;
    this.net6 = `fd77:${octet}::`;
    this.pool = `10.78.${octet}.0/24`;
    this.pool6 = `fd78:${octet}::/116`;
  }

  get datastore(): string {
    return `file:${join(this.dir, 'cluster.yaml')}`;
  }

  node(name: string): PetrelNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async up(): Promise<void> {
    for (const f of [MAIN, PETRELCTL]) if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build first (npm test does)`);
    this.dir = await mkdtemp(join(tmpdir(), 'pt-e2e-'));
    await addBridge(this.hub, 'br0');
    this.bastion = { ns: `${this.prefix}-bst`, ip: `${this.net}.1`, ip6: `${this.net6}1`, ctl: join(this.dir, 'bastion.ctl') };
    for (const [i, name] of ['node1', 'node2', 'node3'].entries()) {
      this.nodes.push({
        name,
        ns: `${this.prefix}-n${i + 1}`,
        ip: `${this.net}.${11 + i}`,
        ip6: `${this.net6}${11 + i}`,
        ctl: join(this.dir, `${name}.ctl`),
        ctl6: join(this.dir, `${name}.ctl6`),
        mockDump: join(this.dir, `${name}.mock.json`),
        block: '',
        addr: '',
        block6: '',
        addr6: '',
      });
    }
    await addNamespace(this.bastion.ns);
    await attachToBridge(this.hub, 'br0', this.bastion.ns, 'eth0', `${this.bastion.ip}/24`);
    // nodad: usable at once (duplicate address detection would hold each address ~1 s).
    await nsExec(this.bastion.ns, 'ip', ['addr', 'add', `${this.bastion.ip6}/64`, 'dev', 'eth0', 'nodad']);
    for (const n of this.nodes) {
      await addNamespace(n.ns);
      await attachToBridge(this.hub, 'br0', n.ns, 'eth0', `${n.ip}/24`);
      await nsExec(n.ns, 'ip', ['addr', 'add', `${n.ip6}/64`, 'dev', 'eth0', 'nodad']);
      // The IPIP pool's device: no ipip module here, so a veth named tunl0 on the same segment.
      await attachToBridge(this.hub, 'br0', n.ns, 'tunl0');
    }

    await writeFile(join(this.dir, 'cluster.yaml'), this.resources());
    // What `petrelctl ipam allocate --node <n>` runs, in-process (a petrelctl start costs ~2 s here).
    const ds = openDatastore(this.datastore);
    try {
      for (const n of this.nodes) {
        const a = await ds.allocate({ node: n.name, family: 4 });
        n.block = a.block;
        n.addr = a.ip;
        const a6 = await ds.allocate({ node: n.name, family: 6 });
        n.block6 = a6.block;
        n.addr6 = a6.ip;
        // The workload addresses live in the node's namespace: the bastion's pings must reach them through the routes.
        await nsExec(n.ns, 'ip', ['addr', 'add', `${a.ip}/32`, 'dev', 'lo']);
        await nsExec(n.ns, 'ip', ['addr', 'add', `${a6.ip}/128`, 'dev', 'lo', 'nodad']);
      }
    } finally {
      await ds.close();
    }
    // One at a time, each listening before the next dials it: a refused first dial costs a 5 s connect retry.
    for (const n of this.nodes) await this.waitReady(this.startPetrel(n.name, 'kernel'), n.ctl);
    await this.startBastion();
  }

  /** Waits until a petrel's control socket answers (it opens after the BGP listener). */
  waitReady(proc: NsProcess, ctl: string, timeoutMs = 20_000): Promise<void> {
    return untilAnswering(proc, ctl, timeoutMs);
  }

  async down(): Promise<void> {
    const procs = [...this.nodes.map((n) => n.proc), this.bastion?.proc, ...this.extra].filter((p): p is NsProcess => p !== undefined);
    await Promise.all(procs.map((p) => p.kill()));
    await deleteNamespacesOf(this.prefix);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Calico resources: mesh on, AS 64512, an IPIP Always pool of /26 blocks and an IPv6 pool with
   * the default block size (122), three dual-stack nodes, the bastion as global peer per family.
   */
  private resources(): string {
    const docs = [
      `kind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: Info }`,
      `kind: IPPool\nmetadata: { name: e2e-pool }\nspec: { cidr: ${this.pool}, blockSize: 26, ipipMode: Always, vxlanMode: Never, natOutgoing: true, nodeSelector: all() }`,
      `kind: IPPool\nmetadata: { name: e2e-pool6 }\nspec: { cidr: '${this.pool6}', ipipMode: Never, vxlanMode: Never, nodeSelector: all() }`,
      ...this.nodes.map((n) => `kind: Node\nmetadata: { name: ${n.name} }\nspec: { bgp: { ipv4Address: ${n.ip}/24, ipv6Address: '${n.ip6}/64' } }`),
      `kind: BGPPeer\nmetadata: { name: bastion }\nspec: { peerIP: ${this.bastion.ip}, asNumber: 64512 }`,
      `kind: BGPPeer\nmetadata: { name: bastion-v6 }\nspec: { peerIP: '${this.bastion.ip6}', asNumber: 64512 }`,
    ];
    return calicoDocuments(docs);
  }

  /** petrelctl against this lab's datastore (and, with --ctl-socket in args, a daemon's socket). */
  async petrelctl(args: readonly string[], ns?: string): Promise<string> {
    const argv = [process.execPath, PETRELCTL, ...args];
    return new Promise((resolvePromise, reject) => {
      const child = ns ? spawn('ip', ['netns', 'exec', ns, ...argv], { env: { ...process.env, PETREL_DATASTORE: this.datastore } }) : spawn(argv[0]!, argv.slice(1), { env: { ...process.env, PETREL_DATASTORE: this.datastore } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`petrelctl ${args.join(' ')} exited ${String(code)}: ${err}${out}`))));
    });
  }

  adopt(proc: NsProcess): NsProcess {
    this.extra.push(proc);
    return proc;
  }

  /** Removes a node's block of a family from the datastore: its BlockAffinity and its IPAMBlock (with the address in it). */
  async removeBlock(name: string, family: 4 | 6 = 4): Promise<void> {
    const n = this.node(name);
    const block = family === 4 ? n.block : n.block6;
    await this.petrelctl(['delete', 'blockaffinity', blockAffinityName(n.name, block)]);
    await this.petrelctl(['delete', 'ipamblock', blockName(block)]);
  }

  birdConfig(): string {
    const lines = [
      'log stderr all;',
      `router id ${this.bastion.ip};`,
      'protocol device { scan time 2; }',
      // Learned routes go to this namespace's kernel (proto bird), as on a bastion router.
      birdKernelProtocol('ipv4'),
      birdKernelProtocol('ipv6'),
    ];
    // One session per node and family: <node> over IPv4, <node>_v6 over IPv6 (Calico's bird6 shape).
    for (const n of this.nodes) {
      lines.push(birdBgpProtocol({ name: n.name, local: this.bastion.ip, neighbor: n.ip, channel: 'ipv4' }));
      lines.push(birdBgpProtocol({ name: `${n.name}_v6`, local: this.bastion.ip6, neighbor: n.ip6, channel: 'ipv6' }));
    }
    return `${lines.join('\n')}\n`;
  }

  async startBastion(): Promise<void> {
    const conf = join(this.dir, 'bastion.conf');
    await writeFile(conf, this.birdConfig());
    const proc = new NsProcess('bird (bastion)', this.bastion.ns, ['bird', '-f', '-c', conf, '-s', this.bastion.ctl]);
    this.bastion.proc = proc;
    await untilAnswering(proc, this.bastion.ctl, 15_000, 'the bastion BIRD to answer');
  }

  async stopBastion(): Promise<void> {
    this.bastion.proc?.signal('SIGTERM');
    await this.bastion.proc?.waitExit();
  }

  /** Starts `petrel` for a node in its namespace (mock runs get the dump preload). */
  startPetrel(name: string, sink: 'kernel' | 'mock'): NsProcess {
    const n = this.node(name);
    const pre = sink === 'mock' ? ['--import', MOCK_DUMP_HOOK] : [];
    const proc = new NsProcess(
      `petrel ${n.name} (${sink} sink)`,
      n.ns,
      // No --listen: the node listens on every address, IPv4 and IPv6, as calico-node's two BIRDs do.
      [process.execPath, ...pre, MAIN, '--node', n.name, '--ctl-socket', n.ctl, '--ctl-socket6', n.ctl6, '--sink', sink, '--log-level', 'info'],
      { PETREL_DATASTORE: this.datastore, PT_E2E_MOCK_DUMP: n.mockDump },
    );
    n.proc = proc;
    n.sink = sink;
    return proc;
  }

  /** SIGTERM, then the exit code. */
  async stopPetrel(name: string): Promise<number | null> {
    const n = this.node(name);
    n.proc?.signal('SIGTERM');
    const e = await n.proc!.waitExit();
    return e.code;
  }

  /** The proto-bird routes of a namespace, as `ip -json route show` prints them (IPv4). */
  birdRoutes(ns: string): Promise<KernelRoute[]> {
    return birdKernelRoutes(ns, 4);
  }

  /** The proto-bird routes of a namespace's IPv6 table (`ip -json -6 route show`). */
  birdRoutes6(ns: string): Promise<KernelRoute[]> {
    return birdKernelRoutes(ns, 6);
  }

  /** A node's table as its kernel sink reads it back (the sink's own parser). */
  kernelTable(name: string): Promise<SinkRoute[]> {
    return new KernelSink({ commandPrefix: ['ip', 'netns', 'exec', this.node(name).ns] }).dump().then(sortRoutes);
  }

  /** A mock-sink node's table, from the JSON the preload writes; undefined before the first write. */
  async mockTable(name: string): Promise<SinkRoute[] | undefined> {
    try {
      return sortRoutes(JSON.parse(await readFile(this.node(name).mockDump, 'utf8')) as SinkRoute[]);
    } catch {
      return undefined;
    }
  }

  /** Packets received by `ping -c 3 -W 1` from a namespace (ping -6 for an IPv6 address). */
  ping(fromNs: string, to: string): Promise<number> {
    return pingReceived(fromNs, to);
  }

  /** The end of every process's output, for failure messages. */
  diagnostics(): string {
    return [...this.nodes.map((n) => n.proc), this.bastion?.proc].map((p) => p?.tail() ?? '').join('\n');
  }

  /** waitFor that appends the processes' output when it times out. */
  until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
    return untilOrDiagnose(what, probe, timeoutMs, () => this.diagnostics());
  }
}

export function sortRoutes(rs: SinkRoute[]): SinkRoute[] {
  return [...rs].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
