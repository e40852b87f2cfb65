/**
 * Builds fuzz cases from seeds: a stream of one to four messages, each either a seed as it is or
 * a mutated seed, cut into random chunks, decoded under the context of the first seed.
 */
import { type Mutation, applyMutations, randomChunks, randomMutations } from './mutate.js';
import type { FuzzCase } from './oracle.js';
import { pick, type Rand } from './rng.js';
import type { Seed } from './seeds.js';
import { concatBytes } from '../../proto/bytes.js';

export interface GeneratedCase extends FuzzCase {
  /** Seed names and the mutations applied to each, for reports and replay. */
  readonly recipe: { seed: string; mutations: Mutation[] }[];
}


/** One message: a seed with 0–5 mutations (a quarter of them random bytes instead of a seed). */
export function mutatedMessage(r: Rand, seeds: readonly Seed[]): { seed: Seed; mutations: Mutation[]; bytes: Uint8Array } {
  const seed = pick(r, seeds);
  const mutations = r.int(8) === 0 ? [] : randomMutations(r);
  return { seed, mutations, bytes: applyMutations(seed.bytes, mutations) };
}

export function generateCase(r: Rand, seeds: readonly Seed[]): GeneratedCase {
  const n = 1 + r.int(4);
  const parts: Uint8Array[] = [];
  const recipe: GeneratedCase['recipe'] = [];
  let ctx = seeds[0]?.ctx;
  for (let i = 0; i < n; i++) {
    const m = mutatedMessage(r, seeds);
    if (i === 0) ctx = m.seed.ctx;
    parts.push(m.bytes);
    recipe.push({ seed: m.seed.name, mutations: m.mutations });
  }
  const stream = concatBytes(parts);
  if (!ctx) throw new Error('no seeds');
  return { stream, chunks: randomChunks(r, stream.length), ctx, recipe };
}
