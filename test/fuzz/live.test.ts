/**
 * CI-sized live fuzzing: a fuzzing peer on loopback completes OPEN/KEEPALIVE with Petrel's
 * session layer and sends mutated streams; each must leave the session up (clean,
 * treat-as-withdraw, discard) or close it with exactly the NOTIFICATION the codec prescribes,
 * while a second, well-behaved session stays Established throughout.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runLiveFuzz, runOpenFuzz } from '../../tools/fuzz/live.js';

const CORPUS = join(import.meta.dirname, 'corpus');

describe('live session under mutated input', () => {
  it('answers every stream as the model predicts and keeps the witness session up', async () => {
    // 127.0.0.x addresses unique to this file so parallel test files never share a peer.
    const base = 100 + (process.pid % 50);
    const s = await runLiveFuzz({ streams: 100, seed: 77, corpusDir: CORPUS, fuzzIp: `127.0.${base}.2`, witnessIp: `127.0.${base}.3`, knownIssues: 'report' });
    expect(s.findings).toEqual([]);
    expect(s.witnessStayedUp).toBe(true);
    expect(s.streams).toBe(100);
    // The run exercised both sides of the oracle: sessions that stayed up and prescribed resets.
    expect(s.alive).toBeGreaterThan(5);
    expect(s.resets).toBeGreaterThan(15);
    expect([...s.notifications.keys()].some((k) => k.startsWith('3/'))).toBe(true);
    expect([...s.notifications.keys()].some((k) => k.startsWith('1/'))).toBe(true);
  });

  it('with the real RIB behind the session, hostile UPDATEs never make the route engine fail', async () => {
    const base = 120 + (process.pid % 50);
    const s = await runLiveFuzz({ streams: 60, seed: 78, corpusDir: CORPUS, fuzzIp: `127.0.${base}.2`, witnessIp: `127.0.${base}.3`, knownIssues: 'report', rib: true });
    expect(s.findings).toEqual([]);
    expect(s.witnessStayedUp).toBe(true);
    expect(s.alive + s.resets).toBeGreaterThan(40);
  });

  it('answers mutated OPENs (Petrel in OpenSent) with a KEEPALIVE or exactly the prescribed NOTIFICATION', async () => {
    const base = 140 + (process.pid % 10);
    const s = await runOpenFuzz({ count: 120, seed: 79, fuzzIp: `127.0.${base}.2` });
    expect(s.findings).toEqual([]);
    expect(s.accepted).toBeGreaterThan(10);
    expect([...s.notifications.keys()].some((k) => k.startsWith('2/'))).toBe(true);
  });
});
