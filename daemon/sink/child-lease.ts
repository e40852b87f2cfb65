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
   */
  update(child: ChildProcessWithoutNullStreams, working: boolean, onTimeout: () => void): void {
    this.stop();
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
      this.timer = setTimeout(() => {
        onTimeout();
        child.kill('SIGKILL');
      }, this.timeoutMs);
    } else {
      this.idleTimer = setTimeout(this.onIdle, this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** Stops the idle timer only: the child is closing, and answers still outstanding stay guarded. */
  stopIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Stops both timers (the child is gone). */
  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.idleTimer);
    this.timer = undefined;
    this.idleTimer = undefined;
  }
}
