#!/usr/bin/env node
// Bundles the daemon (daemon/main.ts and everything it imports, pino and commander included) into
// one CommonJS file, dist/petrel-daemon.cjs, and makes the V8 code cache it starts from:
//   dist/petrel.cjs                the start path (daemon/launcher.cjs): the `petrel` bin, and what
//                                  the benchmarks and the daemon tests run
//   dist/petrel.mjs                the same for callers that name the ESM entry (the lab): loads petrel.cjs
//   dist/petrel-daemon.cjs         the bundle, its last line `//# petrel-build=<id>` (a content hash)
//   dist/petrel-daemon.cjs.cache   V8's compiled code for that build, from a training run below
// Why: Node's ESM loader resolves, reads and compiles each of ~150 files one by one at start, and
// thirty daemons starting at once on two cores pay that thirty times (issue 10, mesh cell). One
// file is the same program with a fraction of the start-up work, and the code cache spares the
// parse and compile of it (~15 ms of CPU per start).
//   node scripts/bundle.mjs [--outdir dist] [--no-code-cache]
// Lazily loaded parts stay lazy: the etcd backend is wrapped by esbuild and run only for an etcd
// datastore (the etcd3/gRPC stack behind it is required from node_modules then); the YAML library
// is still required on demand from node_modules by config/parse.ts.
import { build } from 'esbuild';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : join(root, 'dist');

// pino (through sonic-boom and its transport code) loads node:assert and node:worker_threads at
// start, about 1 ms of CPU per daemon start in Node's own modules (issue 10, mesh cell) for code the
// daemon never runs: sonic-boom's one assert(value, message), pino's isMainThread (the daemon logs
// from its main thread) and a transport's Worker (the daemon uses no pino transport). For those
// packages only, the bundle takes the stand-ins in scripts/bundle-shims/; everything else gets Node's.
const SHIMMED = { assert: 'assert.cjs', worker_threads: 'worker-threads.cjs' };
const startShims = {
  name: 'petrel-start-shims',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(assert|worker_threads)$/ }, (args) => {
      if (!/[\\/]node_modules[\\/](pino|sonic-boom|thread-stream)[\\/]/.test(args.importer)) return undefined;
      return { path: join(root, 'scripts', 'bundle-shims', SHIMMED[args.path.replace(/^node:/, '')]) };
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { 'petrel-daemon': 'daemon/main.ts' },
  outdir,
  bundle: true,
  outExtension: { '.js': '.cjs' },
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // gRPC and protobuf are big and only needed with etcd: resolved from node_modules when used.
  external: ['etcd3'],
  plugins: [startShims],
  // The sources are ESM: import.meta.url (finding node_modules and the netlink helper) is the bundle's own URL.
  define: { 'import.meta.url': '__petrelModuleUrl' },
  banner: { js: 'const __petrelModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Less to parse at every start; names are kept readable (stack traces), the map points at the sources.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Written below, each file atomically: daemons of other test runs may be starting from dist/.
  write: false,
});

/** Writes `path` through a rename, so a daemon starting meanwhile reads the old file or the new one, never half of one. */
function writeAtomic(path, contents, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents, { mode });
  renameSync(tmp, path);
}

const bundlePath = join(outdir, 'petrel-daemon.cjs');
for (const f of result.outputFiles) {
  if (f.path !== bundlePath) {
    writeAtomic(f.path, f.contents);
    continue;
  }
  // The build id ties the code cache to this exact text (V8 itself compares only the length).
  const id = createHash('sha256').update(f.contents).digest('hex').slice(0, 32);
  writeAtomic(f.path, Buffer.concat([f.contents, Buffer.from(`//# petrel-build=${id}\n`)]));
}
writeAtomic(join(outdir, 'petrel.cjs'), readFileSync(join(root, 'daemon', 'launcher.cjs')), 0o755);
writeAtomic(join(outdir, 'petrel.mjs'), '#!/usr/bin/env node\n// The daemon for callers that name the ESM entry; the start path itself is petrel.cjs (scripts/bundle.mjs).\nimport { createRequire } from \'node:module\';\ncreateRequire(import.meta.url)(\'./petrel.cjs\');\n', 0o755);

// The ESM build of earlier versions left chunks here (and a map of petrel.mjs); removed once no daemon can still be loading them.
rmSync(join(outdir, 'petrel.mjs.map'), { force: true });
const chunkDir = join(outdir, 'petrel-chunks');
if (existsSync(chunkDir)) {
  for (const name of readdirSync(chunkDir)) {
    const p = join(chunkDir, name);
    if (Date.now() - statSync(p).mtimeMs > 10 * 60_000) rmSync(p, { force: true });
  }
}

// The kernel sink's netlink helper (daemon/sink/native/petrel-netlink.c), next to the bundle. A
// missing or failing C compiler does not fail the build: the sink then uses ip -batch.
const helper = join(outdir, 'petrel-netlink');
try {
  execFileSync('cc', ['-O2', '-Wall', '-o', `${helper}.${process.pid}.tmp`, join(root, 'daemon/sink/native/petrel-netlink.c')], { stdio: ['ignore', 'inherit', 'pipe'] });
  renameSync(`${helper}.${process.pid}.tmp`, helper);
} catch (e) {
  rmSync(`${helper}.${process.pid}.tmp`, { force: true });
  console.warn(`petrel: netlink helper not built (the kernel sink will use ip -batch): ${String(e.stderr ?? e.message).trim().slice(0, 500)}`);
}

// The code cache: a training run of the daemon, two nodes in a full mesh on loopback (`--sink
// mock`, a free high port, no root needed), until both have established their session and
// exchanged routes; the first then writes the cache at exit, holding the code of start-up, the
// session and the routes. A training run that fails leaves no cache (the daemon starts without).
const cachePath = `${bundlePath}.cache`;
if (args.includes('--no-code-cache')) rmSync(cachePath, { force: true });
else {
  try {
    await train(cachePath);
  } catch (e) {
    rmSync(cachePath, { force: true });
    console.warn(`petrel: no code cache made (the daemon compiles its code at every start): ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function freePort(host) {
  const { createServer } = await import('node:net');
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Asks the control socket `show route` until `prefix` is in the answer. */
async function hasRoute(ctl, prefix) {
  const { connect } = await import('node:net');
  for (;;) {
    const answer = await new Promise((ok, fail) => {
      let text = '';
      let asked = false;
      const s = connect(ctl);
      s.once('error', fail);
      s.on('data', (d) => {
        text += d;
        if (!asked && /^0001 /m.test(text)) {
          asked = true;
          s.write('show route\n');
        } else if (asked && /^(0000|[89]\d{3})/m.test(text)) {
          s.destroy();
          ok(text);
        }
      });
    });
    if (answer.includes(prefix)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A wrapper script in `dir` that runs the built netlink helper in a new user and network namespace
 * (loopback up, nothing else), or undefined when there is no helper or no unprivileged `unshare -rn`.
 */
function isolatedNetlinkHelper(dir) {
  const helper = join(outdir, 'petrel-netlink');
  if (!existsSync(helper)) return undefined;
  if (spawnSync('unshare', ['-rn', 'true'], { stdio: 'ignore' }).status !== 0) return undefined;
  const wrapper = join(dir, 'petrel-netlink-isolated');
  writeFileSync(wrapper, `#!/bin/sh\nexec unshare -rn sh -c 'ip link set lo up 2>/dev/null; exec "$0" "$@"' ${JSON.stringify(helper)} "$@"\n`, { mode: 0o755 });
  return wrapper;
}

async function train(target) {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-code-cache-'));
  const hosts = ['127.0.77.1', '127.0.77.2'];
  const children = [];
  try {
    const port = await freePort(hosts[0]);
    const res = (kind, name, spec) => JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec });
    const docs = [
      res('BGPConfiguration', 'default', { asNumber: 64512, nodeToNodeMeshEnabled: true, logSeverityScreen: 'Info', listenPort: port }),
      res('IPPool', 'training', { cidr: '10.255.0.0/16', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Never' }),
      ...hosts.flatMap((h, i) => [res('Node', `training-${i}`, { bgp: { ipv4Address: `${h}/8` } }), res('BlockAffinity', `training-${i}`, { state: 'confirmed', node: `training-${i}`, cidr: `10.255.${i}.0/26` })]),
    ];
    writeFileSync(join(dir, 'datastore.yaml'), `${docs.join('\n---\n')}\n`);
    // The cache must match the flags daemons run with: none from the build's environment.
    const { NODE_OPTIONS: _o, NODE_EXTRA_CA_CERTS: _c, PETREL_CODE_CACHE: _p, ...env } = process.env;
    const out = join(dir, 'cache');
    // The daemon that writes the cache runs the kernel sink when that is harmless, so the cache also
    // holds the code every real daemon runs at start there (the graceful-restart dump, the own
    // block's route, the netlink helper's replies): ~1 ms of lazy compiling less per start (issue
    // 10, mesh). Its netlink helper then runs in a user and network namespace of its own
    // (unshare -rn), writing to a throwaway routing table; without unprivileged user namespaces (or
    // without the helper) it runs the mock sink as before.
    const helper = isolatedNetlinkHelper(dir);
    const learned = hosts.map((h, i) => {
      const sink = i === 0 && helper ? 'kernel' : 'mock';
      const child = spawn(process.execPath, [join(outdir, 'petrel.cjs'), '--node', `training-${i}`, '--listen', `${h}:${port}`, '--ctl-socket', join(dir, `${i}.ctl`), '--sink', sink], {
        env: { ...env, PETREL_DATASTORE: `file:${join(dir, 'datastore.yaml')}`, ...(i === 0 ? { PETREL_CODE_CACHE_WRITE: out, PETREL_CODE_CACHE: 'off' } : {}), ...(sink === 'kernel' ? { PETREL_NETLINK_HELPER: helper } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let log = '';
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      return new Promise((ok, fail) => {
        child.stdout.on('data', (d) => {
          if (log.includes('"session established"')) return;
          log += d;
          // The peer's block arriving (seen on the control socket) is the last step worth having compiled.
          if (log.includes('"session established"')) void hasRoute(join(dir, `${i}.ctl`), `10.255.${1 - i}.0/26`).then(ok, fail);
        });
        child.on('exit', (code) => fail(new Error(`training daemon ${i} exited (${code}): ${stderr.trim().slice(-300)}`)));
      });
    });
    let timer;
    await Promise.race([Promise.all(learned), new Promise((_, fail) => (timer = setTimeout(() => fail(new Error('training run did not converge in 20 s')), 20_000)))]).finally(() => clearTimeout(timer));
    const exited = children.map((c) => new Promise((ok) => c.once('exit', (code) => ok(code))));
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(exited);
    if (!existsSync(out)) throw new Error('the training daemon wrote no cache');
    // A cache V8 rejects (e.g. V8 flags changed at run time after the compile) is useless: check it.
    const check = spawnSync(process.execPath, [join(outdir, 'petrel.cjs'), '--help'], { env: { ...env, PETREL_CODE_CACHE: out, PETREL_CODE_CACHE_REPORT: '1' }, encoding: 'utf8' });
    const state = /petrel: code cache (\w+)/.exec(check.stderr ?? '')?.[1];
    if (state !== 'accepted') throw new Error(`the daemon does not accept the cache it made (${state ?? check.stderr}): V8 flags set after the compile?`);
    writeAtomic(target, readFileSync(out));
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
