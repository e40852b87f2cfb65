/**
 * One dual-stack Petrel node and one BIRD 2 router on a veth, each in a namespace of its own:
 * IPv4 and IPv6 pools (the v6 one with Calico's default block size 122), the BIRD router as two
 * global BGPPeers (one per address family, as Calico renders bird.cfg and bird6.cfg), and BIRD
 * announcing routes of its own, one of them through a link-local gateway (BIRD then announces its
 * global address as next hop: a link-local address alone is never a usable BGP next hop toward a
 * global-address session).
 *
 * Namespaces are `pt-v6-<pid>-*`; `down()` kills what we started and removes them.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore } from '../../config/index.js';
import { MAIN } from '../support/dist-paths.js';
import { NsProcess } from '../support/ns-process.js';
import { untilAnswering } from '../support/control-socket-ready.js';
import { deleteNamespacesOf } from '../support/lab-namespaces.js';
import { calicoDocuments } from '../support/calico-yaml.js';
import { birdBgpProtocol, birdKernelProtocol } from '../support/bird-config.js';
import { addAddress6, linkDualStack } from '../support/dual-stack-link.js';
import { kernelRoutes, type KernelRoute } from '../support/kernel-routes.js';
import { untilOrDiagnose } from '../support/lab-lifecycle.js';

export const NODE = { name: 'dual1', v4: '10.81.0.11', v6: 'fd81::11' } as const;
export const BIRD = { v4: '10.81.0.1', v6: 'fd81::1', linkLocal: 'fe80::81:1' } as const;
/** What BIRD announces: a v4 and a v6 route with its own global address as next hop, and one v6 route via a link-local gateway. */
export const BIRD_ROUTES = { v4: '192.168.81.0/24', v6: 'fd99:81::/64', v6LinkLocal: 'fd99:82::/64' } as const;
export const POOL_V4 = '10.82.0.0/24';
export const POOL_V6 = 'fd82::/120';

export type { KernelRoute };

export class DualStackLab {
  readonly prefix: string;
  get nodeNs(): string {
    return `${this.prefix}-node`;
  }

  get birdNs(): string {
    return `${this.prefix}-bird`;
  }

  dir = '';
  block4 = '';
  block6 = '';
  petrel?: NsProcess;
  bird?: NsProcess;

  /** `v6Only`: the Node has no IPv4 address (and so no IPv4 session); `tag` keeps namespaces apart. */
  constructor(readonly v6Only = false, tag = v6Only ? 'o' : 'd') {
    this.prefix = `pt-v6-${process.pid}${tag}`;
  }

  get ctl(): string {
    return join(this.dir, 'bird.ctl');
  }

  get ctl6(): string {
    return join(this.dir, 'bird6.ctl');
  }

  get birdCtl(): string {
    return join(this.dir, 'router.ctl');
  }

  get datastore(): string {
    return `file:${join(this.dir, 'cluster.yaml')}`;
  }

  async up(): Promise<void> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
    this.dir = await mkdtemp(join(tmpdir(), 'pt-v6-'));
    await linkDualStack({ ns: this.nodeNs, v4: `${NODE.v4}/24`, v6: `${NODE.v6}/64` }, { ns: this.birdNs, v4: `${BIRD.v4}/24`, v6: `${BIRD.v6}/64` });
    // A fixed link-local on BIRD's side, so the link-local next hop is known to the test.
    await addAddress6(this.birdNs, `${BIRD.linkLocal}/64`);
    await writeFile(join(this.dir, 'cluster.yaml'), this.resources());
    const ds = openDatastore(this.datastore);
    try {
      if (!this.v6Only) this.block4 = (await ds.allocate({ node: NODE.name, family: 4 })).block;
      this.block6 = (await ds.allocate({ node: NODE.name, family: 6 })).block;
    } finally {
      await ds.close();
    }
    await this.startBird();
    this.petrel = new NsProcess('petrel', this.nodeNs, [process.execPath, MAIN, '--node', NODE.name, '--ctl-socket', this.ctl, '--sink', 'kernel', '--log-level', 'info'], {
      PETREL_DATASTORE: this.datastore,
    });
    await untilAnswering(this.petrel, this.ctl6, 20_000, 'petrel to answer on bird6.ctl');
  }

  private resources(): string {
    const docs = [
      `kind: BGPConfiguration\nmetadata: { name: default }\nspec: { asNumber: 64512, logSeverityScreen: Info }`,
      `kind: IPPool\nmetadata: { name: v4-pool }\nspec: { cidr: ${POOL_V4}, blockSize: 26, ipipMode: Never, vxlanMode: Never, nodeSelector: all() }`,
      // No blockSize: Calico's IPv6 default (122) applies.
      `kind: IPPool\nmetadata: { name: v6-pool }\nspec: { cidr: '${POOL_V6}', nodeSelector: all() }`,
      `kind: Node\nmetadata: { name: ${NODE.name} }\nspec: { bgp: { ${this.v6Only ? '' : `ipv4Address: ${NODE.v4}/24, `}ipv6Address: '${NODE.v6}/64' } }`,
      ...(this.v6Only ? [] : [`kind: BGPPeer\nmetadata: { name: router-v4 }\nspec: { peerIP: ${BIRD.v4}, asNumber: 64512 }`]),
      `kind: BGPPeer\nmetadata: { name: router-v6 }\nspec: { peerIP: '${BIRD.v6}', asNumber: 64512 }`,
    ];
    return calicoDocuments(docs);
  }

  birdConfig(): string {
    const bgp = (name: string, local: string, neighbor: string, channel: 'ipv4' | 'ipv6') => [birdBgpProtocol({ name, local, neighbor, channel, filters: 'import all; export where source = RTS_STATIC;' })];
    return [
      'log stderr all;',
      `router id ${BIRD.v4};`,
      'protocol device { scan time 2; }',
      'protocol direct { ipv6; interface "eth0"; }',
      birdKernelProtocol('ipv4'),
      birdKernelProtocol('ipv6'),
      `protocol static { ipv4; route ${BIRD_ROUTES.v4} blackhole; }`,
      `protocol static { ipv6; route ${BIRD_ROUTES.v6} blackhole; route ${BIRD_ROUTES.v6LinkLocal} via ${BIRD.linkLocal}%eth0; }`,
      ...(this.v6Only ? [] : bgp('node_v4', BIRD.v4, NODE.v4, 'ipv4')),
      ...bgp('node_v6', BIRD.v6, NODE.v6, 'ipv6'),
    ].join('\n') + '\n';
  }

  async startBird(): Promise<void> {
    const conf = join(this.dir, 'router.conf');
    await writeFile(conf, this.birdConfig());
    const proc = new NsProcess('bird', this.birdNs, ['bird', '-f', '-c', conf, '-s', this.birdCtl]);
    this.bird = proc;
    await untilAnswering(proc, this.birdCtl, 15_000, 'BIRD to answer');
  }

  /** `ip -json -<family> route show` in a namespace. */
  routes(ns: string, family: 4 | 6): Promise<KernelRoute[]> {
    return kernelRoutes(ns, family);
  }

  diagnostics(): string {
    return [this.petrel?.tail(20), this.bird?.tail(20)].filter(Boolean).join('\n');
  }

  until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
    return untilOrDiagnose(what, probe, timeoutMs, () => this.diagnostics());
  }

  async down(): Promise<void> {
    await Promise.all([this.petrel?.kill(), this.bird?.kill()]);
    await deleteNamespacesOf(this.prefix);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
