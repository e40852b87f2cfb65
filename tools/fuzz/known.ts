/**
 * Minimal reproductions of what the fuzzers found outside tools/fuzz, as exact bytes, with a
 * runner that shows the current behaviour (`node dist/tools/fuzz/known.js`). They are not
 * committed as tests because they fail until the owners fix them; once fixed, each becomes a test
 * in test/fuzz and its input goes into the corpus.
 */
import { fromHex, MessageFramer, toHex } from '../../proto/index.js';
import { establish, LiveTarget, livePeerIntent, OFFERS, waitUntil } from './live.js';

const MARKER = 'ff'.repeat(16);

export interface LiveRepro {
  readonly id: string;
  readonly owner: string;
  readonly what: string;
  /** Sent in one write on an established session (4-octet AS, no ADD-PATH). */
  readonly hex: string;
  readonly expected: string;
}

/** UPDATE, 23 bytes, withdrawn routes length 5 overruns the message: 3/1, session reset. */
const BAD_UPDATE = `${MARKER}0017020005` + '0000';

export const LIVE_REPROS: readonly LiveRepro[] = [
  {
    id: 'deferred-update-error-header',
    owner: 'daemon/session/peer.ts',
    what: 'malformed UPDATE then a message with a broken marker, in one TCP read',
    hex: BAD_UPDATE + '00'.repeat(16) + '001304',
    expected: 'NOTIFICATION 3/1 (the first error)',
  },
  {
    id: 'deferred-update-error-notification',
    owner: 'daemon/session/peer.ts',
    what: "malformed UPDATE then the peer's own NOTIFICATION 6/2, in one TCP read",
    hex: BAD_UPDATE + `${MARKER}0015030602`,
    expected: 'NOTIFICATION 3/1 (the first error)',
  },
  {
    id: 'deferred-update-error-open',
    owner: 'daemon/session/peer.ts',
    what: 'malformed UPDATE then an OPEN, in one TCP read',
    hex: BAD_UPDATE + `${MARKER}001d0104fc0000f00a0000090000`,
    expected: 'NOTIFICATION 3/1 (the first error)',
  },
  {
    id: 'deferred-update-error-later-update-processed',
    owner: 'daemon/session/peer.ts',
    what: 'malformed UPDATE then a valid UPDATE announcing 10.48.0.0/26, in one TCP read: the engine still gets the second one',
    hex: BAD_UPDATE + `${MARKER}00310200000015400101004002004003040a00010c400504000000641a0a300000`,
    expected: 'NOTIFICATION 3/1 and the engine sees no UPDATE after the malformed one',
  },
];

export interface LiveReproResult {
  readonly id: string;
  readonly notifications: string[];
  readonly closed: boolean;
  readonly updatesToEngine: number;
}

/** Runs each live reproduction on a fresh session; returns what Petrel did. */
export async function runLiveRepros(fuzzIp = '127.0.0.2'): Promise<LiveReproResult[]> {
  const target = await LiveTarget.start({ peers: [livePeerIntent(fuzzIp)] });
  const name = target.status(fuzzIp)?.name ?? '';
  const out: LiveReproResult[] = [];
  try {
    for (const r of LIVE_REPROS) {
      const s = await establish(target, fuzzIp, OFFERS[0]?.caps ?? []);
      const before = s.peer.received.length;
      const updatesBefore = target.engine.updates.get(name) ?? 0;
      s.peer.send(fromHex(r.hex));
      await waitUntil(r.id, () => s.peer.closed, 3000).catch(() => {});
      out.push({
        id: r.id,
        notifications: s.peer.received.slice(before).filter((m) => m[18] === 3).map((m) => `${m[19]}/${m[20]} ${toHex(m.subarray(21))}`),
        closed: s.peer.closed,
        updatesToEngine: (target.engine.updates.get(name) ?? 0) - updatesBefore,
      });
      s.peer.destroy();
    }
  } finally {
    await target.close();
  }
  return out;
}

/**
 * proto/framer.ts: a maximum extended message (RFC 8654) arriving one byte per read takes the
 * framer seconds (chunks.shift() over one array entry per byte makes consume() quadratic).
 * Returns the milliseconds the event loop is blocked.
 */
export function framerTrickleMs(length = 65535): number {
  const f = new MessageFramer({ extendedMessage: true });
  const hdr = fromHex(`${MARKER}${length.toString(16).padStart(4, '0')}02`);
  const t0 = performance.now();
  f.push(hdr);
  for (let i = 19; i < length; i++) {
    f.push(new Uint8Array(1));
    f.next();
  }
  return performance.now() - t0;
}

/**
 * A peer that stops reading (but keeps its session alive): what Petrel queues for it. The session
 * layer has no bound on a connection's unsent data (peer.ts write() never looks at
 * socket.writableLength), so everything the route engine sends piles up in memory and the
 * session stays Established. Returns what was queued.
 */
export async function outboundQueueRepro(megabytes = 64, fuzzIp = '127.0.0.2'): Promise<{ acceptedMb: number; refused: number; established: boolean; closed: boolean; externalGrowthMb: number }> {
  const target = await LiveTarget.start({ peers: [livePeerIntent(fuzzIp)] });
  try {
    const s = await establish(target, fuzzIp, OFFERS[0]?.caps ?? []);
    s.peer.socket.pause();
    const up = target.engine.ups.at(-1);
    if (!up) throw new Error('no session');
    // A 4096-byte UPDATE: withdrawals of /32s (valid, and the largest a normal session allows).
    const update = new Uint8Array(4096);
    update.fill(0xff, 0, 16);
    update.set([0x10, 0x00, 2, (4096 - 23) >> 8, (4096 - 23) & 255], 16);
    for (let o = 21; o + 5 <= 4096 - 2; o += 5) update.set([32, 10, 0, (o >> 8) & 255, o & 255], o);
    update.set([0, 0], 4094);
    const before = process.memoryUsage().external + process.memoryUsage().arrayBuffers;
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < megabytes * 256; i++) {
      if (up.send(update.slice())) accepted += update.length; // a copy each, as the engine encodes each UPDATE afresh
      else refused++;
    }
    await new Promise((r) => setImmediate(r));
    const after = process.memoryUsage().external + process.memoryUsage().arrayBuffers;
    const result = {
      acceptedMb: accepted / 2 ** 20,
      refused,
      established: target.status(fuzzIp)?.bgpState === 'Established',
      closed: s.peer.closed,
      externalGrowthMb: (after - before) / 2 ** 20,
    };
    s.peer.destroy();
    return result;
  } finally {
    await target.close();
  }
}

async function main(): Promise<void> {
  for (const r of await runLiveRepros()) {
    const spec = LIVE_REPROS.find((x) => x.id === r.id);
    console.log(`${r.id} (${spec?.owner}): ${spec?.what}\n  input ${spec?.hex}\n  expected ${spec?.expected}\n  got notifications [${r.notifications.join(', ')}], closed ${r.closed}, UPDATEs to the engine ${r.updatesToEngine}`);
  }
  const q = await outboundQueueRepro(64);
  console.log(
    `outbound queue (daemon/session/peer.ts): a peer that stops reading; the engine sent 64 MB: ${q.acceptedMb.toFixed(0)} MB accepted, ${q.refused} refused, session Established ${q.established}, closed ${q.closed}, process external memory +${q.externalGrowthMb.toFixed(0)} MB`,
  );
  for (const len of [4096, 16384, 65535]) console.log(`framer, ${len}-byte message one byte per read: ${framerTrickleMs(len).toFixed(0)} ms`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
