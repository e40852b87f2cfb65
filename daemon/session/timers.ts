/**
 * Session timers: RFC 4271 §10 jitter, the error-wait backoff, and a named timer set whose
 * remaining times the status report can read. Uses the global setTimeout so vitest's fake timers
 * drive it in tests.
 */

export type Random = () => number;

/** RFC 4271 §10: subtract a random 0–25 % so that peers do not fall into lock-step. */
export function jittered(seconds: number, random: Random = Math.random): number {
  return seconds * (1 - 0.25 * random());
}

/**
 * BIRD's error wait: the first delay after an error is `min`, each further error within
 * `forgetAfter` seconds of the previous one doubles it, capped at `max`; a quiet spell resets it.
 */
export class ErrorWait {
  private current = 0;
  private lastErrorAt = -Infinity;

  constructor(
    private readonly min: number,
    private readonly max: number,
    private readonly forgetAfterMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The delay (seconds) to wait after an error happening now. */
  next(): number {
    const t = this.now();
    if (this.current === 0 || t - this.lastErrorAt > this.forgetAfterMs) this.current = this.min;
    else this.current = Math.min(this.max, this.current * 2);
    this.lastErrorAt = t;
    return this.current;
  }

  reset(): void {
    this.current = 0;
    this.lastErrorAt = -Infinity;
  }
}

interface Running {
  handle: ReturnType<typeof setTimeout>;
  startedAt: number;
  durationMs: number;
  configured: number;
}

/** Named one-shot timers; starting a running timer restarts it. */
export class TimerSet<Name extends string> {
  private readonly running = new Map<Name, Running>();

  /**
   * Starts `name` for `seconds` (jittered when asked) and calls `fire` on expiry.
   * A duration of 0 or less means "disabled": the timer is stopped instead.
   */
  start(name: Name, seconds: number, fire: () => void, opts: { jitter?: boolean; random?: Random } = {}): void {
    this.stop(name);
    if (!(seconds > 0)) return;
    const effective = opts.jitter ? jittered(seconds, opts.random) : seconds;
    const durationMs = Math.max(1, Math.round(effective * 1000));
    const handle = setTimeout(() => {
      this.running.delete(name);
      fire();
    }, durationMs);
    handle.unref?.();
    this.running.set(name, { handle, startedAt: Date.now(), durationMs, configured: seconds });
  }

  stop(name: Name): void {
    const r = this.running.get(name);
    if (r) {
      clearTimeout(r.handle);
      this.running.delete(name);
    }
  }

  stopAll(): void {
    for (const r of this.running.values()) clearTimeout(r.handle);
    this.running.clear();
  }

  isRunning(name: Name): boolean {
    return this.running.has(name);
  }

  /** Seconds left and the configured value, as BIRD prints `remaining/configured`. */
  remaining(name: Name): { left: number; configured: number } | undefined {
    const r = this.running.get(name);
    if (!r) return undefined;
    return { left: Math.max(0, (r.startedAt + r.durationMs - Date.now()) / 1000), configured: r.configured };
  }
}
