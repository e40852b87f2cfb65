/**
 * Petrel as the speaker under test: Calico v3 resources for each scenario (the same peers and blocks
 * the BIRD configs get), and a runner for the daemon (`node dist/petrel.cjs`, the `petrel` bin) inside a namespace.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsSpawn } from '../lab/netns.js';
import { NotReadyError } from './harness.js';
import { SpeakerProcess, type HubSpeakerConfig } from './speaker.js';

/** The daemon's start path (scripts/bundle.mjs: the bundle run from its code cache), dist/petrel.cjs beside this file's dist/tools/bench/. */
export const DAEMON_JS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'petrel.cjs');

/**
 * The Node options the bin's shebang gives (`#!/usr/bin/env -S node <options>`): the daemon runs
 * with them as the `petrel` bin does, under the harness' own Node binary.
 */
export function binNodeOptions(bin = DAEMON_JS): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node\s+(.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

export function petrelBuilt(): boolean {
  return existsSync(DAEMON_JS);
}

type Resource = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

/**
 * Multi-document YAML with one JSON (flow-style) document per resource: valid YAML, and far cheaper
 * to produce than block style when the churn cell rewrites the file ten times a second.
 */
const yamlDocs = (docs: readonly Resource[]) => `${docs.map((d) => JSON.stringify(d)).join('\n---\n')}\n`;
const res = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });

/** Global BGPPeers for every neighbour, no mesh; the node address as BIRD has it. */
export function petrelHubResources(c: HubSpeakerConfig, extraPools: readonly string[] = []): string {
  const docs: Resource[] = [
    res('BGPConfiguration', 'default', { asNumber: c.asn, nodeToNodeMeshEnabled: false, logSeverityScreen: 'Warning' }),
    res('Node', c.nodeName, { bgp: { ipv4Address: `${c.address}/${c.addressLen}` } }),
    ...c.neighbors.map((n) => res('BGPPeer', `bench-${n.name.toLowerCase().replace(/_/g, '-')}`, { peerIP: n.address, asNumber: n.asn })),
    ...extraPools.map((cidr, i) => res('IPPool', `bench-pool-${i}`, { cidr, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' })),
  ];
  return yamlDocs(docs);
}

export interface PetrelMeshNode {
  readonly nodeName: string;
  readonly address: string;
  readonly block: string;
  readonly extraBlocks?: readonly string[];
}

/** The whole mesh cluster in one datastore file: mesh on, one pool, one confirmed block per node. */
export function petrelMeshResources(asn: number, pool: string, addressLen: number, nodes: readonly PetrelMeshNode[]): string {
  const docs: Resource[] = [
    res('BGPConfiguration', 'default', { asNumber: asn, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Warning' }),
    res('IPPool', 'bench-pool', { cidr: pool, blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }),
    ...nodes.map((n) => res('Node', n.nodeName, { bgp: { ipv4Address: `${n.address}/${addressLen}` } })),
    ...nodes.flatMap((n) => [n.block, ...(n.extraBlocks ?? [])].map((b) => res('BlockAffinity', `${n.nodeName}-${b.replace(/[./]/g, '-')}`, { state: 'confirmed', node: n.nodeName, cidr: b }))),
  ];
  return yamlDocs(docs);
}

/** Spawns Petrel for `node` in `ns` without waiting; the datastore file is written if absent; files live in `dir`. */
export function spawnPetrel(ns: string, dir: string, node: string, listen: string, datastoreYaml: string, sink: 'kernel' | 'mock' | 'none', datastoreFile = join(dir, 'datastore.yaml')): SpeakerProcess {
  if (!petrelBuilt()) throw new NotReadyError(`daemon not ready: ${DAEMON_JS} missing (run npm run build once the daemon has landed)`);
  if (!existsSync(datastoreFile)) writeFileSync(datastoreFile, datastoreYaml);
  const ctl = join(dir, `${node}.ctl`);
  // `npm run bench -- <cell> --profile` sets this: each daemon writes a V8 CPU profile on exit.
  const profileDir = process.env.PETREL_BENCH_PROFILE_DIR;
  const nodeArgs = [...binNodeOptions(), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  // NODE_EXTRA_CA_CERTS (set on some build machines for an HTTPS proxy) makes every Node process
  // parse the whole CA store before any JavaScript runs: ~30 ms of CPU per start, a third of a
  // daemon's start-up, paid by no daemon of a calico-node container. The daemon never uses it.
  const { NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;
  const child = nsSpawn(ns, process.execPath, [...nodeArgs, DAEMON_JS, '--node', node, '--listen', `${listen}:179`, '--ctl-socket', ctl, '--sink', sink], {
    env: { ...env, PETREL_DATASTORE: `file:${datastoreFile}` },
  });
  return new SpeakerProcess('petrel', ns, ctl, child, dir);
}

/** Starts Petrel and waits for its control socket; a daemon that cannot start is "not ready". */
export async function startPetrel(ns: string, dir: string, node: string, listen: string, datastoreYaml: string, sink: 'kernel' | 'mock' | 'none', datastoreFile = join(dir, 'datastore.yaml')): Promise<SpeakerProcess> {
  const sp = spawnPetrel(ns, dir, node, listen, datastoreYaml, sink, datastoreFile);
  try {
    await sp.waitReady(60_000);
  } catch (e) {
    const died = !sp.running;
    await sp.stop();
    // A daemon that exits at start cannot run the cell; one that is only slow to start is a timeout.
    if (died) throw new NotReadyError(`daemon not ready: ${sp.stderr.trim().slice(-400)}`);
    throw e;
  }
  return sp;
}
