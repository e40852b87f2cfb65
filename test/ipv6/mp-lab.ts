/**
 * A small dual-stack lab for multiprotocol sessions (issue 9): hosts on one bridge, each with an
 * IPv4 /24 and an IPv6 /64 on eth0, running Petrel daemons (kernel sink) or a BIRD 2 router, and
 * a file datastore. Namespaces are `pt-v6mp-<pid><tag>-*`; `down()` kills what we started (by
 * handle) and removes them.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore, type Resource } from '../../config/index.js';
import { addBridge, addNamespace, attachToBridge, deleteNamespace, listNamespaces, nsExec, run, waitFor } from '../../tools/lab/netns.js';
import { MAIN, NsProcess, PETRELCTL } from '../interop/mesh-fixture.js';
import { kernelRoutes, type KernelRoute } from '../support/kernel-routes.js';

export interface MpHost {
  readonly name: string;
  readonly v4: string;
  readonly v6: string;
  readonly ns: string;
  readonly ctl: string;
  readonly ctl6: string;
  proc?: NsProcess;
}


export class MpLab {
  readonly prefix: string;
  readonly hosts: MpHost[] = [];
  dir = '';

  constructor(tag: string) {
    this.prefix = `pt-v6mp-${process.pid}${tag}`;
  }

  get hub(): string {
    return `${this.prefix}-hub`;
  }

  get datastore(): string {
    return `file:${join(this.dir, 'cluster.yaml')}`;
  }

  /** Creates the bridge and a namespace per host; `yaml` is the initial cluster file. */
  async up(hosts: readonly { name: string; v4: string; v6: string }[], yaml: string): Promise<void> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
    this.dir = await mkdtemp(join(tmpdir(), 'pt-v6mp-'));
    await addBridge(this.hub, 'br0');
    for (const h of hosts) {
      const host: MpHost = { ...h, ns: `${this.prefix}-${h.name}`, ctl: join(this.dir, `${h.name}.ctl`), ctl6: join(this.dir, `${h.name}6.ctl`) };
      await addNamespace(host.ns);
      await attachToBridge(this.hub, 'br0', host.ns, 'eth0', `${h.v4}/24`);
      await nsExec(host.ns, 'ip', ['addr', 'add', `${h.v6}/64`, 'dev', 'eth0', 'nodad']);
      this.hosts.push(host);
    }
    await writeFile(join(this.dir, 'cluster.yaml'), yaml);
  }

  host(name: string): MpHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Claims a block of `family` for `node` in the datastore (as calico-ipam would). */
  async allocate(node: string, family: 4 | 6): Promise<string> {
    const ds = openDatastore(this.datastore);
    try {
      return (await ds.allocate({ node, family })).block;
    } finally {
      await ds.close();
    }
  }

  /** Applies resources to the running datastore (daemons see the change through their watch). */
  async apply(resources: readonly Resource[]): Promise<void> {
    const ds = openDatastore(this.datastore);
    try {
      await ds.apply(resources);
    } finally {
      await ds.close();
    }
  }

  /** Starts Petrel for host `name` (node of the same name), control sockets ctl / ctl6, and waits for bird6.ctl. */
  async startPetrel(name: string, extra: readonly string[] = []): Promise<NsProcess> {
    const h = this.host(name);
    const p = new NsProcess(`petrel ${name}`, h.ns, [process.execPath, MAIN, '--node', name, '--ctl-socket', h.ctl, '--ctl-socket6', h.ctl6, '--sink', 'kernel', '--log-level', 'info', ...extra], {
      PETREL_DATASTORE: this.datastore,
    });
    h.proc = p;
    await waitFor(`petrel ${name} to answer on its IPv6 socket`, async () => {
      if (p.exit) throw new Error(p.tail());
      return run('birdc', ['-s', h.ctl6, 'show', 'status']).then(() => true);
    }, 20_000);
    return p;
  }

  /** Starts BIRD 2 on host `name` with `conf`; its socket is the host's `ctl`. */
  async startBird(name: string, conf: string): Promise<NsProcess> {
    const h = this.host(name);
    const file = join(this.dir, `${name}.conf`);
    await writeFile(file, conf);
    const p = new NsProcess(`bird ${name}`, h.ns, ['bird', '-f', '-c', file, '-s', h.ctl]);
    h.proc = p;
    await waitFor(`BIRD ${name} to answer`, async () => {
      if (p.exit) throw new Error(p.tail());
      return run('birdc', ['-s', h.ctl, 'show', 'status']).then(() => true);
    }, 15_000);
    return p;
  }

  birdc(socket: string, ...args: string[]): Promise<string> {
    return run('birdc', ['-s', socket, ...args]);
  }

  petrelctl(...args: string[]): Promise<string> {
    return run(process.execPath, [PETRELCTL, ...args]);
  }

  routes(name: string, family: 4 | 6): Promise<KernelRoute[]> {
    return kernelRoutes(this.host(name).ns, family);
  }

  /** TCP connections to or from port 179 in host `name`'s namespace, as `local peer` pairs. */
  async bgpConnections(name: string): Promise<string[]> {
    const out = await nsExec(this.host(name).ns, 'ss', ['-Htn', 'state', 'established', '( sport = :179 or dport = :179 )']);
    return out.split('\n').map((l) => l.trim().split(/\s+/).slice(-2).join(' ')).filter((l) => l.length > 1);
  }

  /** Listening TCP sockets on port 179 in host `name`'s namespace (local address:port). */
  async bgpListeners(name: string): Promise<string[]> {
    const out = await nsExec(this.host(name).ns, 'ss', ['-Hltn', '( sport = :179 )']);
    return out.split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '').filter((l) => l.length > 0).sort();
  }

  diagnostics(): string {
    return this.hosts.map((h) => h.proc?.tail(20)).filter(Boolean).join('\n');
  }

  async until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
    try {
      return await waitFor(what, probe, timeoutMs, 100);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.diagnostics()}`);
    }
  }

  async down(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.proc?.kill()));
    for (const ns of (await listNamespaces()).filter((x) => x.startsWith(`${this.prefix}-`))) await deleteNamespace(ns).catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** One Calico v3 YAML document. */
export function doc(kind: string, name: string, spec: string): string {
  return `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata: { name: '${name}' }\nspec: ${spec}\n`;
}

/**
 * A BIRD 2 router with one `protocol bgp node` carrying an ipv4 and an ipv6 channel over the
 * `transport` family's addresses; the channel of the other family announces the router's own
 * address of that family as next hop (RFC 4760). It exports one static blackhole per family.
 */
export function multiprotocolRouterConfig(o: {
  readonly router: { readonly v4: string; readonly v6: string };
  readonly node: { readonly v4: string; readonly v6: string };
  readonly routes: { readonly v4: string; readonly v6: string };
  readonly transport: 4 | 6;
  readonly debug?: boolean;
}): string {
  const at = (h: { readonly v4: string; readonly v6: string }) => (o.transport === 4 ? h.v4 : h.v6);
  const nextHop = (family: 4 | 6) => (family === o.transport ? '' : ` next hop address ${family === 4 ? o.router.v4 : o.router.v6};`);
  return [
    'log stderr all;',
    `router id ${o.router.v4};`,
    'protocol device { scan time 2; }',
    'protocol kernel { learn off; scan time 2; ipv4 { import none; export where source = RTS_BGP; }; }',
    'protocol kernel { learn off; scan time 2; ipv6 { import none; export where source = RTS_BGP; }; }',
    `protocol static { ipv4; route ${o.routes.v4} blackhole; }`,
    `protocol static { ipv6; route ${o.routes.v6} blackhole; }`,
    'protocol bgp node {',
    `  local ${at(o.router)} as 64512;`,
    `  neighbor ${at(o.node)} as 64512;`,
    '  direct;',
    ...(o.debug ? ['  debug { states, packets };'] : []),
    '  connect delay time 1;',
    '  connect retry time 2;',
    '  error wait time 1, 3;',
    `  ipv4 { import all; export where source = RTS_STATIC;${nextHop(4)} };`,
    `  ipv6 { import all; export where source = RTS_STATIC;${nextHop(6)} };`,
    '}',
  ].join('\n') + '\n';
}
