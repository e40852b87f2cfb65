/**
 * A speaker under test (BIRD or Petrel) running inside a namespace: its process, control socket and
 * memory figures. Both kinds are started by their own module (bird.ts, petrel.ts) and stopped here.
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { CtlClient } from './ctl-client.js';
import { waitFor } from '../lab/netns.js';

export type SpeakerKind = 'bird' | 'petrel';

/** One BGP neighbour as the benchmark scenarios describe it (both speakers get the same list). */
export interface BenchNeighbor {
  /** Protocol name on the control socket (BIRD naming rules: letters, digits, underscore). */
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  /** What the speaker sends to this neighbour: everything it knows, or nothing. */
  readonly exportAll: boolean;
}

/** What a single speaker in a hub cell (ingest, propagate, kernel, ctl) is configured with. */
export interface HubSpeakerConfig {
  readonly nodeName: string;
  readonly routerId: string;
  readonly asn: number;
  readonly address: string;
  /** Prefix length of the address on its link. */
  readonly addressLen: number;
  readonly neighbors: readonly BenchNeighbor[];
  /** Program learned routes into the namespace's kernel table. */
  readonly kernel: boolean;
}

export class SpeakerProcess {
  private exitCode: number | null | undefined;
  stderr = '';

  constructor(
    readonly kind: SpeakerKind,
    readonly ns: string,
    readonly ctlPath: string,
    readonly child: ChildProcess,
    readonly workDir: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 64_000) this.stderr += d.toString();
    });
    child.stdout?.on('data', () => undefined);
    child.on('exit', (code) => (this.exitCode = code));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Waits until the control socket greets us; fails fast if the process died. */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `${this.kind} control socket ${this.ctlPath}`,
      async () => {
        if (!this.running) throw new Error(`${this.kind} exited (${this.exitCode}): ${this.stderr.trim().slice(-800)}`);
        const c = await CtlClient.connect(this.ctlPath, 1000);
        c.close();
        return true;
      },
      timeoutMs,
      50,
    );
  }

  /** kB from /proc/<pid>/status: VmHWM (peak RSS) and VmRSS. */
  memory(): { peakKb: number; rssKb: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakKb: field('VmHWM'), rssKb: field('VmRSS') };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
