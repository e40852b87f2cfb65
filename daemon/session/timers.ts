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
  /** When the pending setTimeout goes off (ms since the epoch). */
  armedFor: number;
  /** When the timer expires; later than armedFor after a cheap restart, and then re-armed. */
  deadline: number;
  durationMs: number;
  configured: number;
  /** Started with jitter: its duration is drawn afresh on each start, so never restarted cheaply. */
  jittered: boolean;
  fire: () => void;
}

/** Named one-shot timers; starting a running timer restarts it. */
export class TimerSet<Name extends string> {
  private readonly running = new Map<Name, Running>();

  /**
   * Starts `name` for `seconds` (jittered when asked) and calls `fire` on expiry.
   * A duration of 0 or less means "disabled": the timer is stopped instead.
   * Restarting a running timer without jitter only moves its deadline (the hold timer restarts on
   * every message received: a clearTimeout and setTimeout each time cost several per cent of an
   * ingest); the pending setTimeout re-arms itself for what is left when it goes off.
   */
  start(name: Name, seconds: number, fire: () => void, opts: { jitter?: boolean; random?: Random } = {}): void {
    if (!(seconds > 0)) return this.stop(name);
    const effective = opts.jitter ? jittered(seconds, opts.random) : seconds;
    const durationMs = Math.max(1, Math.round(effective * 1000));
    const now = Date.now();
    const r = this.running.get(name);
    if (r && !opts.jitter && now + durationMs >= r.armedFor) {
      r.deadline = now + durationMs;
      r.durationMs = durationMs;
      r.configured = seconds;
      r.jittered = false;
      r.fire = fire;
      return;
    }
    this.stop(name);
    const t: Running = { handle: undefined as unknown as ReturnType<typeof setTimeout>, armedFor: now + durationMs, deadline: now + durationMs, durationMs, configured: seconds, jittered: opts.jitter === true, fire };
    this.arm(name, t, durationMs);
    this.running.set(name, t);
  }

  /**
   * Restarts a running timer as of `now` (ms since the epoch) for `seconds`, keeping the expiry
   * action it was started with: what `start(name, seconds, sameFire)` does at `now`, with no
   * closure to build (the hold timer restarts on every message received).
   * False when it cannot be done that way (not running, started with jitter or for another
   * duration, or the new deadline is before the pending setTimeout): the caller then calls `start`.
   */
  restart(name: Name, seconds: number, now: number): boolean {
    const r = this.running.get(name);
    if (!r || r.jittered || r.configured !== seconds) return false;
    const deadline = now + r.durationMs;
    if (deadline < r.armedFor) return false;
    r.deadline = deadline;
    return true;
  }

  private arm(name: Name, t: Running, ms: number): void {
    t.handle = setTimeout(() => {
      if (this.running.get(name) !== t) return;
      const left = t.deadline - Date.now();
      if (left > 0) {
        t.armedFor = t.deadline;
        return this.arm(name, t, left);
      }
      this.running.delete(name);
      t.fire();
    }, ms);
    t.handle.unref?.();
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
    return { left: Math.max(0, (r.deadline - Date.now()) / 1000), configured: r.configured };
  }
}
