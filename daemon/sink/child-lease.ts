/**
 * How a long-lived sink child (the `ip -batch` process, the netlink helper) is kept: while answers
 * are outstanding the child and its pipes keep Node running and a timeout guards the answer; once
 * idle they stop keeping Node running, and after `idleMs` without work the child is let go.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

interface Refable {
  ref(): void;
  unref(): void;
}

export class ChildLease {
  private timer: NodeJS.Timeout | undefined;
  /** The child `timer` kills. */
  private timerChild: ChildProcessWithoutNullStreams | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private reffed = true;

  constructor(
    private readonly timeoutMs: number,
    private readonly idleMs: number,
    /** Lets the child go (stdin EOF) after idleMs without work. */
    private readonly onIdle: () => void,
  ) {}

  /** A child was just spawned: it starts out keeping Node running. */
  started(): void {
    this.reffed = true;
  }

  /**
   * Re-arms for the current state: `working` while answers are outstanding; `onTimeout` runs (and
   * the child is killed) when none came within timeoutMs.
   *
   * Called on every submission and every answer (per route when routes change one at a time): a
   * timer already running for the same child and state is restarted in place (refresh), where a
   * clear and a new setTimeout allocated a timer and, the list of its duration being left empty,
   * rebuilt that list too.
   */
  update(child: ChildProcessWithoutNullStreams, working: boolean, onTimeout: () => void): void {
    if (working !== this.reffed) {
      this.reffed = working;
      // The pipes are sockets underneath, each a handle that would keep Node running. stderr is
      // left alone: it may close early (a shell redirects it), and a closed socket's ref() waits
      // for a connect.
      for (const h of [child, child.stdin, child.stdout] as unknown as Refable[]) {
        if (working) h.ref();
        else h.unref();
      }
    }
    if (working) {
      this.clearIdle();
      if (this.timer !== undefined && this.timerChild === child) {
        this.timer.refresh();
        return;
      }
      clearTimeout(this.timer);
      this.timerChild = child;
      this.timer = setTimeout(() => {
        onTimeout();
        child.kill('SIGKILL');
      }, this.timeoutMs);
    } else {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerChild = undefined;
      if (this.idleTimer !== undefined) this.idleTimer.refresh();
      else {
        this.idleTimer = setTimeout(this.onIdle, this.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  private clearIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Stops the idle timer only: the child is closing, and answers still outstanding stay guarded. */
  stopIdle(): void {
    this.clearIdle();
  }

  /** Stops both timers (the child is gone). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerChild = undefined;
    this.clearIdle();
  }
}
