/**
 * fast-check arbitraries for fuzz cases: mutations as data (so failures shrink to a short list
 * of edits), chunkings, and whole cases built on the seed corpus. Used by the CI-sized runs in
 * test/fuzz; the long run draws the same mutations from a seeded PRNG instead (mutate.ts).
 */
import fc from 'fast-check';
import type { Mutation } from './mutate.js';
import { applyMutations } from './mutate.js';
import type { FuzzCase } from './oracle.js';
import type { Seed } from './seeds.js';
import { concatBytes } from '../../proto/bytes.js';

const byte = fc.integer({ min: 0, max: 255 });
const boundary = fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 24, 25, 31, 32, 33, 64, 127, 128, 129, 254, 255);
const someByte = fc.oneof(byte, boundary);
const at = fc.nat({ max: 65535 });
const delta = fc.oneof(fc.constantFrom(-65536, -256, -19, -4, -3, -2, -1, 1, 2, 3, 4, 19, 256, 4096), fc.integer({ min: -65535, max: 65535 }));
const flags = fc.oneof(fc.constantFrom(0x00, 0x40, 0x50, 0x80, 0x90, 0xc0, 0xd0, 0xe0, 0xf0, 0x20, 0x10), byte);
const code = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 99, 255), byte);
const index = fc.nat({ max: 15 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at, value: someByte }),
  fc.record({ op: fc.constant('insert' as const), at, bytes: fc.array(someByte, { maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('headerLength' as const), delta }),
  fc.record({ op: fc.constant('headerType' as const), value: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('withdrawnLength' as const), delta }),
  fc.record({ op: fc.constant('attrsLength' as const), delta }),
  fc.record({ op: fc.constant('attrLength' as const), index, value: fc.oneof(boundary, fc.nat({ max: 65535 })) }),
  fc.record({ op: fc.constant('attrFlags' as const), index, value: flags }),
  fc.record({ op: fc.constant('attrCode' as const), index, value: code }),
  fc.record({ op: fc.constant('attrDuplicate' as const), index }),
  fc.record({ op: fc.constant('attrDrop' as const), index }),
  fc.record({ op: fc.constant('attrAppend' as const), flags, code, value: fc.array(someByte, { maxLength: 300 }) }),
  fc.record({ op: fc.constant('nlriAppend' as const), bytes: fc.array(someByte, { maxLength: 10 }) }),
);

/** 0–5 mutations, then (usually) a header fix so the body decoders see the damage. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc
  .tuple(fc.array(mutationArb, { maxLength: 5 }), fc.boolean())
  .map(([ms, fix]) => (fix ? [...ms, { op: 'fixHeader' as const }] : ms));

/** Cuts a stream of `total` bytes: chunk sizes as fractions, so shrinking moves towards one chunk. */
export function chunksFor(total: number, cuts: readonly number[]): number[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * total)).filter((p) => p > 0 && p < total))].sort((a, b) => a - b);
  const out: number[] = [];
  let prev = 0;
  for (const p of [...points, total]) {
    out.push(p - prev);
    prev = p;
  }
  return total === 0 ? [] : out;
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });


export interface ArbCase extends FuzzCase {
  readonly parts: { seed: string; mutations: Mutation[] }[];
}

/** A stream of 1–4 (mutated) seeds under the first seed's context, randomly chunked. */
export function mutatedCaseArb(seeds: readonly Seed[]): fc.Arbitrary<ArbCase> {
  const one = fc.record({ i: fc.nat({ max: seeds.length - 1 }), mutations: mutationsArb });
  return fc.tuple(fc.array(one, { minLength: 1, maxLength: 4 }), cutsArb).map(([msgs, cuts]) => {
    const parts = msgs.map(({ i, mutations }) => ({ seed: seeds[i] as Seed, mutations }));
    const stream = concatBytes(parts.map((p) => applyMutations(p.seed.bytes, p.mutations)));
    return {
      stream,
      chunks: chunksFor(stream.length, cuts),
      ctx: (parts[0] as { seed: Seed }).seed.ctx,
      parts: parts.map((p) => ({ seed: p.seed.name, mutations: p.mutations })),
    };
  });
}

/** Random bodies behind a correct marker and length and a type 0–7: pure noise where the decoders start. */
export function randomMessageArb(ctxs: readonly FuzzCase['ctx'][]): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(fc.nat({ max: 7 }), fc.uint8Array({ maxLength: 600 }), fc.nat({ max: ctxs.length - 1 }), cutsArb)
    .map(([type, body, ci, cuts]) => {
      const len = 19 + body.length;
      const m = new Uint8Array(len);
      m.fill(0xff, 0, 16);
      m[16] = len >>> 8;
      m[17] = len & 255;
      m[18] = type;
      m.set(body, 19);
      return { stream: m, chunks: chunksFor(len, cuts), ctx: ctxs[ci] as FuzzCase['ctx'] };
    });
}
