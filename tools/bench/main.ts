/**
 * `npm run bench -- <cell...> [--quick] [--runs N] [--only bird|petrel] [--write-docs]`: runs the
 * side-by-side cells (BIRD and Petrel alternately, in namespaces), prints a markdown table per cell,
 * writes bench-results/<cell>.json and compares with the previous one.
 */
import { join, dirname } from 'node:path';
import { loadavg } from 'node:os';
import { mkdirSync, rmSync } from 'node:fs';
import { summariseProfiles } from './profile.js';
import { fileURLToPath } from 'node:url';
import { machineInfo, type BenchOptions, type CellPart, type CellResult } from './harness.js';
import type { SpeakerKind } from './speaker.js';
import { compareWithPrevious, markdownTable, updateDocsSection, writeJson } from './report.js';
import { runIngest } from './cells/ingest.js';
import { runPropagate } from './cells/propagate.js';
import { runKernel } from './cells/kernel.js';
import { runMesh } from './cells/mesh.js';
import { runCtl } from './cells/ctl.js';
import { runChurn } from './cells/churn.js';

type CellRunner = (opts: BenchOptions) => Promise<CellPart>;

export const CELLS: Record<string, CellRunner> = {
  ingest: runIngest,
  propagate: runPropagate,
  kernel: runKernel,
  mesh: runMesh,
  churn: runChurn,
  ctl: runCtl,
};

/** Repository root: dist/tools/bench/main.js → ../../.., unless scripts/bench.mjs ran a private build (--snapshot). */
const ROOT = process.env.PETREL_BENCH_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Cli {
  cells: string[];
  quick: boolean;
  runs?: number;
  kinds: SpeakerKind[];
  writeDocs: boolean;
  resultsDir: string;
  /** Petrel daemons write V8 CPU profiles to <results>/profiles/<cell>/, summarised after the cell. */
  profile: boolean;
}

function parseArgs(argv: readonly string[]): Cli {
  const cli: Cli = { cells: [], quick: false, kinds: ['bird', 'petrel'], writeDocs: false, resultsDir: join(ROOT, 'bench-results'), profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') cli.quick = true;
    else if (a === '--runs') cli.runs = Number(argv[++i]);
    else if (a === '--only') cli.kinds = [argv[++i] as SpeakerKind];
    else if (a === '--write-docs') cli.writeDocs = true;
    else if (a === '--profile') cli.profile = true;
    else if (a === '--results') cli.resultsDir = argv[++i]!;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else cli.cells.push(a);
  }
  return cli;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the side-by-side cells need root (network namespaces)');
  const names = cli.cells.length ? cli.cells : Object.keys(CELLS);
  for (const name of names) if (!CELLS[name]) throw new Error(`unknown cell '${name}' (known: ${Object.keys(CELLS).join(', ')})`);
  const machine = machineInfo();
  for (const name of names) {
    const opts: BenchOptions = { quick: cli.quick, runs: cli.runs ?? (cli.quick ? 1 : 3), kinds: cli.kinds, log: (l) => console.log(l) };
    console.log(`# ${name}${cli.quick ? ' (quick)' : ''}, ${opts.runs} run(s) each of ${opts.kinds.join(' and ')}`);
    const startedAt = new Date().toISOString();
    const t0 = Date.now();
    const loadStart = loadavg()[0]!;
    const profileDir = join(cli.resultsDir, 'profiles', name);
    if (cli.profile) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
      process.env.PETREL_BENCH_PROFILE_DIR = profileDir;
    }
    const partial = await CELLS[name]!(opts);
    if (cli.profile) {
      delete process.env.PETREL_BENCH_PROFILE_DIR;
      console.log(`\nPetrel CPU profile of '${name}' (self time over every daemon run, ${profileDir}):`);
      for (const line of summariseProfiles(profileDir, 15)) console.log(`  ${line}`);
    }
    const args = [name, ...(cli.quick ? ['--quick'] : []), ...(cli.runs ? ['--runs', String(cli.runs)] : []), ...(cli.kinds.length === 1 ? ['--only', cli.kinds[0]!] : [])];
    const result: CellResult = { ...partial, command: `npm run bench -- ${args.join(' ')}`, machine, startedAt, durationMs: Date.now() - t0, loadAvg: [loadStart, loadavg()[0]!] };
    const md = markdownTable(result);
    console.log(`\n${md}\n`);
    const prev = writeJson(cli.resultsDir, result);
    for (const line of compareWithPrevious(result, prev)) console.log(`  vs previous: ${line}`);
    if (cli.writeDocs) {
      const ok = updateDocsSection(join(ROOT, 'docs', 'benchmarks.md'), name, md);
      console.log(ok ? `  docs/benchmarks.md section '${name}' updated` : `  docs/benchmarks.md has no markers for '${name}'; not written`);
    }
  }
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
