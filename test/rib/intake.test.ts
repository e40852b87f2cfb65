import { describe, expect, it } from 'vitest';
import { HIGH_WATER_BYTES, LOW_WATER_BYTES, UpdateIntake, type IntakeTarget } from '../../daemon/rib/intake.js';
import { defaultCodecContext } from '../../proto/index.js';

const ctx = defaultCodecContext();
const msg = (tag: number, size = 100) => new Uint8Array(size).fill(tag);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

class Target implements IntakeTarget {
  applied: [string, number][] = [];
  failures: [string, unknown][] = [];
  idle = true;
  private waiters: (() => void)[] = [];
  throwOn = -1;
  pause?: (peer: string) => void;
  resume?: (peer: string) => void;
  /** One unit of work per byte, so budgets read as bytes here. */
  work = 0;
  apply(peer: string, message: Uint8Array): void {
    this.work += message.length;
    if (message[0] === this.throwOn) throw new Error(`bad ${this.throwOn}`);
    this.applied.push([peer, message[0]!]);
  }
  checked: number[] = [];
  check(_peer: string, message: Uint8Array): void {
    if (message[0] === this.throwOn) throw new Error(`malformed ${this.throwOn}`);
    this.checked.push(message[0]!);
  }
  failed(peer: string, error: unknown): void {
    this.failures.push([peer, error]);
  }
  whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
  setIdle(): void {
    this.idle = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

async function until(cond: () => boolean, turns = 1000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await turn();
  expect(cond()).toBe(true);
}

describe('UpdateIntake', () => {
  it('applies at once while the engine is idle and the turn budget lasts; then queues and drains one budget per turn, in order', async () => {
    const t = new Target();
    const intake = new UpdateIntake(t, 250);
    for (let i = 1; i <= 10; i++) intake.receive('A', msg(i), ctx);
    // 100 units each (plus 4 per message): three fit the 250-unit budget of this turn (the third starts under it).
    expect(t.applied.map((a) => a[1])).toEqual([1, 2, 3]);
    expect(intake.backlog).toBe(7);
    await turn();
    expect(t.applied.length).toBeLessThan(10);
    await until(() => intake.backlog === 0);
    expect(t.applied.map((a) => a[1])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('waits while the engine is busy, and a message arriving meanwhile queues behind the waiting ones', async () => {
    const t = new Target();
    const intake = new UpdateIntake(t, 1e6);
    t.idle = false;
    intake.receive('A', msg(1), ctx);
    intake.receive('B', msg(2), ctx);
    await turn();
    await turn();
    expect(t.applied).toEqual([]);
    t.setIdle();
    intake.receive('A', msg(3), ctx);
    await until(() => intake.backlog === 0);
    expect(t.applied).toEqual([['A', 1], ['B', 2], ['A', 3]]);
  });

  it('flush applies everything waiting at once, in order (before another engine call)', () => {
    const t = new Target();
    const intake = new UpdateIntake(t, 100);
    intake.receive('A', msg(1), ctx);
    intake.receive('B', msg(2), ctx);
    intake.receive('A', msg(3), ctx);
    expect(intake.backlog).toBe(2);
    intake.flush();
    expect(intake.backlog).toBe(0);
    expect(t.applied).toEqual([['A', 1], ['B', 2], ['A', 3]]);
  });

  it('drops the waiting messages of a peer whose session ended', async () => {
    const t = new Target();
    const intake = new UpdateIntake(t, 100);
    intake.receive('A', msg(1), ctx);
    intake.receive('A', msg(2), ctx);
    intake.receive('B', msg(3), ctx);
    intake.receive('A', msg(4), ctx);
    intake.drop('A');
    await until(() => intake.backlog === 0);
    expect(t.applied).toEqual([['A', 1], ['B', 3]]);
  });

  it('throws to the session for a malformed message applied at once, or checked on its way to wait behind an engine task', async () => {
    const t = new Target();
    const intake = new UpdateIntake(t, 1000);
    t.throwOn = 1;
    expect(() => intake.receive('A', msg(1), ctx)).toThrow(/bad 1/);
    t.idle = false;
    intake.receive('A', msg(2), ctx);
    t.throwOn = 3;
    expect(() => intake.receive('A', msg(3), ctx)).toThrow(/malformed 3/);
    expect(intake.backlog).toBe(1);
    intake.receive('A', msg(4), ctx);
    expect(t.checked).toEqual([2, 4]);
    t.setIdle();
    await until(() => intake.backlog === 0);
    expect(t.applied).toEqual([['A', 2], ['A', 4]]);
  });

  it('reports a waiting message that fails when applied, and drops the rest of that peer', async () => {
    const t = new Target();
    const intake = new UpdateIntake(t, 100);
    intake.receive('A', msg(1), ctx);
    intake.receive('A', msg(2), ctx);
    intake.receive('B', msg(3), ctx);
    intake.receive('A', msg(4), ctx);
    // Applying fails where checking did not (the engine's state, or a bug).
    t.throwOn = 2;
    t.check = () => undefined;
    await until(() => intake.backlog === 0);
    expect(t.applied).toEqual([['A', 1], ['B', 3]]);
    expect(t.failures).toHaveLength(1);
    expect(t.failures[0]![0]).toBe('A');
  });

  it('applies waiting messages that are views into shared read buffers with exactly their bytes, in order, through compaction and a dropped peer', async () => {
    // Each "read" is one buffer holding many messages, as the framer hands them out (views).
    const received: [string, number[]][] = [];
    const t = new Target();
    t.apply = (peer: string, message: Uint8Array) => {
      t.work += 1;
      received.push([peer, [...message]]);
    };
    const intake = new UpdateIntake(t, 64);
    const expected: [string, number[]][] = [];
    let n = 0;
    for (let read = 0; read < 40; read++) {
      const buf = new Uint8Array(300 * 7 + 5);
      for (let i = 0; i < 300; i++, n++) {
        const peer = n % 5 === 0 ? 'B' : 'A';
        const bytes = [n & 255, (n >> 8) & 255, read, 1 + (n % 4)];
        buf.set(bytes, 5 + i * 7);
        intake.receive(peer, buf.subarray(5 + i * 7, 5 + i * 7 + bytes.length), ctx);
        expected.push([peer, bytes]);
      }
      // Part way, B goes down: its waiting messages are forgotten; those applied stay applied.
      if (read === 20) {
        intake.drop('B');
        const appliedB = received.filter((r) => r[0] === 'B');
        for (let i = expected.length - 1; i >= 0; i--) if (expected[i]![0] === 'B') expected.splice(i, 1);
        expected.push(...appliedB);
      }
    }
    await until(() => intake.backlog === 0, 10_000);
    const sortByPeer = (xs: [string, number[]][]) => [...xs.filter((x) => x[0] === 'A'), ...xs.filter((x) => x[0] === 'B')];
    expect(sortByPeer(received)).toEqual(sortByPeer(expected));
    expect(received.length).toBeGreaterThan(4096);
  });

  it('pauses the session that brings the waiting bytes past HIGH_WATER_BYTES, once, and resumes it when LOW_WATER_BYTES or less wait', async () => {
    const t = new Target();
    const events: string[] = [];
    t.pause = (peer: string) => void events.push(`pause ${peer} ${intake.backlog}`);
    t.resume = (peer: string) => void events.push(`resume ${peer} ${intake.backlog}`);
    // Messages of a tenth of the high-water mark, one per turn.
    const size = HIGH_WATER_BYTES / 10;
    const intake = new UpdateIntake(t, size);
    // One message per socket read: the session reports each read done after handing its messages over.
    for (let i = 1; i <= 16; i++) {
      const peer = i % 4 === 0 ? 'B' : 'A';
      intake.receive(peer, msg(i, size), ctx);
      intake.readDone(peer);
    }
    // The first applied at once; 15 wait: the read that brought the 11th waiting (from B) passed the mark and
    // paused B; the next read (from A) paused A; later ones pause nobody twice.
    expect(events).toEqual(['pause B 11', 'pause A 12']);
    await until(() => intake.backlog === 0);
    // Resumed after the turn that left at most the low-water mark (two messages) waiting.
    expect(2 * size).toBeLessThanOrEqual(LOW_WATER_BYTES);
    expect(3 * size).toBeGreaterThan(LOW_WATER_BYTES);
    expect(events.slice(2)).toEqual(['resume B 2', 'resume A 2']);
    expect(t.applied.map((a) => a[1])).toEqual([...Array(16).keys()].map((i) => i + 1));
  });

  it('drains a whole budget in one turn, however many messages that is', async () => {
    const t = new Target();
    t.idle = false;
    const intake = new UpdateIntake(t, 1e9);
    for (let i = 0; i < 300; i++) intake.receive('A', msg(i % 256, 10), ctx);
    expect(intake.backlog).toBe(300);
    t.setIdle();
    await until(() => intake.backlog < 300);
    // The first turn that applied anything applied all of them (the budget is not reached).
    expect(intake.backlog).toBe(0);
    expect(t.applied).toHaveLength(300);
  });

  it('pauses only when a read is done, not part way through one', () => {
    const t = new Target();
    const events: string[] = [];
    t.pause = (peer: string) => void events.push(`pause ${peer} ${intake.backlog}`);
    t.idle = false;
    const intake = new UpdateIntake(t, 1e9);
    // One read bringing twice the high-water mark: nobody is paused until the read is done.
    for (let i = 1; i <= 20; i++) intake.receive('A', msg(i, HIGH_WATER_BYTES / 10), ctx);
    expect(events).toEqual([]);
    intake.readDone('A');
    intake.readDone('A');
    expect(events).toEqual(['pause A 20']);
    // A read of another session that leaves the mark passed stops that one too.
    intake.readDone('B');
    expect(events).toEqual(['pause A 20', 'pause B 20']);
  });

  it('forgets a paused session that ended, and resumes the others if little is left', async () => {
    const t = new Target();
    const events: string[] = [];
    t.pause = (peer: string) => void events.push(`pause ${peer}`);
    t.resume = (peer: string) => void events.push(`resume ${peer}`);
    t.idle = false;
    const intake = new UpdateIntake(t, 1e9);
    for (let i = 1; i <= 13; i++) {
      const peer = i <= 11 ? 'A' : 'B';
      intake.receive(peer, msg(i, HIGH_WATER_BYTES / 10), ctx);
      intake.readDone(peer);
    }
    expect(events).toEqual(['pause A', 'pause B']);
    // A's session ends: its eleven messages go; B's two are under the low-water mark.
    intake.drop('A');
    expect(events).toEqual(['pause A', 'pause B', 'resume B']);
    t.setIdle();
    await until(() => intake.backlog === 0);
    expect(t.applied.map((a) => a[1])).toEqual([12, 13]);
  });
});
