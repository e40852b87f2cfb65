/**
 * The long-run fuzzer: `node dist/tools/fuzz/run.js --count 1000000 [--seed N] [--live N]`.
 * Generates mutated message streams from the seed corpus, judges each with the oracle, prints
 * progress (messages/s, outcome counts, heap) and every distinct finding, and writes minimal
 * reproductions to --out as hex files. With --live N it also drives N mutated streams through a
 * real Petrel session on loopback (see live.ts). Exit status 1 when anything was found.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { generateCase } from './generate.js';
import { checkCase, outcomeLabel, type Finding } from './oracle.js';
import { XorShift32 } from './rng.js';
import { allSeeds } from './seeds.js';

export interface CodecRunOptions {
  count: number;
  seed: number;
  corpusDir?: string;
  roundTrip?: boolean;
  /** Called every `every` messages with the running totals. */
  progress?: (s: CodecRunStats) => void;
  every?: number;
}

export interface CodecRunStats {
  cases: number;
  messages: number;
  elapsedMs: number;
  outcomes: Map<string, number>;
  /** Distinct findings (by kind and detail's first line), each with the first input that showed it. */
  findings: Map<string, Finding & { count: number }>;
  maxHeapMb: number;
}

/** Runs the codec fuzzer until `count` messages were judged. */
export function runCodecFuzz(o: CodecRunOptions): CodecRunStats {
  const seeds = allSeeds(o.corpusDir);
  const r = new XorShift32(o.seed);
  const s: CodecRunStats = { cases: 0, messages: 0, elapsedMs: 0, outcomes: new Map(), findings: new Map(), maxHeapMb: 0 };
  // Every BgpError captures a stack; the judge does not need them and they cost half the run
  // time. A case with a crash is judged again with stacks on, for the report.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const t0 = performance.now();
  let nextReport = o.every ?? 100_000;
  while (s.messages < o.count) {
    const c = generateCase(r, seeds);
    let res = checkCase(c, { roundTrip: o.roundTrip ?? false });
    if (res.findings.some((f) => f.kind === 'crash')) {
      Error.stackTraceLimit = 10;
      res = checkCase(c, { roundTrip: o.roundTrip ?? false });
      Error.stackTraceLimit = 0;
    }
    s.cases++;
    s.messages += Math.max(1, res.messages);
    for (const out of res.outcomes) {
      const k = outcomeLabel(out);
      s.outcomes.set(k, (s.outcomes.get(k) ?? 0) + 1);
    }
    for (const f of res.findings) {
      const key = `${f.kind}: ${f.detail.split('\n')[0]?.replace(/\d+/g, 'N')}`;
      const seen = s.findings.get(key);
      if (seen) seen.count++;
      else s.findings.set(key, { ...f, count: 1 });
    }
    if (s.messages >= nextReport) {
      nextReport += o.every ?? 100_000;
      s.elapsedMs = performance.now() - t0;
      s.maxHeapMb = Math.max(s.maxHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
      o.progress?.(s);
    }
  }
  Error.stackTraceLimit = stackLimit;
  s.elapsedMs = performance.now() - t0;
  s.maxHeapMb = Math.max(s.maxHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
  return s;
}

function rate(s: { messages: number; elapsedMs: number }): string {
  return `${Math.round(s.messages / (s.elapsedMs / 1000)).toLocaleString('en')} msg/s`;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('fuzz')
    .option('--count <n>', 'messages to judge', '1000000')
    .option('--seed <n>', 'PRNG seed', String(Date.now() % 2 ** 31))
    .option('--corpus <dir>', 'kept corpus directory (hex files)', 'test/fuzz/corpus')
    .option('--out <dir>', 'where to write findings', '')
    .option('--round-trip', 'also check decode(encode(decode(x)))', false)
    .option('--live <n>', 'also send n mutated streams through a live session', '0')
    .option('--opens <n>', 'also send n mutated OPENs to a live session in OpenSent', '0')
    .option('--known-issues <mode>', "live: 'report' sends streams whole, 'avoid' cuts them after a session-ending malformed UPDATE", 'report')
    .parse();
  const opts = program.opts<{ count: string; seed: string; corpus: string; out: string; roundTrip: boolean; live: string; knownIssues: string; opens: string }>();
  const seed = Number(opts.seed);

  console.log(`codec fuzz: ${Number(opts.count).toLocaleString('en')} messages, seed ${seed}`);
  const s = runCodecFuzz({
    count: Number(opts.count),
    seed,
    corpusDir: opts.corpus,
    roundTrip: opts.roundTrip,
    progress: (p) => console.log(`  ${p.messages.toLocaleString('en')} messages, ${rate(p)}, ${p.findings.size} distinct findings, heap ${p.maxHeapMb.toFixed(0)} MB`),
  });
  console.log(`codec: ${s.messages.toLocaleString('en')} messages in ${s.cases.toLocaleString('en')} streams, ${(s.elapsedMs / 1000).toFixed(1)} s, ${rate(s)}, max heap ${s.maxHeapMb.toFixed(0)} MB`);
  for (const [k, v] of [...s.outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${String(v).padStart(10)}  ${k}`);
  let found = s.findings.size;
  console.log(`findings: ${s.findings.size}`);
  let i = 0;
  for (const [key, f] of s.findings) {
    console.log(`  [${f.count}x] ${key}\n      ctx ${f.ctx} input ${f.hex.slice(0, 400)}`);
    if (opts.out) {
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(join(opts.out, `finding-${++i}-${f.kind}.hex`), `# ${key}\n# ctx: ${f.ctx}\n${f.hex}\n`);
    }
  }
  const live = Number(opts.live);
  if (live > 0) {
    const { runLiveFuzz } = await import('./live.js');
    const knownIssues = opts.knownIssues === 'avoid' ? 'avoid' : 'report';
    const l = await runLiveFuzz({ streams: live, seed, corpusDir: opts.corpus, knownIssues, log: (line) => console.log(line) });
    console.log(
      `live: ${l.streams} streams, ${l.messages} messages, ${(l.elapsedMs / 1000).toFixed(1)} s (${(l.streams / (l.elapsedMs / 1000)).toFixed(0)} streams/s); stayed up ${l.alive} (treat-as-withdraw ${l.treatAsWithdraw}), resets ${l.resets}, reconnects ${l.reconnects}; witness session up throughout: ${l.witnessStayedUp}`,
    );
    console.log(`  NOTIFICATIONs: ${[...l.notifications].map(([k, v]) => `${k} x${v}`).join(', ')}`);
    console.log(`live findings: ${l.findings.length}`);
    const classes = new Map<string, number>();
    for (const f of l.findings) {
      const k = f.replace(/: ctx .*$/s, '').replace(/data '[0-9a-f]*'/, "data '..'").replace(/\(.*?\)/, '(..)').replace(/"data":"[0-9a-f]*"/g, '');
      classes.set(k, (classes.get(k) ?? 0) + 1);
    }
    for (const [k, v] of classes) console.log(`  [${v}x] ${k}`);
    for (const f of l.findings.slice(0, 5)) console.log(`  e.g. ${f.slice(0, 800)}`);
    found += l.findings.length + (l.witnessStayedUp ? 0 : 1);
  }
  const opens = Number(opts.opens);
  if (opens > 0) {
    const { runOpenFuzz } = await import('./live.js');
    const t0 = performance.now();
    const l = await runOpenFuzz({ count: opens, seed });
    console.log(`open: ${l.opens} OPENs in ${((performance.now() - t0) / 1000).toFixed(1)} s; accepted ${l.accepted}, resets ${l.resets} (${[...l.notifications].map(([k, v]) => `${k} x${v}`).join(', ')})`);
    console.log(`open findings: ${l.findings.length}`);
    for (const f of l.findings.slice(0, 10)) console.log(`  ${f.slice(0, 800)}`);
    found += l.findings.length;
  }
  process.exitCode = found > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
