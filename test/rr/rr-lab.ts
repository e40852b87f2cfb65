/**
 * A route-reflector cluster in network namespaces: two reflectors (routeReflectorClusterID, label
 * route-reflector: 'true') and six dual-stack clients on one bridge, nodeToNodeMeshEnabled false and one
 * BGPPeer `nodeSelector: all()` + `peerSelector: route-reflector == 'true'`, as Calico's docs set it
 * up. Each node runs a real `dist/daemon/main.js` with the kernel sink and holds one /26 block and
 * one /122 block, so IPv4 and IPv6 sessions (one per family, as Calico renders them) both reflect.
 *
 * Namespaces are `pt-rr-<pid>-*`; `down()` kills what we started and removes them.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore } from '../../config/index.js';
import { addBridge, addNamespace, attachToBridge, nsExec, run } from '../../tools/lab/netns.js';
import { MAIN } from '../support/dist-paths.js';
import { NsProcess } from '../support/ns-process.js';
import { untilAnswering } from '../support/control-socket-ready.js';
import { deleteNamespacesOf } from '../support/lab-namespaces.js';
import { calicoDocuments } from '../support/calico-yaml.js';
import { kernelRoutes } from '../support/kernel-routes.js';
import { untilOrDiagnose } from '../support/lab-lifecycle.js';

export const CLUSTER_ID = '244.0.0.1';

export interface RrNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly ip6: string;
  readonly ctl: string;
  /** The IPv6 control socket (each node its own: the default bird6.ctl beside ctl would be shared). */
  readonly ctl6: string;
  readonly reflector: boolean;
  block: string;
  block6: string;
  proc?: NsProcess;
}

export class RrLab {
  readonly prefix = `pt-rr-${process.pid}`;
  readonly hub = `${this.prefix}-hub`;
  readonly nodes: RrNode[] = [];
  dir = '';

  constructor(
    private readonly net = '10.79.1',
    private readonly pool = '10.80.0.0/22',
    private readonly net6 = 'fd79::',
    private readonly pool6 = 'fd80::/112',
  ) {}

  get reflectors(): RrNode[] {
    return this.nodes.filter((n) => n.reflector);
  }

  get clients(): RrNode[] {
    return this.nodes.filter((n) => !n.reflector);
  }

  node(name: string): RrNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async up(): Promise<void> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
    this.dir = await mkdtemp(join(tmpdir(), 'pt-rr-'));
    await addBridge(this.hub, 'br0');
    // Reflectors take the smaller addresses: the greater address dials, so clients dial them.
    for (let i = 0; i < 8; i++) {
      const reflector = i < 2;
      const name = reflector ? `rr${i + 1}` : `client${i - 1}`;
      const ip6 = `${this.net6}${11 + i}`;
      this.nodes.push({ name, ns: `${this.prefix}-${name}`, ip: `${this.net}.${11 + i}`, ip6, ctl: join(this.dir, `${name}.ctl`), ctl6: join(this.dir, `${name}.ctl6`), reflector, block: '', block6: '' });
    }
    for (const n of this.nodes) {
      await addNamespace(n.ns);
      await attachToBridge(this.hub, 'br0', n.ns, 'eth0', `${n.ip}/24`);
      await nsExec(n.ns, 'ip', ['addr', 'add', `${n.ip6}/64`, 'dev', 'eth0', 'nodad']);
    }
    await writeFile(join(this.dir, 'cluster.yaml'), this.resources());
    const ds = openDatastore(this.datastore);
    try {
      for (const n of this.nodes) {
        n.block = (await ds.allocate({ node: n.name, family: 4 })).block;
        n.block6 = (await ds.allocate({ node: n.name, family: 6 })).block;
      }
    } finally {
      await ds.close();
    }
    // Listeners first (reflectors), so the first dial of each client finds someone listening.
    for (const n of this.reflectors) await this.waitReady(this.start(n.name));
    await Promise.all(this.clients.map((n) => this.waitReady(this.start(n.name))));
  }

  get datastore(): string {
    return `file:${join(this.dir, 'cluster.yaml')}`;
  }

  private resources(): string {
    const docs = [
      `kind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64512, nodeToNodeMeshEnabled: false, logSeverityScreen: Info }`,
      `kind: IPPool\nmetadata: { name: rr-pool }\nspec: { cidr: ${this.pool}, blockSize: 26, ipipMode: Never, vxlanMode: Never, nodeSelector: all() }`,
      `kind: IPPool\nmetadata: { name: rr-pool6 }\nspec: { cidr: '${this.pool6}', blockSize: 122, nodeSelector: all() }`,
      ...this.nodes.map((n) =>
        n.reflector
          ? `kind: Node\nmetadata: { name: ${n.name}, labels: { route-reflector: 'true' } }\nspec: { bgp: { ipv4Address: ${n.ip}/24, ipv6Address: '${n.ip6}/64', routeReflectorClusterID: ${CLUSTER_ID} } }`
          : `kind: Node\nmetadata: { name: ${n.name} }\nspec: { bgp: { ipv4Address: ${n.ip}/24, ipv6Address: '${n.ip6}/64' } }`,
      ),
      `kind: BGPPeer\nmetadata: { name: peer-with-route-reflectors }\nspec: { nodeSelector: all(), peerSelector: route-reflector == 'true' }`,
    ];
    return calicoDocuments(docs);
  }

  start(name: string): NsProcess {
    const n = this.node(name);
    n.proc = new NsProcess(`petrel ${n.name}`, n.ns, [process.execPath, MAIN, '--node', n.name, '--ctl-socket', n.ctl, '--ctl-socket6', n.ctl6, '--sink', 'kernel', '--log-level', 'info'], {
      PETREL_DATASTORE: this.datastore,
    });
    return n.proc;
  }

  async waitReady(proc: NsProcess): Promise<void> {
    const n = this.nodes.find((x) => x.proc === proc)!;
    await untilAnswering(proc, n.ctl, 20_000, `${proc.what} to answer on its control socket`);
  }

  async stop(name: string): Promise<void> {
    const n = this.node(name);
    n.proc?.signal('SIGTERM');
    await n.proc?.waitExit();
  }

  /** The node's proto-bird kernel routes with a gateway (IPv4 and IPv6) as prefix → gateway. */
  async table(name: string): Promise<Map<string, string>> {
    const ns = this.node(name).ns;
    const rs = [...(await kernelRoutes(ns, 4)), ...(await kernelRoutes(ns, 6))];
    return new Map(rs.filter((r) => r.protocol === 'bird' && r.gateway).map((r) => [r.dst, r.gateway as string]));
  }

  /** What every other running node's blocks should look like in `name`'s table: block → node address, per family. */
  expected(name: string, skip: readonly string[] = []): Map<string, string> {
    const others = this.nodes.filter((n) => n.name !== name && !skip.includes(n.name));
    return new Map([...others.map((n): [string, string] => [n.block, n.ip]), ...others.map((n): [string, string] => [n.block6, n.ip6])]);
  }

  birdc(name: string, ...cmd: string[]): Promise<string> {
    return run('birdc', ['-s', this.node(name).ctl, ...cmd]);
  }

  /** birdc on the node's IPv6 control socket. */
  birdc6(name: string, ...cmd: string[]): Promise<string> {
    return run('birdc', ['-s', this.node(name).ctl6, ...cmd]);
  }

  diagnostics(): string {
    return this.nodes.map((n) => n.proc?.tail(8) ?? '').join('\n');
  }

  until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
    return untilOrDiagnose(what, probe, timeoutMs, () => this.diagnostics());
  }

  async down(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc?.kill()));
    await deleteNamespacesOf(this.prefix);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
