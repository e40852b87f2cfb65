/**
 * Results out: a markdown table per cell (median and min-max per speaker, Petrel/BIRD per run pair
 * and of medians), JSON under bench-results/, a comparison with the previous JSON of the same cell,
 * and an optional in-place update of the cell's section of docs/benchmarks.md (between markers).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarise, type Summary } from './clock.js';
import type { CellResult, Sample, VariantResult } from './harness.js';
import type { SpeakerKind } from './speaker.js';

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtSummary = (s: Summary | undefined, unit: string) => (s ? `${fmt(s.median)} ${unit} (${fmt(s.min)}–${fmt(s.max)})` : '—');

function valuesOf(v: VariantResult, kind: SpeakerKind): number[] {
  return v.samples.filter((s) => s.kind === kind && s.value !== undefined).map((s) => s.value!);
}

function extraMedian(v: VariantResult, kind: SpeakerKind, key: string): number | undefined {
  return summarise(v.samples.filter((s) => s.kind === kind && s.extra[key] !== undefined).map((s) => s.extra[key]!))?.median;
}

/** Petrel/BIRD for each run index where both have a value. */
export function pairRatios(v: VariantResult): number[] {
  const out: number[] = [];
  const byRun = (kind: SpeakerKind) => new Map(v.samples.filter((s: Sample) => s.kind === kind && s.value !== undefined).map((s) => [s.run, s.value!]));
  const bird = byRun('bird');
  const petrel = byRun('petrel');
  for (const [run, p] of petrel) {
    const b = bird.get(run);
    if (b !== undefined && b > 0) out.push(p / b);
  }
  return out;
}

function petrelCell(v: VariantResult): string {
  const vals = valuesOf(v, 'petrel');
  if (vals.length) return fmtSummary(summarise(vals), v.unit);
  const err = v.samples.find((s) => s.kind === 'petrel' && s.error)?.error;
  if (!err) return 'not run';
  return /daemon not ready/.test(err) ? 'daemon not ready' : `failed: ${err.split('\n')[0]!.slice(0, 80)}`;
}

export function markdownTable(r: CellResult): string {
  const extraKeys = [...new Set(r.variants.flatMap((v) => v.samples.flatMap((s) => Object.keys(s.extra))))].filter((k) => k !== 'polls');
  const head = ['variant', 'BIRD median (min–max)', 'Petrel median (min–max)', 'Petrel/BIRD per run', 'ratio of medians', ...extraKeys.map((k) => `${k} BIRD / Petrel`), 'reference'];
  const rows = r.variants.map((v) => {
    const b = summarise(valuesOf(v, 'bird'));
    const p = summarise(valuesOf(v, 'petrel'));
    const ratios = pairRatios(v);
    const ref = Object.entries(v.reference)
      .map(([k, x]) => `${k} ${fmt(x)}`)
      .join('; ');
    return [
      v.variant,
      fmtSummary(b, v.unit),
      petrelCell(v),
      ratios.length ? ratios.map((x) => x.toFixed(2)).join(', ') : '—',
      b && p ? (p.median / b.median).toFixed(2) : '—',
      ...extraKeys.map((k) => {
        const bx = extraMedian(v, 'bird', k);
        const px = extraMedian(v, 'petrel', k);
        return `${bx === undefined ? '—' : fmt(bx)} / ${px === undefined ? '—' : fmt(px)}`;
      }),
      ref || '—',
    ];
  });
  const lines = [head, head.map(() => '---'), ...rows].map((cols) => `| ${cols.join(' | ')} |`);
  const notes = r.variants.flatMap((v) => v.notes.map((n) => `- ${v.variant}: ${n}`));
  const failures = r.variants.flatMap((v) => v.samples.filter((s) => s.error && !/daemon not ready/.test(s.error)).map((s) => `- ${v.variant} ${s.kind} run ${s.run + 1} failed: ${s.error!.split('\n')[0]!.slice(0, 200)}`));
  return [
    `Metric: ${r.variants[0]?.metric ?? ''}. Command: \`${r.command}\`. Machine: ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node.replace(/^v/, '')}, bird ${r.machine.bird}, kernel ${r.machine.kernel}; run ${r.startedAt}, load average ${r.loadAvg?.[0]?.toFixed(1) ?? '?'} → ${r.loadAvg?.[1]?.toFixed(1) ?? '?'}.`,
    '',
    ...lines,
    ...(notes.length || failures.length ? ['', ...notes, ...failures] : []),
  ].join('\n');
}

/** Writes bench-results/<cell>.json; returns the previous result of that cell, if any. */
export function writeJson(dir: string, r: CellResult): CellResult | undefined {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.cell}.json`);
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CellResult) : undefined;
  writeFileSync(file, `${JSON.stringify(r, null, 1)}\n`);
  return previous;
}

/** One line per variant and speaker: this run's median against the previous file's. */
export function compareWithPrevious(r: CellResult, prev: CellResult | undefined): string[] {
  if (!prev) return [];
  const out: string[] = [];
  for (const v of r.variants) {
    const pv = prev.variants.find((x) => x.variant === v.variant);
    if (!pv) continue;
    for (const kind of ['bird', 'petrel'] as const) {
      const now = summarise(valuesOf(v, kind));
      const before = summarise(valuesOf(pv, kind));
      if (now && before) out.push(`${v.variant} ${kind}: ${fmt(now.median)} ${v.unit} now vs ${fmt(before.median)} ${v.unit} on ${prev.startedAt} (x${(now.median / before.median).toFixed(2)})`);
    }
  }
  return out;
}

/**
 * Replaces the text between `<!-- bench:<cell>:begin -->` and `<!-- bench:<cell>:end -->` in the
 * docs file, re-reading it right before the write so others' sections are never clobbered. Returns
 * false when the markers are absent (nothing written).
 */
export function updateDocsSection(docsFile: string, cell: string, body: string): boolean {
  if (!existsSync(docsFile)) return false;
  const text = readFileSync(docsFile, 'utf8');
  const begin = `<!-- bench:${cell}:begin -->`;
  const end = `<!-- bench:${cell}:end -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return false;
  writeFileSync(docsFile, `${text.slice(0, i + begin.length)}\n${body}\n${text.slice(j)}`);
  return true;
}
