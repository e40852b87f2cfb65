/**
 * BIRD 2 as the reference speaker: configuration text for each benchmark scenario, and a runner
 * that starts `bird -f` inside a namespace with its own control socket.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsSpawn } from '../lab/netns.js';
import { SpeakerProcess, type HubSpeakerConfig } from './speaker.js';

const LOG_CLASSES = '{ warning, error, fatal, bug }';

/** A single speaker with explicit neighbours (ingest, propagate, kernel, ctl cells). */
export function birdHubConfig(c: HubSpeakerConfig, logPath: string): string {
  const kernel = c.kernel
    ? `protocol kernel {\n  learn off;\n  scan time 60;\n  ipv4 { import none; export all; };\n}\n`
    : '';
  const peers = c.neighbors
    .map(
      (n) => `protocol bgp ${n.name} {
  local ${c.address} as ${c.asn};
  neighbor ${n.address} as ${n.asn};
  direct;
  passive on;
  hold time 240;
  ipv4 { import all; export ${n.exportAll ? 'all' : 'none'}; };
}
`,
    )
    .join('');
  return `log "${logPath}" ${LOG_CLASSES};
router id ${c.routerId};
hostname "${c.nodeName}";
protocol device { scan time 60; }
${kernel}${peers}`;
}

export interface MeshNodeConfig {
  readonly nodeName: string;
  readonly address: string;
  readonly asn: number;
  /** The node's own block, originated as a blackhole static (Calico's bird_aggr.cfg). */
  readonly block: string;
  /** More affine blocks (the churn cell adds and removes these). */
  readonly extraBlocks?: readonly string[];
  /** Addresses of every other node in the mesh. */
  readonly meshPeers: readonly string[];
  /** Pool CIDR the export filter accepts (Calico's calico_export_to_bgp_peers). */
  readonly poolCidr: string;
}

/**
 * The configuration calico/node renders for one mesh node (translated to BIRD 2 channel syntax, as
 * in shared/fixtures/bird2-lab/calico-node.conf): static blackhole for the own block, export filter
 * on the pool, kernel programming with learn/persist/merge paths, Calico's template timers, and one
 * Mesh_<ip> protocol per other node, passive towards peers whose address string is greater (the
 * greater address dials, as Calico renders it).
 */
export function birdMeshConfig(c: MeshNodeConfig, logPath: string): string {
  const [poolNet, poolLen] = c.poolCidr.split('/');
  const peers = c.meshPeers
    .map(
      (ip) => `protocol bgp Mesh_${ip.replace(/\./g, '_')} from bgp_template {
  neighbor ${ip} as ${c.asn};
  source address ${c.address};
${ip > c.address ? '  passive on;\n' : ''}}
`,
    )
    .join('');
  return `log "${logPath}" ${LOG_CLASSES};
router id ${c.address};
hostname "${c.nodeName}";

protocol static {
  ipv4;
${[c.block, ...(c.extraBlocks ?? [])].map((b) => `  route ${b} blackhole;`).join('\n')}
}

filter calico_export_to_bgp_peers {
  if ( net ~ ${poolNet}/${poolLen} ) then accept;
  reject;
}

filter calico_kernel_programming {
  if ( source = RTS_DEVICE ) then reject;
  accept;
}

protocol kernel {
  learn;
  persist;
  scan time 2;
  merge paths on;
  graceful restart;
  ipv4 {
    import all;
    export filter calico_kernel_programming;
  };
}

protocol device {
  scan time 2;
}

protocol direct {
  ipv4;
  interface -"cali*", -"kube-ipvs*", "*";
}

template bgp bgp_template {
  description "Connection to BGP peer";
  local as ${c.asn};
  multihop;
  graceful restart;
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
  ipv4 {
    gateway recursive;
    import all;
    export filter calico_export_to_bgp_peers;
    add paths on;
  };
}

${peers}`;
}

/** Spawns BIRD in `ns` with `configText` without waiting; files (config, socket, pid, log) live in `dir`. */
export function spawnBird(ns: string, dir: string, configText: string): SpeakerProcess {
  const conf = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(conf, configText);
  const child = nsSpawn(ns, 'bird', ['-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')]);
  return new SpeakerProcess('bird', ns, ctl, child, dir);
}

/** Starts BIRD and waits for its control socket. */
export async function startBird(ns: string, dir: string, configText: string): Promise<SpeakerProcess> {
  const sp = spawnBird(ns, dir, configText);
  await sp.waitReady();
  return sp;
}
