/**
 * When V8 optimises: TurboFan later while the daemon's sessions come up, V8's own policy after.
 *
 * V8 checks whether to optimise a function each time it has run `--interrupt-budget` bytes of
 * bytecode. While the configured peers come up, the session, codec and RIB code runs a few dozen
 * times per peer; at V8's default budget TurboFan compiles much of it, for calls that mostly never
 * come again: about a fifth of a daemon's CPU in a full mesh's session phase (issue 10, mesh cell,
 * M = 30). Four times the budget leaves that code to the interpreter and baseline compiler: about
 * 10 ms less CPU per daemon there. A large table is another matter: its loops run hundreds of
 * thousands of times and want TurboFan early (re-advertising 100k routes of four per set to ten
 * peers took up to 6 % more CPU in runs with the larger budget throughout), so V8's budget comes
 * back once every configured peer has been Established, or after `maxMs` at most (a peer that
 * never comes up).
 *
 * PETREL_INTERRUPT_BUDGET=off leaves V8's budget alone; =<bytes> uses that budget for the phase.
 */

/** V8's --interrupt-budget in Node 20 (V8 11.3); daemon/launcher.cjs restores it before writing a code cache too. */
export const V8_INTERRUPT_BUDGET = 67584;
/** The budget while the sessions come up. */
export const SESSION_PHASE_INTERRUPT_BUDGET = 4 * V8_INTERRUPT_BUDGET;
/** The phase ends at the latest this long after it started. */
export const SESSION_PHASE_MAX_MS = 30_000;

/** The budget for the session phase from PETREL_INTERRUPT_BUDGET, or undefined (off); `warning` when the value was not understood. */
export function sessionPhaseBudget(value: string | undefined): { budget: number | undefined; warning?: string } {
  if (value === 'off') return { budget: undefined };
  if (value === undefined || value === '') return { budget: SESSION_PHASE_INTERRUPT_BUDGET };
  // A positive number that fits V8's int flag.
  if (/^[1-9][0-9]{0,8}$/.test(value)) return { budget: Number(value) };
  return { budget: SESSION_PHASE_INTERRUPT_BUDGET, warning: `PETREL_INTERRUPT_BUDGET=${value} is not a number of bytes or off; using ${SESSION_PHASE_INTERRUPT_BUDGET}` };
}

export interface SessionPhaseOptions {
  /** From sessionPhaseBudget; undefined: the phase changes nothing. */
  readonly budget: number | undefined;
  /** v8.setFlagsFromString. */
  readonly setFlags: (flags: string) => void;
  /** Names of the peers configured at start. */
  readonly peers: () => readonly string[];
  readonly maxMs?: number;
  /** Called once when V8's budget is back: why, and how many configured peers were up. */
  readonly onEnd?: (why: 'all peers up' | 'time limit', up: number, configured: number) => void;
}

/**
 * The session phase of one daemon start. Sessions report each peer that reached Established
 * (`peerUp`) from the start, before `begin` too: a start slower than the connect delay can see
 * every peer up before the daemon has finished starting, and then `begin` changes nothing.
 */
export class SessionPhase {
  private readonly up = new Set<string>();
  private state: 'before' | 'running' | 'over' = 'before';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SessionPhaseOptions) {}

  get running(): boolean {
    return this.state === 'running';
  }

  /** The daemon has started: the larger budget applies until every configured peer has been up. */
  begin(): void {
    if (this.state !== 'before' || this.opts.budget === undefined) return;
    if (this.allUp()) {
      this.state = 'over';
      return;
    }
    this.state = 'running';
    this.opts.setFlags(`--interrupt-budget=${this.opts.budget}`);
    this.timer = setTimeout(() => this.end('time limit'), this.opts.maxMs ?? SESSION_PHASE_MAX_MS);
    this.timer.unref();
  }

  peerUp(name: string): void {
    if (this.state === 'over') return;
    this.up.add(name);
    if (this.state === 'running' && this.allUp()) this.end('all peers up');
  }

  /** Ends the phase now (shutdown, or the limit): V8's budget again. */
  end(why: 'all peers up' | 'time limit' = 'time limit'): void {
    if (this.state !== 'running') {
      this.state = 'over';
      return;
    }
    this.state = 'over';
    clearTimeout(this.timer);
    this.opts.setFlags(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
    const configured = this.opts.peers();
    this.opts.onEnd?.(why, configured.filter((p) => this.up.has(p)).length, configured.length);
  }

  private allUp(): boolean {
    return this.opts.peers().every((p) => this.up.has(p));
  }
}
