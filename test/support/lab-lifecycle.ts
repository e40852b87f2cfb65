/**
 * One lab per test file: brought up (and made ready) before the file's tests, torn down after
 * them, and torn down at once when bringing it up fails, so a failed start never leaves
 * namespaces or daemons behind.
 */
import { afterAll, beforeAll } from 'vitest';
import { waitFor } from '../../tools/lab/netns.js';

export interface Lab {
  up(): Promise<void>;
  down(): Promise<void>;
}

export interface LabLifecycle {
  /** Runs after up(): more set-up, or a wait until the lab has converged. */
  readonly ready?: () => Promise<unknown>;
  /** Bound for up() plus ready(). */
  readonly upTimeoutMs: number;
  readonly downTimeoutMs?: number;
  /** A line printed before teardown: what the file's tests measured. */
  readonly report?: () => string;
}

export function labForFile(lab: Lab, opts: LabLifecycle): void {
  beforeAll(async () => {
    try {
      await lab.up();
      await opts.ready?.();
    } catch (e) {
      await lab.down();
      throw e;
    }
  }, opts.upTimeoutMs);
  afterAll(async () => {
    if (opts.report) console.log(opts.report());
    await lab.down();
  }, opts.downTimeoutMs ?? 60_000);
}

/** waitFor (polling every 100 ms), with the lab's diagnostics (daemon log tails) in the error when it times out. */
export async function untilOrDiagnose<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number, diagnostics: () => string): Promise<T> {
  try {
    return await waitFor(what, probe, timeoutMs, 100);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${diagnostics()}`);
  }
}
