/**
 * What every seed scenario needs: a lab of its own (namespaces pt-lab-<pid><tag>-*, state in a
 * temporary PETREL_LAB_DIR), petrelctl against the lab's datastore, a host's node status tables
 * (IPv4 and, on a dual-stack node, IPv6), its kernel tables, and teardown that removes everything
 * even when the test failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, run, waitFor } from '../../tools/lab/netns.js';
import { hostNamespace, parseTopology } from '../../tools/lab/topology.js';
import { addWorkload, ctlSocket6Path, ctlSocketPath, labDown, labPetrelctl, labUp } from '../../tools/lab/lab.js';
import { labWait } from '../../tools/lab/converge.js';
import { petrelctlJs } from '../../tools/lab/paths.js';
import type { LabState, WorkloadRecord } from '../../tools/lab/state.js';
import { birdKernelRoutes, kernelRoutes, type KernelRoute } from '../support/kernel-routes.js';
import { deleteNamespacesOf } from '../support/lab-namespaces.js';
import { parseNodeStatus, type StatusRow } from '../support/node-status-table.js';
import { pingReceived } from '../support/ping.js';

export { parseNodeStatus, type KernelRoute, type StatusRow };

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
    await deleteNamespacesOf(this.name);
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

  routes(host: string): Promise<KernelRoute[]> {
    return kernelRoutes(this.ns(host), 4);
  }

  birdRoutes(host: string): Promise<KernelRoute[]> {
    return birdKernelRoutes(this.ns(host), 4);
  }

  /** The host's IPv6 table (`ip -json -6 route show`). */
  routes6(host: string): Promise<KernelRoute[]> {
    return kernelRoutes(this.ns(host), 6);
  }

  birdRoutes6(host: string): Promise<KernelRoute[]> {
    return birdKernelRoutes(this.ns(host), 6);
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
  ping(fromNs: string, to: string): Promise<number> {
    return pingReceived(fromNs, to);
  }
}

export { run, waitFor };
