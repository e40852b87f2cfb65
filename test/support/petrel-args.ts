/** Parses a petrel command line without starting anything and returns what the daemon's `run` was given. */
import { buildProgram, type PetrelOptions } from '../../daemon/main.js';

export async function parsePetrelArgs(argv: readonly string[]): Promise<PetrelOptions> {
  let seen: PetrelOptions | undefined;
  await buildProgram(async (o) => {
    seen = o;
  })
    .exitOverride()
    .parseAsync(['node', 'petrel', ...argv]);
  if (!seen) throw new Error('run was not called');
  return seen;
}
