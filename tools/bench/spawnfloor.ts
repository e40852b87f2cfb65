/**
 * The process-start floor under the mesh cell (issue 10, cell 4): the cell's clock starts when the
 * harness begins spawning one speaker per namespace, and each speaker's connect delay runs from
 * its own process start, so the last start is part of the result. This script spawns M processes
 * exactly as the mesh cell does (`ip netns exec <ns> <program>`, one after another, M namespaces)
 * for three programs, and reports when the spawn loop ended and when the last process started:
 *
 *   - `bird`: BIRD 2 with a minimal config (what the cell starts for BIRD);
 *   - `node`: a bare `node -e` that starts, prints its start time and idles (no Petrel code at
 *     all: the least any Node daemon can cost);
 *   - `petrel`: the daemon itself, with a mesh datastore as in the cell (mock sink).
 *
 *   node dist/tools/bench/spawnfloor.js [--sizes 30] [--runs 3]     (root; `npm run bench -- spawnfloor`)
 *
 * Namespaces are named pt-floor-<pid>-<i> and removed at the end, whatever happened.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { addNamespace, deleteNamespace, nsExec, nsSpawn } from '../lab/netns.js';
import { monoMs } from './clock.js';
import { binNodeOptions, DAEMON_JS, petrelMeshResources } from './petrel.js';

type Program = 'bird' | 'node' | 'petrel';
const PROGRAMS: readonly Program[] = ['bird', 'node', 'petrel'];

export interface FloorRun {
  readonly program: Program;
  readonly m: number;
  /** When the harness's spawn loop returned, ms after it began. */
  readonly loopMs: number;
  /** The last process's own start (bare node and Petrel report it), ms after the loop began. */
  readonly lastStartMs: number | undefined;
}

/** A bare Node process: prints the wall-clock time of its own start, then idles until killed. */
const BARE_NODE = 'process.stdout.write(String(Date.now() - process.uptime() * 1000) + "\\n"); setInterval(() => {}, 1000)';

function spawnOne(program: Program, ns: string, i: number, dir: string, datastore: string, daemon: string): ChildProcess {
  const { NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;
  if (program === 'bird') {
    const conf = join(dir, `bird-${i}.conf`);
    writeFileSync(conf, `router id 10.${i}.0.1;\nprotocol device { }\n`);
    return nsSpawn(ns, 'bird', ['-f', '-c', conf, '-s', join(dir, `bird-${i}.ctl`), '-P', join(dir, `bird-${i}.pid`)]);
  }
  if (program === 'node') return nsSpawn(ns, process.execPath, [...binNodeOptions(daemon), '-e', BARE_NODE], { env });
  const args = [...binNodeOptions(daemon), daemon, '--node', `floor-${i}`, '--listen', `10.99.${i}.1:179`, '--ctl-socket', join(dir, `petrel-${i}.ctl`), '--sink', 'mock'];
  return nsSpawn(ns, process.execPath, args, { env: { ...env, PETREL_DATASTORE: `file:${datastore}` } });
}

/** The first line a process printed, as a number (bare node: its start time), or undefined. */
function firstNumber(child: ChildProcess): Promise<number | undefined> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(undefined), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        resolve(Number(line));
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

async function floorRun(program: Program, namespaces: readonly string[], dir: string, datastore: string, daemon: string): Promise<FloorRun> {
  const kids: ChildProcess[] = [];
  const wallStart = Date.now();
  const t0 = monoMs();
  try {
    for (const [i, ns] of namespaces.entries()) kids.push(spawnOne(program, ns, i, dir, datastore, daemon));
    const loopMs = monoMs() - t0;
    // Bare node prints its own start; BIRD and Petrel are timed by the loop only.
    let lastStartMs: number | undefined;
    if (program === 'node') {
      const starts = await Promise.all(kids.map(firstNumber));
      if (starts.every((s) => s !== undefined)) lastStartMs = Math.max(...starts.map((s) => s! - wallStart));
    }
    return { program, m: namespaces.length, loopMs, lastStartMs };
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    await Promise.all(kids.map((k) => new Promise<void>((r) => (k.exitCode !== null || k.signalCode !== null ? r() : k.once('exit', () => r())))));
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs the spawn loop `runs` times for each size and program (`daemon`: Petrel's bin); namespaces are removed whatever happens. */
export async function spawnFloor(sizes: readonly number[], runs: number, log: (line: string) => void = () => undefined, daemon = DAEMON_JS): Promise<FloorRun[]> {
  const maxM = Math.max(...sizes);
  const namespaces = Array.from({ length: maxM }, (_, i) => `pt-floor-${process.pid}-${i}`);
  const dir = mkdtempSync(join(tmpdir(), 'pt-bench-floor-'));
  const datastore = join(dir, 'datastore.yaml');
  writeFileSync(datastore, petrelMeshResources(64512, '10.98.0.0/16', 16, namespaces.map((_, i) => ({ nodeName: `floor-${i}`, address: `10.99.${i}.1`, block: `10.98.${i}.0/26` }))));
  const results: FloorRun[] = [];
  try {
    for (const [i, ns] of namespaces.entries()) {
      await addNamespace(ns);
      // Petrel's listen address, as the mesh cell's nodes have theirs.
      await nsExec(ns, 'ip', ['addr', 'add', `10.99.${i}.1/32`, 'dev', 'lo']);
    }
    for (const m of sizes) {
      for (let r = 0; r < runs; r++) {
        for (const program of PROGRAMS) {
          const res = await floorRun(program, namespaces.slice(0, m), dir, datastore, daemon);
          results.push(res);
          log(`  M=${m} ${program} run ${r + 1}: spawn loop ${res.loopMs.toFixed(0)} ms${res.lastStartMs !== undefined ? `, last process start ${res.lastStartMs.toFixed(0)} ms` : ''}`);
        }
      }
    }
  } finally {
    for (const ns of namespaces) await deleteNamespace(ns).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
  };
  const sizes = opt('--sizes', '30').split(',').map(Number);
  const runs = Number(opt('--runs', '3'));
  console.log(`spawn floor: M = ${sizes.join(', ')}, ${runs} runs each, load average ${loadavg()[0]!.toFixed(2)}`);
  const results = await spawnFloor(sizes, runs, (l) => console.log(l));
  console.log('\n| M | program | spawn loop, median (min–max) | last process start, median |\n| --- | --- | --- | --- |');
  for (const m of sizes) {
    for (const program of PROGRAMS) {
      const rs = results.filter((r) => r.m === m && r.program === program);
      const loops = rs.map((r) => r.loopMs);
      const starts = rs.flatMap((r) => (r.lastStartMs === undefined ? [] : [r.lastStartMs]));
      console.log(`| ${m} | ${program} | ${median(loops).toFixed(0)} ms (${Math.min(...loops).toFixed(0)}–${Math.max(...loops).toFixed(0)}) | ${starts.length ? `${median(starts).toFixed(0)} ms` : '—'} |`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
