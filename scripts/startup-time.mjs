#!/usr/bin/env node
// Start-up time of the daemon: M daemons of one full-mesh cluster started at once on loopback
// (127.0.1.x, a high port, `--sink mock`), timed from spawn until each control socket greets.
// Prints per run: all-ready time, median per-daemon ready time, CPU ms and RSS per daemon.
//   node scripts/startup-time.mjs [--daemon dist/petrel.mjs | --snapshot-blob <blob>] [-M 10] [--runs 5] [--node-arg=--flag ...] [--keep-ca-env]
// Needs no root: nothing leaves loopback and no kernel table is touched.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const bundled = join(root, 'dist', 'petrel.mjs');
const daemon = resolve(opt('--daemon', existsSync(bundled) ? bundled : join(root, 'dist', 'daemon', 'main.js')));
const M = Number(opt('-M', '10'));
const runs = Number(opt('--runs', '3'));
const port = Number(opt('--port', String(17900 + (process.pid % 1000))));
const nodeArgs = args.filter((a) => a.startsWith('--node-arg=')).map((a) => a.slice('--node-arg='.length));
// --snapshot-blob <blob>: run a V8 start-up snapshot of the daemon instead of a script.
const blob = opt('--snapshot-blob', undefined);
const entry = blob ? ['--snapshot-blob', resolve(blob), '--'] : [daemon];

// NODE_EXTRA_CA_CERTS (an HTTPS proxy's CA on some build machines) costs every Node process ~30 ms
// of CPU at start parsing the CA store; no calico-node container sets it. --keep-ca-env keeps it.
const { NODE_EXTRA_CA_CERTS: _ca, ...strippedEnv } = process.env;
const daemonEnv = args.includes('--keep-ca-env') ? process.env : strippedEnv;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const addr = (i) => `127.0.1.${i + 1}`;

function datastore() {
  const res = (kind, name, spec) => JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });
  const docs = [
    res('BGPConfiguration', 'default', { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Warning', listenPort: port }),
    res('IPPool', 'p', { cidr: '10.244.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }),
  ];
  for (let i = 0; i < M; i++) {
    docs.push(res('Node', `n${i}`, { bgp: { ipv4Address: `${addr(i)}/8` } }));
    docs.push(res('BlockAffinity', `n${i}-b`, { state: 'confirmed', node: `n${i}`, cidr: `10.244.${i}.0/26` }));
  }
  return `${docs.join('\n---\n')}\n`;
}

/** Resolves once the socket sends its greeting line. */
function greets(path) {
  return new Promise((ok) => {
    const s = connect(path);
    s.once('data', () => {
      s.destroy();
      ok(true);
    });
    s.once('error', () => ok(false));
  });
}

function procStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) / 1024;
  // PSS: RSS with the pages shared among processes (the Node binary, ~35 MB) divided among them.
  const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN) / 1024;
  // Time on CPU of every thread, in ns (schedstat), finer than the 10 ms ticks of /proc/<pid>/stat.
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  return { rss, pss, cpuMs: ns / 1e6 };
}

async function once() {
  const dir = mkdtempSync(join(tmpdir(), 'pt-startup-'));
  const ds = join(dir, 'ds.yaml');
  writeFileSync(ds, datastore());
  const t0 = now();
  const kids = [];
  for (let i = 0; i < M; i++) {
    const ctl = join(dir, `n${i}.ctl`);
    const child = spawn(process.execPath, [...nodeArgs, ...entry, '--node', `n${i}`, '--listen', `${addr(i)}:${port}`, '--ctl-socket', ctl, '--sink', 'mock'], {
      env: { ...daemonEnv, PETREL_DATASTORE: `file:${ds}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    kids.push({ child, ctl, ready: undefined, err: () => err });
  }
  while (kids.some((k) => k.ready === undefined)) {
    await Promise.all(
      kids.filter((k) => k.ready === undefined).map(async (k) => {
        if (k.child.exitCode !== null) throw new Error(`daemon exited ${k.child.exitCode}: ${k.err()}`);
        if (await greets(k.ctl)) k.ready = now() - t0;
      }),
    );
    if (now() - t0 > 120_000) throw new Error('not ready after 120 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  const allReady = Math.max(...kids.map((k) => k.ready));
  const stats = kids.map((k) => procStats(k.child.pid));
  for (const k of kids) k.child.kill('SIGTERM');
  await Promise.all(kids.map((k) => (k.child.exitCode !== null ? undefined : new Promise((r) => k.child.once('exit', r)))));
  rmSync(dir, { recursive: true, force: true });
  return { allReady, medianReady: median(kids.map((k) => k.ready)), cpuMs: median(stats.map((s) => s.cpuMs)), rssMB: median(stats.map((s) => s.rss)), pssMB: median(stats.map((s) => s.pss)) };
}

console.log(`daemon ${blob ?? daemon} ${nodeArgs.join(' ')}, M=${M}, load ${loadavg()[0].toFixed(2)}`);
const results = [];
for (let r = 0; r < runs; r++) {
  const x = await once();
  results.push(x);
  console.log(`run ${r + 1}: all ready ${x.allReady.toFixed(0)} ms, median ${x.medianReady.toFixed(0)} ms, CPU/daemon ${x.cpuMs.toFixed(0)} ms, RSS/daemon ${x.rssMB.toFixed(1)} MB (PSS ${x.pssMB.toFixed(1)})`);
}
const m = (f, digits = 0) => median(results.map(f)).toFixed(digits);
const min = (f) => Math.min(...results.map(f)).toFixed(0);
console.log(`median: all ready ${m((x) => x.allReady)} ms, per daemon ${m((x) => x.medianReady)} ms, CPU ${m((x) => x.cpuMs)} ms (min ${min((x) => x.cpuMs)}), RSS ${m((x) => x.rssMB, 1)} MB (PSS ${m((x) => x.pssMB, 1)}); load ${loadavg()[0].toFixed(2)}`);
