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
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : join(root, 'dist');

// Chunk names carry a content hash; drop the previous build's chunks so none accumulate.
rmSync(join(outdir, 'petrel-chunks'), { recursive: true, force: true });

await build({
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
});
