/**
 * ChildLease: the answer timeout restarts on each submission or answer, the idle close after
 * idleMs without work; one timer each, restarted in place.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { ChildLease } from '../../daemon/sink/child-lease.js';

function fakeChild(): ChildProcessWithoutNullStreams & { killed: string[]; refs: number } {
  const c = { killed: [] as string[], refs: 0 };
  const handle = { ref: () => c.refs++, unref: () => c.refs-- };
  return Object.assign(c, handle, { stdin: { ...handle }, stdout: { ...handle }, kill: (sig: string) => c.killed.push(sig) }) as never;
}

describe('ChildLease', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('times out timeoutMs after the last activity while working, not after the first', () => {
    let idle = 0;
    const lease = new ChildLease(1000, 5000, () => idle++);
    const child = fakeChild();
    const timeouts: number[] = [];
    lease.started();
    lease.update(child, true, () => timeouts.push(Date.now()));
    vi.advanceTimersByTime(800);
    lease.update(child, true, () => timeouts.push(Date.now()));
    vi.advanceTimersByTime(800);
    expect(child.killed).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(200);
    expect(child.killed).toEqual(['SIGKILL']);
    expect(timeouts).toHaveLength(1);
    expect(idle).toBe(0);
  });

  it('closes after idleMs without work, restarting the wait on each idle update, and unrefs while idle', () => {
    let idle = 0;
    const lease = new ChildLease(1000, 5000, () => idle++);
    const child = fakeChild();
    lease.started();
    lease.update(child, true, () => undefined);
    lease.update(child, false, () => undefined);
    // child, stdin and stdout unreffed once each.
    expect(child.refs).toBe(-3);
    vi.advanceTimersByTime(4000);
    lease.update(child, false, () => undefined);
    vi.advanceTimersByTime(4000);
    expect(idle).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    // Work again: no idle close, the answer timeout guards it instead.
    lease.update(child, true, () => undefined);
    expect(child.refs).toBe(0);
    vi.advanceTimersByTime(900);
    lease.update(child, false, () => undefined);
    vi.advanceTimersByTime(4999);
    expect(idle).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle).toBe(1);
    expect(child.killed).toEqual([]);
  });

  it('arms a fresh timeout for a new child, and stop() ends both timers', () => {
    const lease = new ChildLease(1000, 5000, () => undefined);
    const first = fakeChild();
    const second = fakeChild();
    lease.started();
    lease.update(first, true, () => undefined);
    lease.update(second, true, () => undefined);
    vi.advanceTimersByTime(1000);
    expect(first.killed).toEqual([]);
    expect(second.killed).toEqual(['SIGKILL']);
    lease.update(second, true, () => undefined);
    lease.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
