/**
 * UPDATE messages on their way from the sessions into the route engine.
 *
 * A message is applied at once (decoded and put in the RIB inside the socket read that brought it)
 * while the engine is idle and this turn of the event loop has not yet spent its budget of work
 * (the engine's units: a decision plus one per peer it is exported to, so a peer's table costs
 * more turns when it goes to a hundred peers than to none). Past the budget, or while the engine works through a queued task, messages wait here as the
 * bytes received (a full table is a few MiB on the wire, where decoded UPDATEs and a promise
 * each cost hundreds of MB and most of the ingest in GC) and are applied one budget per turn,
 * so timers, keepalives and the control socket get a turn between budgets. The sessions read
 * faster than that: a session whose socket read leaves more than HIGH_WATER_BYTES waiting stops
 * reading (TCP flow control keeps the rest of its table at the peer) until LOW_WATER_BYTES or
 * less wait. The session asks after each read (readDone), not receive after each message: that
 * branch, first taken part way through a table, threw away the compiled code of receive and of
 * the session code it is inlined into; the session's per-read handler runs too rarely to be
 * compiled at all.
 *
 * A message that waits behind an engine task is decoded once on arrival too (the result dropped),
 * so a malformed one is still thrown back to its session from the read that brought it; one that
 * waits only for the next turn is checked when applied, and a malformed one then resets its
 * session through `failed` (same NOTIFICATION code and subcode, no data).
 *
 * Order is kept: a message that arrives while others wait queues behind them, and any other call
 * into the engine (peer up/down, a stale purge after End-of-RIB, new intent, the kernel reconcile)
 * first applies everything that waits (flush, from the engine's beforeTask hook), so every call
 * sees the routes that arrived before it, as when each UPDATE was queued in the engine itself.
 */
import type { CodecContext } from '../../proto/context.js';

export interface IntakeTarget {
  /** Decodes and applies one UPDATE; may throw (a session-reset error for the session to answer). */
  apply(peer: string, message: Uint8Array, context: CodecContext): void;
  /**
   * Validates a message that is about to wait behind an engine task (decoding it and dropping the
   * result): a malformed one throws to its session at once, as when it is applied at once.
   */
  check(peer: string, message: Uint8Array, context: CodecContext): void;
  /** A waiting message failed when applied later: its session must be reset (or the bug logged). */
  failed(peer: string, error: unknown): void;
  /** Units of RIB work done so far (monotonic): what a message cost is read around apply. */
  readonly work: number;
  /** True while the engine has no queued task. */
  readonly idle: boolean;
  /** Resolves once the engine has no queued task. */
  whenIdle(): Promise<void>;
  /** Stop reading from `peer` (a read of it left more than HIGH_WATER_BYTES waiting); resume once LOW_WATER_BYTES or less do. */
  pause?(peer: string): void;
  resume?(peer: string): void;
}

/** Work per turn of the event loop: ~4,000 prefixes decided with no peer to export to, ~370 with ten: a few ms. */
export const DEFAULT_WORK_PER_TURN = 4096;
/** The work counted for a message on top of what the engine reports (decoding, an ignored UPDATE). */
const MESSAGE_COST = 4;
/** Messages applied per applyRun call (see drain). */
const APPLY_RUN = 64;
/**
 * Bytes waiting past which a session whose read leaves them is paused (TCP flow control then holds the
 * rest of its table in the kernel and at the peer, not here), and at or under which paused
 * sessions read again: a few turns of work, so the RIB never waits for a read. Also bounds what
 * one turn frames and queues (a cold process does that slowly; the control socket waits).
 */
export const HIGH_WATER_BYTES = 256 << 10;
export const LOW_WATER_BYTES = 64 << 10;

export class UpdateIntake {
  // The three queues are emptied and compacted in place, never replaced: a field that keeps the
  // value it was given at construction is a constant to V8, and storing a new array in it later
  // (the first compaction, mid-table) threw away the compiled code of every function that reads it
  // (receive, push, applyNext, the session's update handler; ~50 ms of recompiles in a 100k ingest).
  private readonly peers: string[] = [];
  private readonly messages: Uint8Array[] = [];
  private readonly contexts: CodecContext[] = [];
  /** Set to 0 by the constructor: stored twice, V8 does not take it for a constant (see there). */
  private head = -1;
  /** Bytes of the waiting messages. */
  private waitingBytes = 0;
  /** Sessions told to stop reading. */
  private readonly paused = new Set<string>();
  private turnWork = 0;
  private turnResetScheduled = false;
  private draining = false;
  private flushing = false;

  constructor(
    private readonly target: IntakeTarget,
    private readonly workPerTurn = DEFAULT_WORK_PER_TURN,
  ) {
    // The read position changes first when the first waiting message is applied, part way through
    // the first table, by when receive and the session code that inlines it may be compiled with
    // it as a constant 0; a second store here makes it a plain field from the start.
    this.head = 0;
  }

  /** Messages waiting. */
  get backlog(): number {
    return this.messages.length - this.head;
  }

  /** One received UPDATE. Throws what apply throws when the message is applied at once. */
  receive(peer: string, message: Uint8Array, context: CodecContext): void {
    if (this.backlog === 0 && this.target.idle && this.turnWork < this.workPerTurn) {
      const before = this.target.work;
      try {
        this.target.apply(peer, message, context);
      } finally {
        this.spend(this.target.work - before + MESSAGE_COST);
      }
      return;
    }
    // Waiting behind a task (a session that just came up): validate now, so a malformed UPDATE is
    // answered from the read that brought it. Waiting for the next turn: validated when applied.
    if (!this.target.idle) this.target.check(peer, message, context);
    this.push(peer, message, context);
    this.scheduleDrain();
  }

  /**
   * Every message of one socket read of `peer` was received: past HIGH_WATER_BYTES waiting, that
   * session stops reading (once) until LOW_WATER_BYTES or less wait.
   */
  readDone(peer: string): void {
    if (this.waitingBytes > HIGH_WATER_BYTES && !this.paused.has(peer)) {
      this.paused.add(peer);
      this.target.pause?.(peer);
    }
  }

  /** Applies every waiting message now (in order; into the engine's queue if it is busy). */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.backlog > 0) this.applyNext();
      this.compact();
      this.resumeIfLow();
    } finally {
      this.flushing = false;
    }
  }

  /** Forgets the waiting messages of `peer` (its session ended: they must not reach a later one). */
  drop(peer: string): void {
    // Its session ended: a later one starts reading on its own.
    this.paused.delete(peer);
    if (this.backlog > 0) {
      const { head } = this;
      const peers = this.peers.slice(head);
      const messages = this.messages.slice(head);
      const contexts = this.contexts.slice(head);
      this.clear();
      for (let i = 0; i < messages.length; i++) if (peers[i] !== peer) this.push(peers[i]!, messages[i]!, contexts[i]!);
    }
    this.resumeIfLow();
  }

  private push(peer: string, message: Uint8Array, context: CodecContext): void {
    this.peers.push(peer);
    this.messages.push(message);
    this.contexts.push(context);
    this.waitingBytes += message.length;
  }

  private clear(): void {
    this.peers.length = 0;
    this.messages.length = 0;
    this.contexts.length = 0;
    this.head = 0;
    this.waitingBytes = 0;
  }

  /** Paused sessions read again once little is left waiting. */
  private resumeIfLow(): void {
    if (this.paused.size === 0 || this.waitingBytes > LOW_WATER_BYTES) return;
    const peers = [...this.paused];
    this.paused.clear();
    for (const p of peers) this.target.resume?.(p);
  }

  private applyNext(): void {
    const i = this.head++;
    const peer = this.peers[i]!;
    const message = this.messages[i]!;
    const context = this.contexts[i]!;
    this.messages[i] = EMPTY;
    this.waitingBytes -= message.length;
    const before = this.target.work;
    try {
      this.target.apply(peer, message, context);
    } catch (e) {
      // The session is being reset: what it sent after the bad message must not be applied.
      this.drop(peer);
      this.target.failed(peer, e);
    }
    this.spend(this.target.work - before + MESSAGE_COST);
  }

  private spend(units: number): void {
    this.turnWork += units;
    if (this.turnResetScheduled) return;
    this.turnResetScheduled = true;
    setImmediate(() => {
      this.turnWork = 0;
      this.turnResetScheduled = false;
    });
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.backlog > 0) {
        if (!this.target.idle) await this.target.whenIdle();
        // What this turn already applied at once (in the socket reads) counts against its budget.
        // In runs of at most APPLY_RUN messages per call: with the loop here, V8 compiled drain on
        // the stack part way through its first turn, before the code after the loop had ever run,
        // and threw that away again at the end of the turn (resumeIfLow without type feedback).
        while (this.applyRun());
        this.compact();
        this.resumeIfLow();
        if (this.backlog > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Applies up to APPLY_RUN waiting messages while the engine is idle and the turn's budget lasts; true while it may go on. */
  private applyRun(): boolean {
    for (let n = 0; n < APPLY_RUN; n++) {
      if (this.backlog === 0 || !this.target.idle || this.turnWork >= this.workPerTurn) return false;
      this.applyNext();
    }
    return true;
  }

  private compact(): void {
    if (this.head === 0) return;
    if (this.head === this.messages.length) this.clear();
    else if (this.head > 4096 && this.head * 2 > this.messages.length) {
      this.peers.splice(0, this.head);
      this.messages.splice(0, this.head);
      this.contexts.splice(0, this.head);
      this.head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
