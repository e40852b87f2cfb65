/**
 * Regression (issue 8, finding 1): a malformed UPDATE that must reset the session, followed in the
 * same TCP read by more messages. Petrel must answer with the UPDATE's own NOTIFICATION (3/x) and
 * nothing later in that read may be processed: not a broken header (1/x), not the peer's
 * NOTIFICATION, not an OPEN (5/3), and no further UPDATE may reach the route engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../proto/index.js';
import { LIVE_REPROS } from '../../tools/fuzz/known.js';
import { establish, LiveTarget, livePeerIntent, OFFERS, waitUntil } from '../../tools/fuzz/live.js';

const CORPUS = join(import.meta.dirname, 'corpus');

/** A corpus file's bytes: `#` lines are comments, the rest is hex. */
function corpusStream(name: string): string {
  return readFileSync(join(CORPUS, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
}

const CASES: { id: string; hex: string }[] = [
  { id: 'corpus: update error then bad marker', hex: corpusStream('stream-update-error-then-bad-marker.hex') },
  { id: 'corpus: update error then notification', hex: corpusStream('stream-update-error-then-notification.hex') },
  ...LIVE_REPROS.map((r) => ({ id: r.id, hex: r.hex })),
];

describe('malformed UPDATE followed by more messages in the same read', () => {
  // A 127.0.x.2 address unique to this file so parallel test files never share a peer.
  const fuzzIp = `127.0.${60 + (process.pid % 30)}.2`;
  let target: LiveTarget;
  let name = '';

  beforeAll(async () => {
    target = await LiveTarget.start({ peers: [livePeerIntent(fuzzIp)] });
    name = target.status(fuzzIp)?.name ?? '';
  });
  afterAll(async () => {
    await target?.close();
  });

  for (const c of CASES) {
    it(`${c.id}: exactly NOTIFICATION 3/1, nothing after the UPDATE processed`, async () => {
      const s = await establish(target, fuzzIp, OFFERS[0]?.caps ?? []);
      const before = s.peer.received.length;
      const updatesBefore = target.engine.updates.get(name) ?? 0;
      s.peer.send(fromHex(c.hex));
      await waitUntil('Petrel to close the session', () => s.peer.closed);
      const notifications = s.peer.received.slice(before).filter((m) => m[18] === 3).map((m) => `${m[19]}/${m[20]}`);
      const updates = (target.engine.updates.get(name) ?? 0) - updatesBefore;
      s.peer.destroy();
      expect(notifications).toEqual(['3/1']);
      // Only the malformed UPDATE itself reached the engine (which found the error).
      expect(updates).toBe(1);
    });
  }
});
