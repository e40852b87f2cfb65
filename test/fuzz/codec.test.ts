/**
 * CI-sized codec fuzzing (a few seconds): fast-check drives mutated seeds (the real BIRD session
 * and hand-made messages of every type) and pure noise through the framer and decoder; the
 * oracle (tools/fuzz/oracle.ts) must find nothing. The kept corpus replays clean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutatedCaseArb, randomMessageArb } from '../../tools/fuzz/arbitraries.js';
import { applyMutations } from '../../tools/fuzz/mutate.js';
import { checkCase, frame, SLOW_MS, type FuzzCase } from '../../tools/fuzz/oracle.js';
import { runCodecFuzz } from '../../tools/fuzz/run.js';
import { CONTEXTS, corpusSeeds, CTX_AS4, CTX_EXTENDED, handMadeSeeds, pcapSeeds, type Seed } from '../../tools/fuzz/seeds.js';
import { decodeMessage, toHex } from '../../proto/index.js';

const CORPUS = join(import.meta.dirname, 'corpus');
const seeds: Seed[] = [...pcapSeeds(), ...handMadeSeeds(), ...corpusSeeds(CORPUS)];

function findingsOf(c: FuzzCase, roundTrip = true): string[] {
  return checkCase(c, { roundTrip }).findings.map((f) => `${f.kind}: ${f.detail} [${f.ctx} ${f.hex}]`);
}

describe('seed corpus', () => {
  it('holds every message of the BIRD capture and every message type', () => {
    const types = new Set(seeds.map((s) => s.bytes[18]));
    expect(pcapSeeds().length).toBeGreaterThanOrEqual(20);
    expect([...types].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('decodes every seed cleanly, in one chunk and byte by byte', () => {
    for (const s of [...pcapSeeds(), ...handMadeSeeds()]) {
      const res = checkCase({ stream: s.bytes, chunks: Array.from(s.bytes, () => 1), ctx: s.ctx }, { roundTrip: true });
      expect(res.findings, s.name).toEqual([]);
      expect(res.outcomes.map((o) => o.kind), s.name).toEqual(['clean']);
    }
  });

  it('replays every kept corpus file without a finding', () => {
    for (const s of corpusSeeds(CORPUS)) expect(findingsOf({ stream: s.bytes, chunks: [s.bytes.length], ctx: s.ctx }), s.name).toEqual([]);
  });
});

describe('mutated messages', () => {
  it('every outcome is a clean decode, treat-as-withdraw/attribute-discard, or a valid NOTIFICATION', () => {
    fc.assert(
      fc.property(mutatedCaseArb(seeds), (c) => {
        expect(findingsOf(c)).toEqual([]);
      }),
      { numRuns: 4000 },
    );
  });

  it('random bodies behind a valid header never escape as another exception', () => {
    fc.assert(
      fc.property(randomMessageArb(CONTEXTS), (c) => {
        expect(findingsOf(c, false)).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });

  it('the seeded long-run driver finds nothing in 20k messages and reports every outcome class', () => {
    const s = runCodecFuzz({ count: 20_000, seed: 20261122, corpusDir: CORPUS });
    expect([...s.findings.keys()]).toEqual([]);
    const labels = [...s.outcomes.keys()];
    for (const want of ['clean UPDATE', 'treat-as-withdraw', 'attribute-discard', 'framer 1/1', 'framer 1/2', 'framer 1/3', 'decoder 3/1', 'decoder 2/0', 'decoder 7/1'])
      expect(labels).toContain(want);
  });
});

describe('framer', () => {
  it('frames a stream of valid messages identically however it is cut', () => {
    const stream = [...pcapSeeds(), ...handMadeSeeds()].filter((s) => s.ctx === CTX_AS4);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length - 1 }), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (idx, sizes) => {
        const msgs = idx.map((i) => (stream[i] as Seed).bytes);
        const all = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
        let o = 0;
        for (const m of msgs) {
          all.set(m, o);
          o += m.length;
        }
        const chunks: number[] = [];
        let left = all.length;
        for (let k = 0; left > 0; k++) {
          const n = Math.min(left, sizes[k % sizes.length] as number);
          chunks.push(n);
          left -= n;
        }
        const got = frame(all, chunks, false);
        expect(got.error).toBeUndefined();
        expect(got.messages.map(toHex)).toEqual(msgs.map(toHex));
      }),
      { numRuns: 500 },
    );
  });

  it('never holds a maximum message worth of bytes without returning one or failing (memory bound)', () => {
    // A header announcing 4096 bytes, then a slow trickle: buffered data stays below one message.
    const hdr = Uint8Array.of(...new Array(16).fill(0xff), 0x10, 0x00, 2);
    const body = new Uint8Array(4096 - 19 - 1);
    const r = frame(new Uint8Array([...hdr, ...body]), [19, ...Array.from(body, () => 1)], false);
    expect(r.crash).toBeUndefined();
    expect(r.messages).toEqual([]);
    // Oversize: 4097 on a normal session is 1/2 with the length as data, as soon as the header is in.
    const over = frame(Uint8Array.of(...new Array(16).fill(0xff), 0x10, 0x01, 2), [19], false);
    expect([over.error?.code, over.error?.subcode, toHex(over.error?.data ?? new Uint8Array())]).toEqual([1, 2, '1001']);
    const ext = frame(Uint8Array.of(...new Array(16).fill(0xff), 0xff, 0xff, 2), [19], CTX_EXTENDED.extendedMessage);
    expect(ext.error).toBeUndefined();
  });
});

describe('worst cases stay fast (no hang)', () => {
  it('decodes the largest UPDATEs of one-byte prefixes and one-octet attributes quickly', () => {
    // 65535-byte UPDATE full of /0 prefixes on an extended session; and 4096 bytes of tiny unknown attributes.
    const nlri = new Uint8Array(65535 - 23);
    const big = new Uint8Array([...new Array(16).fill(0xff), 0xff, 0xff, 2, 0, 0, 0, 0, ...nlri]);
    const attrs: number[] = [];
    for (let code = 100; attrs.length + 3 <= 4096 - 23; code = code === 255 ? 100 : code + 1) attrs.push(0xc0, code, 0);
    const many = applyMutations(new Uint8Array([...new Array(16).fill(0xff), 0, 0, 2, 0, 0, attrs.length >> 8, attrs.length & 255, ...attrs]), [{ op: 'fixHeader' }]);
    for (const [m, ctx] of [
      [big, CTX_EXTENDED],
      [many, CTX_AS4],
    ] as const) {
      const t0 = performance.now();
      const r = decodeMessage(m, ctx);
      expect(performance.now() - t0).toBeLessThan(SLOW_MS);
      expect(r.type).toBe('UPDATE');
    }
  });
});

// Kept crashers and interesting inputs, written by `run.js --out` and minimised by hand.
it('corpus directory has a README describing the format', () => {
  expect(readFileSync(join(CORPUS, 'README.md'), 'utf8')).toMatch(/ctx:/);
});
