/**
 * What every seed scenario needs: a lab of its own (namespaces pt-lab-<pid><tag>-*, state in a
 * temporary PETREL_LAB_DIR), petrelctl against the lab's datastore, a host's node status tables
 * (IPv4 and, on a dual-stack node, IPv6), its kernel tables, and teardown that removes everything
 * even when the test failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteNamespace, listNamespaces, nsExec, routes, run, waitFor, NetnsError } from '../../tools/lab/netns.js';
import { hostNamespace, parseTopology } from '../../tools/lab/topology.js';
import { addWorkload, ctlSocket6Path, ctlSocketPath, labDown, labPetrelctl, labUp } from '../../tools/lab/lab.js';
import { labWait } from '../../tools/lab/converge.js';
import { petrelctlJs } from '../../tools/lab/paths.js';
import type { LabState, WorkloadRecord } from '../../tools/lab/state.js';

export interface StatusRow {
  readonly peerAddress: string;
  readonly peerType: string;
  readonly state: string;
  readonly since: string;
  readonly info: string;
}

/** Rows of calicoctl's `IPv4 BGP status` (or `IPv6 BGP status`) box table (continuation lines of wrapped cells joined). */
export function parseNodeStatus(text: string, family: 4 | 6 = 4): StatusRow[] {
  const section = family === 4 ? (text.split('IPv4 BGP status')[1]?.split('IPv6 BGP status')[0] ?? '') : (text.split('IPv6 BGP status')[1] ?? '');
  const rows: StatusRow[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'PEER ADDRESS') continue;
    if (cells[0] === '' && rows.length > 0) {
      const prev = rows.pop()!;
      rows.push({ ...prev, info: `${prev.info} ${cells[4] ?? ''}`.trim() });
      continue;
    }
    rows.push({ peerAddress: cells[0] ?? '', peerType: cells[1] ?? '', state: cells[2] ?? '', since: cells[3] ?? '', info: cells[4] ?? '' });
  }
  return rows;
}

export interface KernelRoute {
  readonly dst: string;
  readonly type?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly flags?: readonly string[];
}

export class ScenarioLab {
  private root = '';
  st!: LabState;
  constructor(readonly name: string) {}

  async up(topologyYaml: string, opts: { datastore?: 'file' | 'etcd' } = {}): Promise<LabState> {
    this.root = await mkdtemp(join(tmpdir(), 'pt-lab-'));
    process.env.PETREL_LAB_DIR = this.root;
    this.st = await labUp(parseTopology(topologyYaml), { name: this.name, readyTimeoutMs: 45_000, ...opts });
    return this.st;
  }

  async down(): Promise<void> {
    if (this.root) process.env.PETREL_LAB_DIR = this.root;
    await labDown(this.name).catch(() => undefined);
    for (const ns of (await listNamespaces()).filter((n) => n.startsWith(`${this.name}-`))) await deleteNamespace(ns).catch(() => undefined);
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }

  ns(host: string): string {
    return hostNamespace(this.name, host);
  }

  ip(host: string): string {
    return this.st.topology.hosts.find((h) => h.name === host)!.ip;
  }

  /** A dual-stack host's IPv6 address. */
  ip6(host: string): string {
    const ip6 = this.st.topology.hosts.find((h) => h.name === host)!.ip6;
    if (ip6 === undefined) throw new Error(`${host} has no IPv6 address in this lab`);
    return ip6;
  }

  /** petrelctl against the lab's datastore; rejects with petrelctl's stderr on failure. */
  ctl(args: readonly string[]): Promise<string> {
    return labPetrelctl(this.st, args);
  }

  /** Applies YAML resources to the lab's datastore. */
  async apply(yamlText: string): Promise<string> {
    const file = join(this.root, `apply-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, yamlText);
    return this.ctl(['apply', '-f', file]);
  }

  /** `petrelctl node status` on a node: IPv4 rows, and IPv6 rows (from its own IPv6 socket) on a dual-stack node. */
  async nodeStatus(host: string): Promise<{ text: string; rows: StatusRow[]; rows6: StatusRow[] }> {
    const h = this.st.topology.hosts.find((x) => x.name === host);
    const v6 = h?.ip6 !== undefined ? ['--ctl-socket6', ctlSocket6Path(this.st, host)] : [];
    const text = await nsExec(this.ns(host), process.execPath, [petrelctlJs(), '--ctl-socket', ctlSocketPath(this.st, host), 'node', 'status', ...v6]);
    return { text, rows: parseNodeStatus(text), rows6: parseNodeStatus(text, 6) };
  }

  async routes(host: string): Promise<KernelRoute[]> {
    return (await routes(this.ns(host))) as unknown as KernelRoute[];
  }

  async birdRoutes(host: string): Promise<KernelRoute[]> {
    return (await this.routes(host)).filter((r) => r.protocol === 'bird');
  }

  /** The host's IPv6 table (`ip -json -6 route show`). */
  async routes6(host: string): Promise<KernelRoute[]> {
    const out = await nsExec(this.ns(host), 'ip', ['-json', '-6', 'route', 'show']);
    return out.trim() ? (JSON.parse(out) as KernelRoute[]) : [];
  }

  async birdRoutes6(host: string): Promise<KernelRoute[]> {
    return (await this.routes6(host)).filter((r) => r.protocol === 'bird');
  }

  workload(host: string, pool?: string): Promise<WorkloadRecord> {
    return addWorkload(this.st, host, pool);
  }

  workloads(host: string): WorkloadRecord[] {
    return this.st.workloads.filter((w) => w.host === host);
  }

  wait(timeoutMs = 60_000): Promise<void> {
    return labWait(this.name, timeoutMs);
  }

  /** Bounded ping from a namespace (ping -c 3 -W 1, ping -6 for an IPv6 address); resolves to the packets received. */
  async ping(fromNs: string, to: string): Promise<number> {
    try {
      const family = to.includes(':') ? ['-6'] : [];
      const out = await nsExec(fromNs, 'ping', [...family, '-c', '3', '-W', '1', '-i', '0.2', to], { timeoutMs: 10_000 });
      return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    } catch (e) {
      if (e instanceof NetnsError) return 0;
      throw e;
    }
  }
}

export { run, waitFor };
