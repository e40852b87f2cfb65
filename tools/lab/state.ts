/**
 * The lab's record of what it created. `lab up` writes each namespace and process here before
 * (namespaces) or right after (processes) creating it, so `lab down` removes exactly what the lab
 * made, even after a crash halfway through `up`.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Topology } from './topology.js';
import type { ProcessRecord } from './processes.js';

export interface WorkloadRecord {
  readonly host: string;
  readonly pool: string;
  /** Its address (IPv4, or IPv6 for a workload of an IPv6 pool). */
  readonly address: string;
  /** A dual-stack workload's IPv6 address, beside the IPv4 one (as a Calico pod has both). */
  readonly address6?: string;
  /** The workload's own namespace and the node-side interface of its veth. */
  readonly namespace: string;
  readonly nodeInterface: string;
}

export interface LabState {
  readonly version: 1;
  readonly name: string;
  readonly dir: string;
  /** Hash of the normalised topology: `up` on a running lab with another topology is refused. */
  readonly topologyHash: string;
  readonly topology: Topology;
  readonly datastoreKind: 'file' | 'etcd';
  /** What PETREL_DATASTORE is for petrel and petrelctl inside the lab. */
  datastore: string;
  /** How the IPIP device of petrel hosts is provided: the kernel's tunl0 or a veth stand-in. */
  tunnel?: 'ipip' | 'veth';
  readonly namespaces: string[];
  readonly processes: ProcessRecord[];
  readonly workloads: WorkloadRecord[];
}

/** Where labs keep state, configs, sockets and logs: $PETREL_LAB_DIR or /run/petrel-lab. */
export const labRoot = (): string => process.env.PETREL_LAB_DIR ?? '/run/petrel-lab';
export const labDir = (name: string): string => join(labRoot(), name);
const statePath = (name: string): string => join(labDir(name), 'state.json');

export async function readState(name: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(name), 'utf8')) as LabState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

let writes: Promise<void> = Promise.resolve();

/**
 * Writes atomically (temp file + rename) so a crash never leaves half a state file. Writes are
 * queued: each one serialises the state as it is when its turn comes, so the last write wins
 * with the newest content even when hosts are set up concurrently.
 */
export function writeState(state: LabState): Promise<void> {
  const next = writes.then(async () => {
    await mkdir(state.dir, { recursive: true });
    const tmp = `${statePath(state.name)}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
    await rename(tmp, statePath(state.name));
  });
  writes = next.catch(() => undefined);
  return next;
}

export async function removeLabDir(name: string): Promise<void> {
  await rm(labDir(name), { recursive: true, force: true });
}
