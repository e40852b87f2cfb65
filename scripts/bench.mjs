#!/usr/bin/env node
// `npm run bench [-- <cell...>] [--quick] [--runs N] [--only bird|petrel] [--write-docs] [--profile] [--no-build] [--snapshot]`
// Builds (tsc) unless --no-build, always refreshes the daemon bundle, then runs each named cell (all when none is named) from dist/
// (with --snapshot: from a private build in node_modules/.cache/petrel-bench/, so a rebuild of
// dist/ by someone else during a long run cannot mix two versions of the daemon):
//   codec, rib, spawnfloor, sim -> dist/tools/bench/<cell>.js (their own scripts)
//   ingest, propagate, kernel, mesh, churn, ctl -> dist/tools/bench/main.js (side by side with BIRD)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STANDALONE = ['codec', 'rib', 'spawnfloor'];
const SIDE_BY_SIDE = ['ingest', 'propagate', 'kernel', 'mesh', 'churn', 'ctl'];
const LATE = ['sim'];
const ALL = [...STANDALONE, ...SIDE_BY_SIDE, ...LATE];
// Options that take a value (passed through to the cell scripts with it).
const VALUED = ['--runs', '--only', '--results', '--sizes', '--topologies', '--prefixes', '--sets'];

const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const snapshot = args.includes('--snapshot');
const outDir = snapshot ? join(root, 'node_modules', '.cache', 'petrel-bench') : join(root, 'dist');
const flags = [];
const cells = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--no-build' || a === '--snapshot') continue;
  if (a.startsWith('--')) {
    flags.push(a);
    if (VALUED.includes(a) && i + 1 < args.length) flags.push(args[++i]);
  } else cells.push(a);
}
for (const c of cells) {
  if (!ALL.includes(c)) {
    console.error(`bench: unknown cell '${c}' (known: ${ALL.join(', ')})`);
    process.exit(2);
  }
}

if (build) {
  // tsc still emits when files someone else is editing fail to typecheck; only a missing output is fatal.
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', outDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) console.error('bench: tsc reported errors; running what was emitted');
}
// The daemon runs from its one-file bundle (outDir/petrel.cjs and its code cache), as `npm run build` makes it. It is
// made from the sources even with --no-build (a few seconds, most of it the code cache's training run), so a run never measures a stale daemon.
const b = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), '--outdir', outDir], { stdio: ['ignore', 'inherit', 'inherit'] });
if (b.status !== 0) console.error('bench: bundling the daemon failed');

const benchDir = join(outDir, 'tools', 'bench');
const wanted = cells.length ? cells : ALL;
let failed = 0;
const run = (script, scriptArgs) => {
  if (!existsSync(script)) {
    console.error(`bench: ${script} not found (not built yet?)`);
    failed++;
    return;
  }
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', '--expose-gc', script, ...scriptArgs], { stdio: 'inherit', cwd: root, env: { ...process.env, PETREL_BENCH_ROOT: root } });
  if (r.status !== 0) failed++;
};

for (const c of wanted.filter((c) => STANDALONE.includes(c) || LATE.includes(c))) {
  const script = join(benchDir, `${c}.js`);
  if (!existsSync(script) && !cells.length) {
    console.log(`# ${c}: not available yet (${script} missing), skipped`);
    continue;
  }
  console.log(`# ${c}`);
  run(script, flags);
}
const sideBySide = wanted.filter((c) => SIDE_BY_SIDE.includes(c));
if (sideBySide.length) run(join(benchDir, 'main.js'), [...sideBySide, ...flags]);
process.exit(failed ? 1 : 0);
