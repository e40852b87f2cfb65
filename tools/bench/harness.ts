/**
 * What every cell shares: options, the alternating BIRD/Petrel run loop, and the result records that
 * go to JSON and markdown. A sample is one run of one speaker; a variant is one parameter point of a
 * cell (e.g. ingest N=1M, one attribute set).
 */
import { cpus } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import type { SpeakerKind } from './speaker.js';

export interface BenchOptions {
  readonly quick: boolean;
  readonly runs: number;
  /** Which speakers to run (default both). */
  readonly kinds: readonly SpeakerKind[];
  readonly log: (line: string) => void;
}

export interface Sample {
  readonly kind: SpeakerKind;
  readonly run: number;
  /** The cell's primary figure (ms unless the variant says otherwise); undefined when the run failed. */
  readonly value?: number;
  readonly extra: Readonly<Record<string, number>>;
  readonly error?: string;
}

export interface VariantResult {
  readonly variant: string;
  readonly metric: string;
  readonly unit: string;
  readonly samples: Sample[];
  /** Reference figures measured in the same run (injector alone, `ip -batch` floor, ...). */
  readonly reference: Record<string, number>;
  readonly notes: string[];
}

export interface CellResult {
  readonly cell: string;
  readonly title: string;
  readonly command: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: MachineInfo;
  /** 1-minute load average at the start and end of the cell (other work on a shared machine skews absolute times). */
  readonly loadAvg: readonly [start: number, end: number];
  readonly variants: VariantResult[];
}

/** What a cell runner returns; main.ts adds the run metadata. */
export type CellPart = Omit<CellResult, 'command' | 'machine' | 'startedAt' | 'durationMs' | 'loadAvg'>;

export interface MachineInfo {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly bird: string;
  readonly kernel: string;
}

export function machineInfo(): MachineInfo {
  // bird prints its version on stderr
  const v = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  const birdVersion = `${v.stdout ?? ''}${v.stderr ?? ''}`.trim() || 'unknown';
  let kernel = 'unknown';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {
    /* leave unknown */
  }
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, bird: birdVersion.replace(/^BIRD version /, ''), kernel };
}

/** Thrown by a Petrel runner when the daemon cannot run the cell; the harness records it once and skips Petrel for the rest of the variant. */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
}

export interface RunOutcome {
  readonly value: number;
  readonly extra?: Record<string, number>;
}

/**
 * Runs `runs` rounds; each round runs every kind once, alternating which goes first so that drift
 * on a shared machine lands on both sides. Failures are recorded, not thrown.
 */
export async function runAlternating(opts: BenchOptions, variant: VariantResult, runOne: (kind: SpeakerKind, run: number) => Promise<RunOutcome>): Promise<void> {
  const skip = new Set<SpeakerKind>();
  for (let run = 0; run < opts.runs; run++) {
    const order = run % 2 === 0 ? opts.kinds : [...opts.kinds].reverse();
    for (const kind of order) {
      if (skip.has(kind)) continue;
      try {
        const o = await runOne(kind, run);
        variant.samples.push({ kind, run, value: o.value, extra: o.extra ?? {} });
        opts.log(`  ${variant.variant} ${kind} run ${run + 1}: ${o.value.toFixed(1)} ${variant.unit}${formatExtra(o.extra)}`);
      } catch (e) {
        const message = (e as Error).message;
        variant.samples.push({ kind, run, extra: {}, error: message });
        opts.log(`  ${variant.variant} ${kind} run ${run + 1}: FAILED ${message.slice(0, 300)}`);
        // A speaker that is not ready, or that ran into the cell's time bound, is not run again in
        // this variant: the cell stays bounded in time and the table says why.
        if (e instanceof NotReadyError || isTimeout(message)) skip.add(kind);
      }
    }
  }
}

/** Errors of the cells' bounded waits ("... after 60000 ms", "... within 60000 ms", "timed out"). */
export function isTimeout(message: string): boolean {
  return /timed out|(after|within) \d+ ms/.test(message);
}

function formatExtra(extra: Record<string, number> | undefined): string {
  if (!extra) return '';
  const parts = Object.entries(extra).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function newVariant(variant: string, metric: string, unit = 'ms'): VariantResult {
  return { variant, metric, unit, samples: [], reference: {}, notes: [] };
}
