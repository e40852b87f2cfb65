#!/usr/bin/env node
// Bundles the daemon (daemon/main.ts and everything it imports, pino and commander included) into
// dist/petrel.mjs, the file the `petrel` bin, the lab, the benchmarks and the daemon tests run.
// Why: Node's ESM loader resolves, reads and compiles each of ~150 files one by one at start, and
// thirty daemons starting at once on two cores pay that thirty times (issue 10, mesh cell). One
// file is the same program with a fraction of the start-up work.
//   node scripts/bundle.mjs [--outdir dist]
// Lazily loaded parts stay lazy: the etcd backend (and the etcd3/gRPC stack behind it, left in
// node_modules) is a separate chunk under petrel-chunks/, loaded only for an etcd datastore; the
// YAML library is still required on demand from node_modules by config/parse.ts.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : join(root, 'dist');

const result = await build({
  absWorkingDir: root,
  entryPoints: { petrel: 'daemon/main.ts' },
  outdir,
  bundle: true,
  // Splitting keeps the dynamic import of the etcd backend a separate file instead of inlining it,
  // which would make its static `import 'etcd3'` a load-time import of the whole bundle.
  splitting: true,
  chunkNames: 'petrel-chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // gRPC and protobuf are big and only needed with etcd: resolved from node_modules when used.
  external: ['etcd3'],
  // Bundled CommonJS packages (pino, commander) call require() for Node built-ins.
  banner: { js: 'import { createRequire as __petrelCreateRequire } from "node:module"; const require = __petrelCreateRequire(import.meta.url);' },
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

// Chunks (content-hashed names) first, the entry last, each through a rename, so a daemon starting
// meanwhile reads either the previous complete bundle or this one, never a half-written file.
const files = [...result.outputFiles].sort((a, b) => Number(basename(a.path).startsWith('petrel.')) - Number(basename(b.path).startsWith('petrel.')));
for (const f of files) {
  mkdirSync(dirname(f.path), { recursive: true });
  const tmp = `${f.path}.${process.pid}.tmp`;
  writeFileSync(tmp, f.contents, { mode: f.path.endsWith('petrel.mjs') ? 0o755 : 0o644 });
  renameSync(tmp, f.path);
}

// Chunks of earlier builds: removed once they are old enough that no daemon can still be loading them.
const chunkDir = join(outdir, 'petrel-chunks');
const current = new Set(files.map((f) => f.path));
for (const name of readdirSync(chunkDir)) {
  const p = join(chunkDir, name);
  if (!current.has(p) && Date.now() - statSync(p).mtimeMs > 10 * 60_000) rmSync(p, { force: true });
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
